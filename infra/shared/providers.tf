# Shared by every environment root (each links to this file): the provider, in Mumbai (ap-south-1),
# next to Angel One's servers, and the variables a deploy passes in.

terraform {
  required_version = ">= 1.10"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project   = "algo-trading"
      ManagedBy = "terraform"
    }
  }
}

variable "region" {
  type    = string
  default = "ap-south-1"
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the dashboard's host name (docs/deployment.md, DNS and certificate)."
  type        = string
}

variable "image_tag" {
  description = "The commit whose images to deploy; the deploy workflow passes it."
  type        = string
}

variable "alarm_emails" {
  description = "Who gets the alarms by e-mail."
  type        = list(string)
  default     = []
}

variable "live_confirm" {
  description = "Let the trading service trade live (its config must also say mode = \"live\")."
  type        = bool
  default     = false
}

output "dashboard_url" {
  value = module.stack.dashboard_url
}

output "ecr_repositories" {
  value = module.stack.ecr_repositories
}

output "cluster_name" {
  value = module.stack.cluster_name
}
