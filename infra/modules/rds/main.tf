# PostgreSQL for orders, trades, positions, commands and leases. Encrypted, in the private
# subnets, reachable only from the ECS tasks' security group; the master password is created and
# rotated by RDS in Secrets Manager (manage_master_user_password), so it never appears in the
# state. Multi-AZ and deletion protection in prod only (variables).

resource "aws_db_subnet_group" "this" {
  name       = "${var.name}-db"
  subnet_ids = var.private_subnet_ids
}

resource "aws_db_parameter_group" "this" {
  name   = "${var.name}-postgres16"
  family = "postgres16"
  # Slow statements and connection churn in the logs, for the alarms and for post-mortems.
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  # Encryption in transit: the server refuses a connection without TLS.
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${var.name}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  # checkov:skip=CKV_AWS_293:deletion protection is on in prod only (var.deletion_protection), as the design's table says
  # checkov:skip=CKV_AWS_157:Multi-AZ is on in prod only (var.multi_az), as the design's table says
  identifier                            = "${var.name}-db"
  engine                                = "postgres"
  engine_version                        = "16"
  instance_class                        = var.instance_class
  allocated_storage                     = var.allocated_storage_gb
  max_allocated_storage                 = var.allocated_storage_gb * 5
  storage_type                          = "gp3"
  storage_encrypted                     = true
  kms_key_id                            = var.kms_key_arn
  db_name                               = "algo_trading"
  username                              = "algo_admin"
  manage_master_user_password           = true
  master_user_secret_kms_key_id         = var.kms_key_arn
  iam_database_authentication_enabled   = true
  db_subnet_group_name                  = aws_db_subnet_group.this.name
  vpc_security_group_ids                = [var.security_group_id]
  parameter_group_name                  = aws_db_parameter_group.this.name
  publicly_accessible                   = false
  multi_az                              = var.multi_az
  deletion_protection                   = var.deletion_protection
  backup_retention_period               = var.backup_retention_days
  backup_window                         = "20:00-21:00" # 01:30-02:30 IST, far from market hours
  maintenance_window                    = "sun:21:30-sun:22:30"
  copy_tags_to_snapshot                 = true
  skip_final_snapshot                   = false
  final_snapshot_identifier             = "${var.name}-db-final"
  auto_minor_version_upgrade            = true
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7
}
