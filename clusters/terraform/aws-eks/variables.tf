variable "cluster_name" {
  description = "EKS cluster name; also prefixes every resource name and the cluster-autoscaler tags."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,38}$", var.cluster_name))
    error_message = "cluster_name must be 1-39 characters of lowercase letters, digits and '-', starting with a letter (IAM role names derive from it)."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "kubernetes_version" {
  description = "EKS control plane version (major.minor)."
  type        = string
  default     = "1.33"
}

variable "vpc_cidr" {
  description = "CIDR of the new VPC; split into one public and one private subnet per availability zone."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Availability zones to spread subnets over; empty = the first az_count zones of the region."
  type        = list(string)
  default     = []
}

variable "az_count" {
  description = "Number of availability zones used when availability_zones is empty (EKS needs at least 2)."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "nat_gateway_mode" {
  description = "\"single\" (one NAT gateway, cheapest), \"per_az\" (one per zone, survives a zone outage) or \"none\" (private subnets without egress: nodes then need VPC endpoints to pull images)."
  type        = string
  default     = "single"

  validation {
    condition     = contains(["single", "per_az", "none"], var.nat_gateway_mode)
    error_message = "nat_gateway_mode must be single, per_az or none."
  }
}

variable "endpoint_public_access" {
  description = "Whether the Kubernetes API endpoint is reachable from the internet (Slipway must reach it)."
  type        = bool
  default     = true
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (restrict to Slipway's egress addresses)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "control_plane_log_types" {
  description = "EKS control plane logs sent to CloudWatch Logs (/aws/eks/<cluster>/cluster)."
  type        = list(string)
  default     = ["api", "audit", "authenticator"]
}

variable "control_plane_log_retention_days" {
  description = "Retention of the control plane log group."
  type        = number
  default     = 30
}

variable "node_groups" {
  description = "Managed node groups. Each runs in the private subnets and autoscales between min_size and max_size (cluster-autoscaler)."
  type = list(object({
    name           = string
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
    capacity_type  = optional(string, "ON_DEMAND")
    disk_size      = optional(number, 50)
    labels         = optional(map(string), {})
  }))
  default = [{
    name           = "default"
    instance_types = ["m5.large"]
    min_size       = 1
    max_size       = 3
    desired_size   = 2
  }]

  validation {
    condition     = length(var.node_groups) > 0 && alltrue([for g in var.node_groups : g.min_size >= 0 && g.min_size <= g.desired_size && g.desired_size <= g.max_size && g.max_size >= 1])
    error_message = "Every node group needs 0 <= min_size <= desired_size <= max_size and max_size >= 1, and there must be at least one."
  }

  validation {
    condition     = length(distinct([for g in var.node_groups : g.name])) == length(var.node_groups)
    error_message = "Node group names must be unique."
  }

  validation {
    condition     = alltrue([for g in var.node_groups : contains(["ON_DEMAND", "SPOT"], g.capacity_type) && length(g.instance_types) > 0])
    error_message = "capacity_type must be ON_DEMAND or SPOT, and instance_types must not be empty."
  }
}

variable "enable_irsa" {
  description = "Create the IAM OIDC provider of the cluster and IAM roles for the add-ons' service accounts (cluster-autoscaler, fluent-bit)."
  type        = bool
  default     = true
}

variable "oidc_thumbprints" {
  description = "Thumbprints of the OIDC issuer's root CA. IAM no longer checks them for EKS issuers (it trusts its own CA library); the provider still sends one, so the Amazon root's is the default. Given here, not fetched with a tls data source, so plan needs no network access to the issuer."
  type        = list(string)
  default     = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

variable "addon_namespaces" {
  description = "Namespaces of the add-ons' service accounts trusted by the IRSA roles."
  type = object({
    cluster_autoscaler = optional(string, "kube-system")
    fluent_bit         = optional(string, "slipway-logging")
  })
  default = {}
}

variable "log_retention_days" {
  description = "Retention Slipway's fluent-bit role may set on /slipway/<cluster>/* log groups it creates (informational; fluent-bit sets it)."
  type        = number
  default     = 14
}

variable "tags" {
  description = "Extra tags on every resource."
  type        = map(string)
  default     = {}
}

variable "cluster_access_config" {
  description = "Send the cluster's access_config (authentication API_AND_CONFIG_MAP, creator is admin). Keep true on AWS; false only for emulators without EKS access entries (moto), where EKS's own defaults (CONFIG_MAP, creator is admin) then apply."
  type        = bool
  default     = true
}

variable "managed_policy_arn_prefix" {
  description = "Where the AWS-managed policies (AmazonEKSClusterPolicy, AmazonEKSWorkerNodePolicy, ...) live; null = arn:<partition>:iam::aws:policy. Only for emulators that lack them, where copies are created as customer-managed policies."
  type        = string
  default     = null
}

# --- AWS API endpoints (tests and special partitions) ---

variable "aws_endpoints" {
  description = "Endpoint overrides by service (autoscaling, ec2, eks, iam, logs, sts); empty = real AWS."
  type        = map(string)
  default     = {}
}

variable "aws_skip_credentials_validation" {
  description = "Skip the STS GetCallerIdentity check of the credentials (S3-compatible or mock endpoints)."
  type        = bool
  default     = false
}

variable "aws_skip_metadata_api_check" {
  description = "Do not ask the EC2 instance metadata service for credentials."
  type        = bool
  default     = false
}

variable "aws_skip_requesting_account_id" {
  description = "Do not look up the account id (only needed where the STS/IAM endpoints are unavailable)."
  type        = bool
  default     = false
}
