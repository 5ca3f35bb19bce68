# The three services on ECS Fargate in the private subnets: the trading service (2 to 5 copies in
# prod, sharing strategies through leases in PostgreSQL), the data service (one copy: it owns the
# live capture) and the dashboard (behind the ALB on 8501). Secrets are injected from Secrets
# Manager as single JSON keys; logs go to one CloudWatch log group per service.

data "aws_region" "current" {}

locals {
  health_command = {
    trading   = ["CMD", "python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9180/healthz', timeout=3).status != 200)"]
    data      = ["CMD", "python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9181/healthz', timeout=3).status != 200)"]
    dashboard = ["CMD", "python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=3).status != 200)"]
  }
  common_environment = {
    ALGO_PROFILE                = var.environment == "prod" ? "prod" : (var.environment == "staging" ? "staging" : "dev")
    ALGO_DATABASE_URL           = "postgresql://${var.database_username}@${var.database_address}:5432/${var.database_name}"
    ALGO_S3_BUCKET              = var.bucket
    ALGO_METRICS_NAMESPACE      = var.metrics_namespace
    ALGO_METRICS_EMF            = "true"
    ALGO_HEALTH_HOST            = "0.0.0.0"
    ALGO_ALERT_SNS_TOPIC_ARN    = var.alerts_topic_arn
    AWS_REGION                  = data.aws_region.current.name
    ALGO_DATABASE_MIGRATE_ON_START = "false"
  }
  common_secrets = {
    ALGO_DATABASE_PASSWORD = "${var.database_secret_arn}:password::"
  }
  services = {
    trading = {
      command     = ["algo-trading", "trade", "--config", "/app/config/trade.toml"]
      port        = 9180
      cpu         = var.trading_cpu
      memory      = var.trading_memory
      environment = { ALGO_HEALTH_PORT = "9180", ALGO_LIVE_CONFIRM = var.live_confirm ? "yes" : "no" }
      secrets = {
        ALGO_ANGELONE_API_KEY     = "${var.angelone_secret_arn}:angelone_api_key::"
        ALGO_ANGELONE_CLIENT_CODE = "${var.angelone_secret_arn}:angelone_client_code::"
        ALGO_ANGELONE_MPIN        = "${var.angelone_secret_arn}:angelone_mpin::"
        ALGO_ANGELONE_TOTP_SECRET = "${var.angelone_secret_arn}:angelone_totp_secret::"
      }
    }
    data = {
      command     = ["algo-trading", "data-service"]
      port        = 9181
      cpu         = 512
      memory      = 1024
      environment = { ALGO_DATA_HEALTH_PORT = "9181" }
      secrets = {
        ALGO_ANGELONE_API_KEY     = "${var.angelone_secret_arn}:angelone_api_key::"
        ALGO_ANGELONE_CLIENT_CODE = "${var.angelone_secret_arn}:angelone_client_code::"
        ALGO_ANGELONE_MPIN        = "${var.angelone_secret_arn}:angelone_mpin::"
        ALGO_ANGELONE_TOTP_SECRET = "${var.angelone_secret_arn}:angelone_totp_secret::"
      }
    }
    dashboard = {
      command     = ["algo-trading", "dashboard", "--host", "0.0.0.0", "--port", "8501"]
      port        = 8501
      cpu         = 512
      memory      = 1024
      environment = {}
      secrets = {
        ALGO_DASHBOARD_USERS = "${var.dashboard_secret_arn}:dashboard_users::"
      }
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "service" {
  # checkov:skip=CKV_AWS_338:retention follows the environment's table (7/14/90 days), not a year
  for_each          = local.services
  name              = "/algo-trading/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_ecs_task_definition" "service" {
  for_each                 = local.services
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = each.value.cpu
  memory                   = each.value.memory
  execution_role_arn       = var.execution_role_arn
  task_role_arn            = var.task_role_arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "var"
  }
  container_definitions = jsonencode([
    {
      name                   = each.key
      image                  = "${var.repository_urls[each.key]}:${var.image_tag}"
      essential              = true
      command                = each.value.command
      readonlyRootFilesystem = true
      user                   = "10001:10001"
      stopTimeout            = 30
      portMappings           = [{ containerPort = each.value.port, protocol = "tcp" }]
      mountPoints            = [{ sourceVolume = "var", containerPath = "/app/var", readOnly = false }]
      environment = [
        for k, v in merge(local.common_environment, each.value.environment) : { name = k, value = v }
      ]
      secrets = [
        for k, v in merge(local.common_secrets, each.value.secrets) : { name = k, valueFrom = v }
      ]
      healthCheck = {
        command     = local.health_command[each.key]
        interval    = 15
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.service[each.key].name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = each.key
        }
      }
    }
  ])
}

resource "aws_ecs_service" "service" {
  for_each                           = local.services
  name                               = each.key
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.service[each.key].arn
  launch_type                        = "FARGATE"
  desired_count                      = each.key == "trading" ? var.trading_min_tasks : 1
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_execute_command             = false
  propagate_tags                     = "SERVICE"
  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  dynamic "load_balancer" {
    for_each = each.key == "dashboard" ? [1] : []
    content {
      target_group_arn = var.dashboard_target_group_arn
      container_name   = "dashboard"
      container_port   = 8501
    }
  }
  lifecycle {
    # Autoscaling owns the trading service's count once it is on.
    ignore_changes = [desired_count]
  }
}

resource "aws_appautoscaling_target" "trading" {
  count              = var.autoscaling ? 1 : 0
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.service["trading"].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.trading_min_tasks
  max_capacity       = var.trading_max_tasks
}

resource "aws_appautoscaling_policy" "trading_cpu" {
  count              = var.autoscaling ? 1 : 0
  name               = "${var.name}-trading-cpu-70"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.trading[0].service_namespace
  resource_id        = aws_appautoscaling_target.trading[0].resource_id
  scalable_dimension = aws_appautoscaling_target.trading[0].scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = var.trading_cpu_target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
