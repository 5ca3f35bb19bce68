# One customer-managed key per environment for what checkov and good practice want encrypted with a
# key we control: CloudWatch log groups, SNS, Secrets Manager, ECR, RDS and its Performance
# Insights. The S3 bucket keeps SSE-S3 (AES-256), as the design asks.

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_111:a key policy's Resource "*" is the key itself; the account root administers it, as AWS's default key policy does
  # checkov:skip=CKV_AWS_356:a key policy's Resource "*" is the key itself
  # checkov:skip=CKV_AWS_109:a key policy's Resource "*" is the key itself; only the account and two AWS services are principals
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid = "CloudWatchLogsUseTheKey"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"] # this key
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/algo-trading/${local.name}/*"]
    }
  }
  statement {
    sid       = "CloudWatchAlarmsPublishToTheTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # this key
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "${local.name}: logs, alarms topic, secrets, images, database"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}
