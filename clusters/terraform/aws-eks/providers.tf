provider "aws" {
  region = var.region

  # Real AWS by default. Every endpoint can be overridden (moto in Slipway's tests, a VPC
  # endpoint or a partition-specific URL in production); an unset key keeps the AWS default.
  endpoints {
    autoscaling = lookup(var.aws_endpoints, "autoscaling", null)
    ec2         = lookup(var.aws_endpoints, "ec2", null)
    eks         = lookup(var.aws_endpoints, "eks", null)
    iam         = lookup(var.aws_endpoints, "iam", null)
    logs        = lookup(var.aws_endpoints, "logs", null)
    sts         = lookup(var.aws_endpoints, "sts", null)
  }

  skip_credentials_validation = var.aws_skip_credentials_validation
  skip_metadata_api_check     = var.aws_skip_metadata_api_check
  skip_requesting_account_id  = var.aws_skip_requesting_account_id

  default_tags {
    tags = merge(var.tags, {
      "slipway.io/cluster"    = var.cluster_name
      "slipway.io/managed-by" = "slipway"
    })
  }
}
