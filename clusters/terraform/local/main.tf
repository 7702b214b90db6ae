# The `local` blueprint: a kwok control plane on this machine, one per Slipway cluster.
#
# Built from Terraform's own `terraform_data` resource and `local-exec` provisioners only, so it
# needs no provider at all. Creating the resource starts the cluster (`python -m devstack.control_plane
# up`), destroying it stops the cluster and deletes its files. The shared test-stack cluster
# ('slipway' on 56443) is never touched: every cluster has its own name, port and directory.

terraform {
  required_version = ">= 1.5"
  # Configured per cluster by Slipway (`terraform init -backend-config=<file>`): S3 with S3-native locking.
  backend "s3" {}
}

variable "cluster_name" {
  type        = string
  description = "Slipway cluster name; also the kwok cluster name."
}

variable "api_port" {
  type        = number
  description = "Port of the cluster's kube-apiserver on 127.0.0.1."
}

variable "state_dir" {
  type        = string
  description = "Directory holding the kwok cluster's pki, etcd data, pids and kubeconfig."
}

variable "python" {
  type        = string
  description = "Python interpreter of the Slipway installation (runs the kwok helper)."
}

variable "project_dir" {
  type        = string
  description = "Slipway's source directory (where `devstack.control_plane` is importable)."
}

variable "kubernetes_version" {
  type        = string
  default     = ""
  description = "Informational: the local control plane runs the version the test stack built."
}

variable "node_groups" {
  type        = any
  default     = []
  description = "Informational for local clusters: kwok nodes are fixed (three fake nodes)."
}

variable "region" {
  type    = string
  default = "local"
}

locals {
  kubeconfig_path = "${var.state_dir}/${var.cluster_name}.kubeconfig"
}

resource "terraform_data" "control_plane" {
  # Changing these means another cluster: replace (stop the old one, start the new one).
  triggers_replace = {
    name = var.cluster_name
    port = var.api_port
    dir  = var.state_dir
  }

  # Destroy-time provisioners may only read `self`, so everything they need is stored here.
  input = {
    name        = var.cluster_name
    port        = var.api_port
    dir         = var.state_dir
    python      = var.python
    project_dir = var.project_dir
  }

  provisioner "local-exec" {
    command     = "${self.input.python} -m devstack.control_plane up --name ${self.input.name} --port ${self.input.port} --dir ${self.input.dir}"
    working_dir = self.input.project_dir
  }

  provisioner "local-exec" {
    when        = destroy
    command     = "${self.input.python} -m devstack.control_plane down --purge --name ${self.input.name} --port ${self.input.port} --dir ${self.input.dir}"
    working_dir = self.input.project_dir
  }
}

# Continuous validation (as HCP Terraform does it): nothing in `terraform_data` refreshes, so a
# control plane stopped behind Terraform's back shows up as a failed check in every plan; Slipway's
# drift check reports it, and the next apply replaces the control plane to converge.
check "control_plane_running" {
  assert {
    # Before the first start there is no kwokctl.log yet, and nothing to be running.
    condition     = !fileexists("${var.state_dir}/kwokctl.log") || fileexists(local.kubeconfig_path)
    error_message = "The local control plane ${var.cluster_name} is not running: its kubeconfig is gone."
  }
}

output "api_endpoint" {
  value = "https://127.0.0.1:${terraform_data.control_plane.output.port}"
}

output "kubeconfig" {
  # Read after the provisioner wrote it (the reference to the resource's output defers this to apply).
  value     = terraform_data.control_plane.output.name == "" ? "" : try(file(local.kubeconfig_path), "")
  sensitive = true
}

output "kubernetes_version" {
  value = var.kubernetes_version
}
