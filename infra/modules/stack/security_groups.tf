# Security groups exactly as the design's table: the ALB takes 80 and 443 from anywhere; the ECS
# tasks take 8501 from the ALB only; the database takes 5432 from the ECS tasks only.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "ALB: HTTP and HTTPS from anywhere"
  vpc_id      = module.network.vpc_id
}

resource "aws_security_group" "ecs" {
  # checkov:skip=CKV2_AWS_5:attached to the ECS services in modules/ecs (passed as a variable; the check cannot follow modules)
  name        = "${local.name}-ecs"
  description = "ECS tasks: the dashboard port from the ALB only"
  vpc_id      = module.network.vpc_id
}

resource "aws_security_group" "rds" {
  name        = "${local.name}-rds"
  description = "RDS: PostgreSQL from the ECS tasks only"
  vpc_id      = module.network.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  # checkov:skip=CKV_AWS_260:port 80 is open only to redirect to HTTPS (the listener answers 301)
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from anywhere, redirected to HTTPS"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "alb_to_dashboard" {
  security_group_id            = aws_security_group.alb.id
  description                  = "to the dashboard tasks"
  ip_protocol                  = "tcp"
  from_port                    = 8501
  to_port                      = 8501
  referenced_security_group_id = aws_security_group.ecs.id
}

resource "aws_vpc_security_group_ingress_rule" "ecs_dashboard_from_alb" {
  security_group_id            = aws_security_group.ecs.id
  description                  = "the dashboard, from the ALB only"
  ip_protocol                  = "tcp"
  from_port                    = 8501
  to_port                      = 8501
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "ecs_https" {
  security_group_id = aws_security_group.ecs.id
  description       = "HTTPS and WSS out: Angel One SmartAPI, ECR, Secrets Manager, S3, CloudWatch, SNS"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "ecs_to_rds" {
  security_group_id            = aws_security_group.ecs.id
  description                  = "to the database"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.rds.id
}

resource "aws_vpc_security_group_ingress_rule" "rds_from_ecs" {
  security_group_id            = aws_security_group.rds.id
  description                  = "PostgreSQL from the ECS tasks only"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.ecs.id
}
