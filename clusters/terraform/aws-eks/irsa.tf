# IAM roles for service accounts (IRSA): the add-ons Slipway installs assume these roles through
# the cluster's OIDC issuer instead of using the node role.

locals {
  oidc_issuer = aws_eks_cluster.this.identity[0].oidc[0].issuer
  oidc_host   = replace(local.oidc_issuer, "https://", "")
  irsa_service_accounts = {
    cluster_autoscaler = { namespace = var.addon_namespaces.cluster_autoscaler, name = "cluster-autoscaler" }
    fluent_bit         = { namespace = var.addon_namespaces.fluent_bit, name = "fluent-bit" }
  }
}

resource "aws_iam_openid_connect_provider" "this" {
  count           = var.enable_irsa ? 1 : 0
  url             = local.oidc_issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = var.oidc_thumbprints
}

data "aws_iam_policy_document" "irsa_assume" {
  for_each = var.enable_irsa ? local.irsa_service_accounts : {}
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this[0].arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.name}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each           = data.aws_iam_policy_document.irsa_assume
  name               = "${var.cluster_name}-${replace(each.key, "_", "-")}"
  assume_role_policy = each.value.json
}

data "aws_iam_policy_document" "cluster_autoscaler" {
  statement {
    sid = "Describe"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
      "eks:DescribeNodegroup",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "ScaleOwnGroupsOnly"
    actions   = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}"
      values   = ["owned"]
    }
  }
}

data "aws_iam_policy_document" "fluent_bit" {
  statement {
    sid = "ShipContainerLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
      "logs:PutRetentionPolicy",
    ]
    # Log groups named /slipway/<cluster>/<namespace> (the contract with Slipway's log search).
    resources = [
      "arn:${data.aws_partition.current.partition}:logs:${var.region}:*:log-group:/slipway/${var.cluster_name}/*",
      "arn:${data.aws_partition.current.partition}:logs:${var.region}:*:log-group:/slipway/${var.cluster_name}/*:log-stream:*",
    ]
  }
}

locals {
  irsa_policies = {
    cluster_autoscaler = data.aws_iam_policy_document.cluster_autoscaler.json
    fluent_bit         = data.aws_iam_policy_document.fluent_bit.json
  }
}

resource "aws_iam_role_policy" "irsa" {
  for_each = aws_iam_role.irsa
  name     = each.value.name
  role     = each.value.id
  policy   = local.irsa_policies[each.key]
}
