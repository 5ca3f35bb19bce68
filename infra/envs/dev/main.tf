# The dev environment. Its values are DESIGN.md's table (docs/deployment.md): change them here.

module "stack" {
  source      = "../../modules/stack"
  environment = "dev"
  vpc_cidr    = "10.10.0.0/16"

  trading_min_tasks = 1
  trading_max_tasks = 1
  autoscaling       = false

  db_instance_class        = "db.t3.micro"
  db_multi_az              = false
  db_deletion_protection   = false
  db_backup_retention_days = 7
  db_connections_alarm     = 80

  alb_deletion_protection   = false
  log_retention_days        = 7
  archived_logs_expire_days = 30

  certificate_arn = var.certificate_arn
  image_tag       = var.image_tag
  alarm_emails    = var.alarm_emails
  live_confirm    = var.live_confirm
}
