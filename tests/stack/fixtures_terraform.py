"""Fixtures for Terraform runs: the real CLI, S3 state on the moto server, local kwok clusters."""

import json
import uuid

import pytest

from .fixtures import stack_up


@pytest.fixture
def terraform_settings(settings, aws_settings, tmp_path):
    """Slipway's Terraform settings pointed at a fresh state bucket (created by Slipway) and tmp dirs."""
    facts = stack_up("terraform")
    settings.SLIPWAY_TERRAFORM_BIN = facts["TERRAFORM"]
    settings.SLIPWAY_TERRAFORM_PLUGIN_MIRROR = facts.get("SLIPWAY_TERRAFORM_PLUGIN_MIRROR", "")
    settings.SLIPWAY_TERRAFORM_DIR = tmp_path / "tf"
    settings.SLIPWAY_LOCAL_CLUSTERS_DIR = tmp_path / "local"
    settings.SLIPWAY_TERRAFORM_STATE_BUCKET = f"t-tfstate-{uuid.uuid4().hex[:10]}"
    # Apart from `make run`'s range, so a developer's running portal never collides with tests.
    settings.SLIPWAY_LOCAL_CLUSTER_PORTS = "56600-56699"
    yield settings
    from portal import aws

    s3 = aws.client("s3")
    try:
        versions = s3.list_object_versions(Bucket=settings.SLIPWAY_TERRAFORM_STATE_BUCKET)
    except s3.exceptions.NoSuchBucket:
        return
    for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        s3.delete_object(Bucket=settings.SLIPWAY_TERRAFORM_STATE_BUCKET, Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket=settings.SLIPWAY_TERRAFORM_STATE_BUCKET)


@pytest.fixture
def local_clusters(terraform_settings):
    """Names of local clusters a test creates; any still running afterwards are stopped (never 'slipway')."""
    import subprocess
    import sys

    from clusters.models import Cluster

    yield
    for cluster in Cluster.objects.filter(kind="local").exclude(terraform_vars={}):
        port = cluster.terraform_vars.get("api_port")
        subprocess.run([sys.executable, "-m", "tests.stack.kube", "down", "--name", cluster.name, "--port",
                        str(port), "--dir", str(terraform_settings.SLIPWAY_LOCAL_CLUSTERS_DIR / cluster.name)],
                       capture_output=True, timeout=120)


EKS_MANAGED_POLICIES = ["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController", "AmazonEKSWorkerNodePolicy",
                        "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]


def moto_managed_policy_prefix(iam) -> str | None:
    """None when moto serves the AWS-managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES, set by the stack).

    A moto server started before that setting lacks them; then copies of the real documents are
    created as customer-managed policies and the aws-eks blueprint is pointed at them.
    """
    try:
        iam.get_policy(PolicyArn=f"arn:aws:iam::aws:policy/{EKS_MANAGED_POLICIES[0]}")
        return None
    except iam.exceptions.NoSuchEntityException:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        documents = json.loads(aws_managed_policies_data)
        for name in EKS_MANAGED_POLICIES:
            try:
                iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(documents[name]["Document"]))
            except iam.exceptions.EntityAlreadyExistsException:
                pass
        account = iam.get_policy(PolicyArn=f"arn:aws:iam::123456789012:policy/{EKS_MANAGED_POLICIES[0]}")
        return account["Policy"]["Arn"].rsplit("/", 1)[0]


@pytest.fixture
def eks_on_moto(terraform_settings):
    """The aws-eks blueprint's inputs for the moto server (see its README, "Running against moto")."""
    from portal import aws

    terraform_settings.SLIPWAY_TERRAFORM_BLUEPRINT_VARS = {"aws-eks": {
        # moto does not implement EKS access entries.
        "cluster_access_config": False,
        "managed_policy_arn_prefix": moto_managed_policy_prefix(aws.client("iam")),
    }}
    return terraform_settings
