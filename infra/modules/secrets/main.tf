# The secrets the services read, created empty: their values are put by a person with
# `aws secretsmanager put-secret-value` (docs/deployment.md), never by Terraform, so no value ever
# lands in the state or in this repository. ECS injects single JSON keys of them as environment
# variables (ALGO_ANGELONE_*, ALGO_DASHBOARD_USERS).

resource "aws_secretsmanager_secret" "angelone" {
  # checkov:skip=CKV2_AWS_57:Angel One credentials are changed in Angel One's portal by a person; no rotation function can do it
  name                    = "${var.name}/angelone"
  description             = "Angel One SmartAPI credentials: JSON with angelone_api_key, angelone_client_code, angelone_mpin, angelone_totp_secret"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret" "dashboard" {
  # checkov:skip=CKV2_AWS_57:dashboard users are argon2 hashes that a person adds (algo-trading dashboard add-user); nothing to rotate automatically
  name                    = "${var.name}/dashboard"
  description             = "Dashboard users: JSON with dashboard_users (lines NAME:ROLE:ARGON2-HASH)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.recovery_window_days
}
