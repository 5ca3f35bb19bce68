variable "environment" {
  description = "dev, staging or prod."
  type        = string
  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "vpc_cidr" {
  type = string
}

variable "availability_zones" {
  description = "Two zones of the region (Mumbai by default)."
  type        = list(string)
  default     = ["ap-south-1a", "ap-south-1b"]
}

variable "certificate_arn" {
  description = "ACM certificate (in the same region) for the dashboard's host name."
  type        = string
}

variable "image_tag" {
  description = "The commit whose images to run (the build workflow tags images with it)."
  type        = string
}

variable "alarm_emails" {
  type = list(string)
}

variable "trading_min_tasks" {
  type = number
}

variable "trading_max_tasks" {
  type = number
}

variable "autoscaling" {
  type = bool
}

variable "db_instance_class" {
  type = string
}

variable "db_multi_az" {
  type = bool
}

variable "db_deletion_protection" {
  type = bool
}

variable "db_backup_retention_days" {
  type = number
}

variable "db_connections_alarm" {
  type = number
}

variable "alb_deletion_protection" {
  type = bool
}

variable "log_retention_days" {
  type = number
}

variable "archived_logs_expire_days" {
  type = number
}

variable "live_confirm" {
  type    = bool
  default = false
}
