# The prod environment. Its values are DESIGN.md's table (docs/deployment.md): change them here.

module "stack" {
  source      = "../../modules/stack"
  environment = "prod"
  vpc_cidr    = "10.30.0.0/16"

  trading_min_tasks = 2
  trading_max_tasks = 5
  autoscaling       = true

  db_instance_class        = "db.t3.medium"
  db_multi_az              = true
  db_deletion_protection   = true
  db_backup_retention_days = 30
  db_connections_alarm     = 360

  alb_deletion_protection   = true
  log_retention_days        = 90
  archived_logs_expire_days = 365

  certificate_arn = var.certificate_arn
  image_tag       = var.image_tag
  alarm_emails    = var.alarm_emails
  live_confirm    = var.live_confirm
}
