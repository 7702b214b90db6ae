resource "aws_cloudwatch_log_group" "control_plane" {
  count             = length(var.control_plane_log_types) > 0 ? 1 : 0
  name              = "/aws/eks/${var.cluster_name}/cluster"
  retention_in_days = var.control_plane_log_retention_days
}

resource "aws_eks_cluster" "this" {
  name                      = var.cluster_name
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = var.control_plane_log_types

  vpc_config {
    subnet_ids              = concat(aws_subnet.private[*].id, aws_subnet.public[*].id)
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.endpoint_public_access_cidrs
  }

  # The creator (Slipway's AWS identity) is a cluster admin through an access entry, so the
  # token Slipway mints from the same credentials works without editing the aws-auth ConfigMap.
  dynamic "access_config" {
    for_each = var.cluster_access_config ? [1] : []
    content {
      authentication_mode                         = "API_AND_CONFIG_MAP"
      bootstrap_cluster_creator_admin_permissions = true
    }
  }

  # The log group must exist first, or EKS creates it without retention.
  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_cloudwatch_log_group.control_plane,
  ]
}

locals {
  node_groups = { for g in var.node_groups : g.name => g }
  # cluster-autoscaler's auto-discovery tags (--node-group-auto-discovery=asg:tag=...). EKS puts
  # them on the managed node group's Auto Scaling group itself; they are repeated on the node
  # group so they are visible and searchable in the EKS console and the AWS tag editor.
  autoscaler_tags = {
    "k8s.io/cluster-autoscaler/enabled"             = "true"
    "k8s.io/cluster-autoscaler/${var.cluster_name}" = "owned"
  }
}

resource "aws_eks_node_group" "this" {
  for_each        = local.node_groups
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = aws_subnet.private[*].id
  instance_types  = each.value.instance_types
  capacity_type   = each.value.capacity_type
  disk_size       = each.value.disk_size
  labels          = merge(each.value.labels, { "slipway.io/node-group" = each.key })
  tags            = merge(local.autoscaler_tags, { "k8s.io/cluster-autoscaler/node-template/label/slipway.io/node-group" = each.key })

  scaling_config {
    min_size     = each.value.min_size
    max_size     = each.value.max_size
    desired_size = each.value.desired_size
  }

  # No update_config: EKS's default (one node unavailable at a time during updates) is the one
  # wanted, and leaving it out keeps plans clean against emulators that do not report it.

  lifecycle {
    # cluster-autoscaler owns the desired size once the group exists. SSH access is not managed
    # by this module (nodes are reached through SSM or not at all); emulators report a default key.
    ignore_changes = [scaling_config[0].desired_size, remote_access]
  }

  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_route.private_nat,
    aws_route_table_association.private,
  ]
}

# No aws_eks_cluster_auth data source here: its token is minted anew on every refresh, so every
# plan would report a changed output and a drift check (plan -detailed-exitcode) could never be
# clean. Slipway mints the short-lived token itself from its AWS credentials (the same presigned
# STS GetCallerIdentity request) with the cluster_name and region outputs.
