variable "name" {
  type = string
}

variable "services" {
  type = list(string)
}

variable "kms_key_arn" {
  type = string
}

variable "keep_images" {
  description = "Tagged images kept per repository (rollbacks go back this far)."
  type        = number
  default     = 30
}
