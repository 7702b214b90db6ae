terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 6.0"
    }
  }

  # Partial configuration: Slipway's runner passes bucket, key, region, use_lockfile and, when it
  # talks to an S3-compatible endpoint, the endpoint and skip_* flags with -backend-config.
  backend "s3" {}
}
