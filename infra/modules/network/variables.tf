variable "name" {
  description = "Prefix of every resource name, e.g. algo-trading-prod."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's /16."
  type        = string
  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && endswith(var.cidr_block, "/16")
    error_message = "cidr_block must be a /16, such as 10.20.0.0/16."
  }
}

variable "log_retention_days" {
  description = "Retention of the VPC flow logs."
  type        = number
}

variable "kms_key_arn" {
  description = "The environment's key for CloudWatch log groups."
  type        = string
}

variable "availability_zones" {
  description = "The two availability zones the subnets and NAT gateways span."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "availability_zones must name exactly two zones."
  }
}
