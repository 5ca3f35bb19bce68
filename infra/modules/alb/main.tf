# The public entry: an Application Load Balancer in the public subnets. HTTP only redirects to
# HTTPS; HTTPS forwards to the dashboard (Streamlit, port 8501). Access logs go to the
# environment's bucket under logs/alb/ (ALB log delivery supports SSE-S3 only, which the bucket uses).

resource "aws_lb" "this" {
  # checkov:skip=CKV_AWS_150:deletion protection is on in prod only (var.deletion_protection), as the design's table says
  # checkov:skip=CKV2_AWS_28:a WAF is optional in this design (cost); the dashboard sits behind a login with lockout, see docs/deployment.md
  name                       = "${var.name}-alb"
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [var.security_group_id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  access_logs {
    bucket  = var.access_logs_bucket
    prefix  = "logs/alb"
    enabled = true
  }
}

resource "aws_lb_target_group" "dashboard" {
  name        = "${var.name}-dashboard"
  port        = 8501
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id
  health_check {
    path                = "/_stcore/health"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
  # Streamlit keeps a WebSocket per browser session: keep a browser on one task.
  stickiness {
    type    = "lb_cookie"
    enabled = true
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type = "redirect"
    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.dashboard.arn
  }
}
