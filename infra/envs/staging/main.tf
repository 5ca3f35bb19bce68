# The staging environment. Its values are DESIGN.md's table (docs/deployment.md): change them here.

module "stack" {
  source      = "../../modules/stack"
  environment = "staging"
  vpc_cidr    = "10.20.0.0/16"

  trading_min_tasks = 1
  trading_max_tasks = 2
  autoscaling       = true

  db_instance_class        = "db.t3.small"
  db_multi_az              = false
  db_deletion_protection   = false
  db_backup_retention_days = 7
  db_connections_alarm     = 180

  alb_deletion_protection   = false
  log_retention_days        = 14
  archived_logs_expire_days = 90

  certificate_arn = var.certificate_arn
  image_tag       = var.image_tag
  alarm_emails    = var.alarm_emails
  live_confirm    = var.live_confirm
}
