# One whole environment of algo-trading on AWS: the modules wired together. The three roots under
# infra/envs/ call this with the values of DESIGN.md's table (docs/deployment.md repeats it).

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

locals {
  name     = "algo-trading-${var.environment}"
  services = ["trading", "data", "dashboard"]
}

module "network" {
  source             = "../network"
  name               = local.name
  cidr_block         = var.vpc_cidr
  log_retention_days = var.log_retention_days
  kms_key_arn        = aws_kms_key.this.arn
  availability_zones = var.availability_zones
}

module "storage" {
  source                    = "../storage"
  environment               = var.environment
  archived_logs_expire_days = var.archived_logs_expire_days
}

module "ecr" {
  source      = "../ecr"
  name        = local.name
  services    = local.services
  kms_key_arn = aws_kms_key.this.arn
}

module "secrets" {
  source      = "../secrets"
  name        = local.name
  kms_key_arn = aws_kms_key.this.arn
}

module "alb" {
  source              = "../alb"
  name                = local.name
  vpc_id              = module.network.vpc_id
  public_subnet_ids   = module.network.public_subnet_ids
  security_group_id   = aws_security_group.alb.id
  certificate_arn     = var.certificate_arn
  deletion_protection = var.alb_deletion_protection
  access_logs_bucket  = module.storage.bucket
}

module "rds" {
  source                = "../rds"
  name                  = local.name
  private_subnet_ids    = module.network.private_subnet_ids
  security_group_id     = aws_security_group.rds.id
  kms_key_arn           = aws_kms_key.this.arn
  instance_class        = var.db_instance_class
  multi_az              = var.db_multi_az
  deletion_protection   = var.db_deletion_protection
  backup_retention_days = var.db_backup_retention_days
}

module "monitoring" {
  source                  = "../monitoring"
  name                    = local.name
  kms_key_arn             = aws_kms_key.this.arn
  alarm_emails            = var.alarm_emails
  metrics_namespace       = local.metrics_namespace
  cluster_name            = module.ecs.cluster_name
  ecs_services            = local.services
  alb_arn_suffix          = module.alb.arn_suffix
  target_group_arn_suffix = module.alb.dashboard_target_group_arn_suffix
  db_identifier           = module.rds.identifier
  db_connections_alarm    = var.db_connections_alarm
}

module "ecs" {
  source                     = "../ecs"
  name                       = local.name
  environment                = var.environment
  private_subnet_ids         = module.network.private_subnet_ids
  security_group_id          = aws_security_group.ecs.id
  execution_role_arn         = aws_iam_role.execution.arn
  task_role_arn              = aws_iam_role.task.arn
  repository_urls            = module.ecr.repository_urls
  image_tag                  = var.image_tag
  kms_key_arn                = aws_kms_key.this.arn
  log_retention_days         = var.log_retention_days
  dashboard_target_group_arn = module.alb.dashboard_target_group_arn
  database_address           = module.rds.address
  database_name              = module.rds.database_name
  database_username          = module.rds.master_username
  database_secret_arn        = module.rds.master_user_secret_arn
  angelone_secret_arn        = module.secrets.angelone_arn
  dashboard_secret_arn       = module.secrets.dashboard_arn
  bucket                     = module.storage.bucket
  alerts_topic_arn           = module.monitoring.topic_arn
  metrics_namespace          = local.metrics_namespace
  live_confirm               = var.live_confirm
  trading_min_tasks          = var.trading_min_tasks
  trading_max_tasks          = var.trading_max_tasks
  autoscaling                = var.autoscaling
}

locals {
  metrics_namespace = "AlgoTrading/${var.environment}"
}
