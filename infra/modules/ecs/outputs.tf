output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "service_names" {
  value = { for k, s in aws_ecs_service.service : k => s.name }
}

output "log_group_names" {
  value = { for k, g in aws_cloudwatch_log_group.service : k => g.name }
}

output "task_definitions" {
  description = "Each service's container command and environment, for the start-up test."
  value       = { for k, v in local.services : k => v.command }
}
