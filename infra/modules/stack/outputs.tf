output "dashboard_url" {
  value = "https://${module.alb.dns_name}"
}

output "ecr_repositories" {
  value = module.ecr.repository_urls
}

output "bucket" {
  value = module.storage.bucket
}

output "alarms_topic_arn" {
  value = module.monitoring.topic_arn
}

output "angelone_secret_arn" {
  value = module.secrets.angelone_arn
}

output "dashboard_secret_arn" {
  value = module.secrets.dashboard_arn
}

output "cluster_name" {
  value = module.ecs.cluster_name
}
