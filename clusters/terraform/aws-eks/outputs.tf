output "cluster_name" {
  description = "EKS cluster name."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  value = aws_eks_cluster.this.arn
}

output "region" {
  value = var.region
}

output "kubernetes_version" {
  description = "Control plane version EKS runs."
  value       = aws_eks_cluster.this.version
}

output "endpoint" {
  description = "Kubernetes API server URL."
  value       = aws_eks_cluster.this.endpoint
}

output "certificate_authority_data" {
  description = "Base64 PEM of the cluster CA (kubeconfig certificate-authority-data)."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "exec_auth" {
  description = "kubeconfig users[].user.exec for long-lived access with the AWS CLI."
  value = {
    apiVersion = "client.authentication.k8s.io/v1beta1"
    command    = "aws"
    args       = ["eks", "get-token", "--cluster-name", aws_eks_cluster.this.name, "--region", var.region]
  }
}

output "kubeconfig" {
  description = "A kubeconfig that authenticates with the AWS CLI (aws eks get-token); holds no secret."
  value = yamlencode({
    apiVersion        = "v1"
    kind              = "Config"
    "current-context" = var.cluster_name
    clusters = [{
      name    = var.cluster_name
      cluster = { server = aws_eks_cluster.this.endpoint, "certificate-authority-data" = aws_eks_cluster.this.certificate_authority[0].data }
    }]
    contexts = [{ name = var.cluster_name, context = { cluster = var.cluster_name, user = var.cluster_name } }]
    users = [{ name = var.cluster_name, user = { exec = {
      apiVersion = "client.authentication.k8s.io/v1beta1"
      command    = "aws"
      args       = ["eks", "get-token", "--cluster-name", aws_eks_cluster.this.name, "--region", var.region]
    } } }]
  })
}

output "oidc_issuer_url" {
  value = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "oidc_provider_arn" {
  value = var.enable_irsa ? aws_iam_openid_connect_provider.this[0].arn : null
}

output "addon_role_arns" {
  description = "IRSA role per add-on (eks.amazonaws.com/role-arn annotation of its service account)."
  value       = { for k, r in aws_iam_role.irsa : k => r.arn }
}

output "node_groups" {
  description = "Node groups with their autoscaling bounds (cluster-autoscaler --nodes=min:max:asg)."
  value = {
    for k, g in aws_eks_node_group.this : k => {
      instance_types     = g.instance_types
      min_size           = g.scaling_config[0].min_size
      max_size           = g.scaling_config[0].max_size
      desired_size       = g.scaling_config[0].desired_size
      autoscaling_groups = flatten([for r in g.resources : [for a in r.autoscaling_groups : a.name]])
    }
  }
}

output "vpc_id" {
  value = aws_vpc.this.id
}

output "public_subnet_ids" {
  value = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  value = aws_subnet.private[*].id
}

output "nat_public_ips" {
  value = aws_eip.nat[*].public_ip
}

output "cluster_security_group_id" {
  value = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}
