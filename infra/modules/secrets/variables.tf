variable "name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored."
  type        = number
  default     = 7
}
