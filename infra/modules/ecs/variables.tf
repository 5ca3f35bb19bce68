variable "name" {
  type = string
}

variable "environment" {
  type = string
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  description = "The tasks' security group (8501 from the ALB only)."
  type        = string
}

variable "execution_role_arn" {
  type = string
}

variable "task_role_arn" {
  type = string
}

variable "repository_urls" {
  type = map(string)
}

variable "image_tag" {
  description = "The image tag to run: the commit the build workflow pushed."
  type        = string
}

variable "kms_key_arn" {
  type = string
}

variable "log_retention_days" {
  type = number
}

variable "dashboard_target_group_arn" {
  type = string
}

variable "database_address" {
  type = string
}

variable "database_name" {
  type = string
}

variable "database_username" {
  type = string
}

variable "database_secret_arn" {
  type = string
}

variable "angelone_secret_arn" {
  type = string
}

variable "dashboard_secret_arn" {
  type = string
}

variable "bucket" {
  type = string
}

variable "alerts_topic_arn" {
  type = string
}

variable "metrics_namespace" {
  type = string
}

variable "live_confirm" {
  description = "Whether the trading service may trade live (ALGO_LIVE_CONFIRM); the config must say mode = \"live\" too."
  type        = bool
  default     = false
}

variable "trading_cpu" {
  type    = number
  default = 512
}

variable "trading_memory" {
  type    = number
  default = 1024
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

variable "trading_cpu_target" {
  description = "Target of the trading service's CPU target tracking, in percent."
  type        = number
  default     = 70
}
