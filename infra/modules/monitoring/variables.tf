variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarms (each confirms by e-mail)."
  type        = list(string)
}

variable "metrics_namespace" {
  type = string
}

variable "cluster_name" {
  type = string
}

variable "ecs_services" {
  type = list(string)
}

variable "alb_arn_suffix" {
  type = string
}

variable "target_group_arn_suffix" {
  type = string
}

variable "db_identifier" {
  type = string
}

variable "db_connections_alarm" {
  description = "DatabaseConnections above this alarms (about 80% of the class's max_connections)."
  type        = number
}
