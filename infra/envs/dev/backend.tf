# State in the bucket that infra/bootstrap creates, locked with S3's own lock file (Terraform 1.10+).
# The bucket name carries the account id: pass it at init,
#   terraform init -backend-config="bucket=algo-trading-tfstate-ACCOUNT_ID"
terraform {
  backend "s3" {
    key          = "algo-trading/dev/terraform.tfstate"
    region       = "ap-south-1"
    encrypt      = true
    use_lockfile = true
  }
}
