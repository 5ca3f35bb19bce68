variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  description = "The ALB's security group (80 and 443 from anywhere)."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate for the dashboard's host name (see docs/deployment.md)."
  type        = string
}

variable "deletion_protection" {
  type = bool
}

variable "access_logs_bucket" {
  type = string
}
