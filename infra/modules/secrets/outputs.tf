output "angelone_arn" {
  value = aws_secretsmanager_secret.angelone.arn
}

output "dashboard_arn" {
  value = aws_secretsmanager_secret.dashboard.arn
}
