variable "environment" {
  type = string
}

variable "archived_logs_expire_days" {
  description = "Archived logs and load balancer logs are deleted after this many days."
  type        = number
}
