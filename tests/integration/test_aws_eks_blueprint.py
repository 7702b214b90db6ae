"""The production aws-eks blueprint, planned, applied and destroyed by the terraform CLI against moto.

The helper below runs terraform directly with a per-run CLI configuration (the Terraform runner of
the clusters issue replaces it); what is under test is the HCL: that every resource the module
declares is accepted by the AWS API up to moto's boundary, that a second plan is clean (no drift
from what the API reports back), and that destroy removes it all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from clusters.terraform_config import cli_config, plugin_mirror
from tests.fixtures.stack import stack_up
from tests.fixtures.terraform_runs import moto_managed_policy_prefix

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]

BLUEPRINT = Path(__file__).resolve().parents[2] / "clusters" / "terraform" / "aws-eks"


class Terraform:
    """terraform in one working directory with its own CLI configuration and AWS credentials."""

    def __init__(self, workdir: Path, env: dict[str, str], binary: str) -> None:
        self.workdir, self.env, self.binary = workdir, env, binary

    def __call__(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        command, rest = args[0], list(args[1:])
        flags = ["-no-color", *(["-input=false"] if command in {"init", "plan", "apply", "destroy"} else [])]
        result = subprocess.run([self.binary, command, *flags, *rest], cwd=self.workdir, env=self.env,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode in ok, f"terraform {args[0]} exited {result.returncode}:\n{result.stdout[-4000:]}" \
                                        f"\n{result.stderr[-4000:]}"
        return result

    def init_s3_backend(self, *, bucket: str, key: str, endpoint: str) -> None:
        """The backend flags the clusters issue's runner passes: remote state on moto's S3, S3-native locking."""
        self("init", f"-backend-config=bucket={bucket}", f"-backend-config=key={key}",
             "-backend-config=region=us-east-1", "-backend-config=use_lockfile=true",
             f'-backend-config=endpoints={{s3="{endpoint}"}}', "-backend-config=use_path_style=true",
             "-backend-config=skip_credentials_validation=true", "-backend-config=skip_requesting_account_id=true",
             "-backend-config=skip_metadata_api_check=true")


@pytest.fixture
def eks_workdir(tmp_path, aws_settings, s3_bucket, settings):
    facts = stack_up("terraform")
    settings.SLIPWAY_TERRAFORM_PLUGIN_MIRROR = facts.get("SLIPWAY_TERRAFORM_PLUGIN_MIRROR", "")
    endpoint = aws_settings["AWS_ENDPOINT_URL"]
    workdir = tmp_path / "work"
    shutil.copytree(BLUEPRINT, workdir, ignore=shutil.ignore_patterns("*.md", ".terraform*"))
    (tmp_path / "plugins").mkdir()
    rc = tmp_path / "cli.tfrc"
    rc.write_text(cli_config(plugin_cache=tmp_path / "plugins", mirror=plugin_mirror(required=True)))
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
           "AWS_ACCESS_KEY_ID": aws_settings["AWS_ACCESS_KEY_ID"],
           "AWS_SECRET_ACCESS_KEY": aws_settings["AWS_SECRET_ACCESS_KEY"], "AWS_DEFAULT_REGION": "us-east-1"}
    return {"tf": Terraform(workdir, env, facts["TERRAFORM"]), "workdir": workdir, "bucket": s3_bucket,
            "endpoint": endpoint}


def test_aws_eks_blueprint_plans_applies_and_destroys_against_moto(eks_workdir):
    from portal import aws

    tf, workdir, bucket, endpoint = (eks_workdir[k] for k in ("tf", "workdir", "bucket", "endpoint"))
    name = f"t-{uuid.uuid4().hex[:8]}"
    iam, eks, ec2, s3 = (aws.client(s) for s in ("iam", "eks", "ec2", "s3"))
    variables = {
        "cluster_name": name,
        "region": "us-east-1",
        "kubernetes_version": "1.33",
        "node_groups": [
            {"name": "general", "instance_types": ["m5.large"], "min_size": 1, "max_size": 4, "desired_size": 2},
            {"name": "spot", "instance_types": ["m5.xlarge", "m5a.xlarge"], "min_size": 0, "max_size": 6,
             "desired_size": 0, "capacity_type": "SPOT", "labels": {"lifecycle": "spot"}},
        ],
        "aws_endpoints": {s: endpoint for s in ("autoscaling", "ec2", "eks", "iam", "logs", "sts")},
        "aws_skip_credentials_validation": True,
        "aws_skip_metadata_api_check": True,
        # moto does not implement EKS access entries; see the blueprint's README.
        "cluster_access_config": False,
        "managed_policy_arn_prefix": moto_managed_policy_prefix(iam),
    }
    (workdir / "slipway.auto.tfvars.json").write_text(json.dumps(variables))
    key = f"clusters/{name}/terraform.tfstate"
    tf.init_s3_backend(bucket=bucket, key=key, endpoint=endpoint)

    tf("plan", "-out=plan.bin")
    plan = json.loads(tf("show", "-json", "plan.bin").stdout)
    created = [c["type"] for c in plan["resource_changes"] if c["change"]["actions"] == ["create"]]
    for kind, count in {"aws_vpc": 1, "aws_subnet": 6, "aws_nat_gateway": 1, "aws_eip": 1, "aws_eks_cluster": 1,
                        "aws_eks_node_group": 2, "aws_iam_openid_connect_provider": 1, "aws_iam_role": 4,
                        "aws_internet_gateway": 1, "aws_route": 4}.items():
        assert created.count(kind) == count, (kind, sorted(created))

    tf("apply", "plan.bin")
    outputs = {k: v["value"] for k, v in json.loads(tf("output", "-json").stdout).items()}
    try:
        cluster = eks.describe_cluster(name=name)["cluster"]
        assert cluster["status"] == "ACTIVE" and cluster["version"] == "1.33"
        assert outputs["endpoint"] == cluster["endpoint"]
        assert outputs["certificate_authority_data"] == cluster["certificateAuthority"]["data"]
        assert outputs["oidc_issuer_url"] == cluster["identity"]["oidc"]["issuer"]
        assert set(cluster["resourcesVpcConfig"]["subnetIds"]) == {*outputs["private_subnet_ids"],
                                                                    *outputs["public_subnet_ids"]}
        groups = {g: eks.describe_nodegroup(clusterName=name, nodegroupName=g)["nodegroup"]
                  for g in ("general", "spot")}
        assert groups["general"]["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2}
        assert groups["spot"]["scalingConfig"] == {"minSize": 0, "maxSize": 6, "desiredSize": 0}
        assert groups["spot"]["capacityType"] == "SPOT" and groups["spot"]["labels"]["lifecycle"] == "spot"
        assert set(groups["general"]["subnets"]) == set(outputs["private_subnet_ids"])
        assert groups["general"]["tags"][f"k8s.io/cluster-autoscaler/{name}"] == "owned"
        assert groups["general"]["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
        assert outputs["node_groups"]["spot"]["max_size"] == 6
        assert outputs["node_groups"]["general"]["autoscaling_groups"]
        # Public subnets route to the internet gateway, private ones through the NAT gateway.
        nat = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [outputs["vpc_id"]]}])["NatGateways"]
        assert len(nat) == 1 and nat[0]["SubnetId"] in outputs["public_subnet_ids"]
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [outputs["vpc_id"]]}])["RouteTables"]
        private_routes = [r for t in tables for r in t["Routes"] if r.get("NatGatewayId") == nat[0]["NatGatewayId"]]
        assert len(private_routes) == 3
        subnet_tags = {s["SubnetId"]: {t["Key"]: t["Value"] for t in s.get("Tags", [])}
                       for s in ec2.describe_subnets(SubnetIds=outputs["public_subnet_ids"])["Subnets"]}
        assert all(t["kubernetes.io/role/elb"] == "1" and t[f"kubernetes.io/cluster/{name}"] == "shared"
                   for t in subnet_tags.values())
        # IRSA: the OIDC provider and a role per add-on trusting exactly its service account.
        providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
        assert outputs["oidc_provider_arn"] in providers
        trust = iam.get_role(RoleName=f"{name}-fluent-bit")["Role"]["AssumeRolePolicyDocument"]
        condition = trust["Statement"][0]["Condition"]["StringEquals"]
        assert "system:serviceaccount:slipway-logging:fluent-bit" in json.dumps(condition)
        assert outputs["addon_role_arns"]["cluster_autoscaler"].endswith(f"role/{name}-cluster-autoscaler")
        attached = {p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=f"{name}-eks-node")
                    ["AttachedPolicies"]}
        assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"}
        # Remote state in the bucket; the lock file is gone once the run ends.
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
        assert key in keys and f"{key}.tflock" not in keys
        # What the API reports back matches the code: the drift check of the clusters issue is clean.
        second = tf("plan", "-detailed-exitcode", ok=(0, 2))
        assert second.returncode == 0, second.stdout[-4000:]
    finally:
        tf("destroy", "-auto-approve")
    assert name not in eks.list_clusters()["clusters"]
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [outputs["vpc_id"]]}])["Vpcs"]
    assert not [p for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
                if p["Arn"] == outputs["oidc_provider_arn"]]


def test_aws_eks_blueprint_rejects_bad_node_group_bounds(eks_workdir):
    tf, workdir = eks_workdir["tf"], eks_workdir["workdir"]
    (workdir / "slipway.auto.tfvars.json").write_text(json.dumps({
        "cluster_name": "bounds",
        "node_groups": [{"name": "a", "instance_types": ["m5.large"], "min_size": 3, "max_size": 2,
                         "desired_size": 2}],
    }))
    tf.init_s3_backend(bucket=eks_workdir["bucket"], key="bounds.tfstate", endpoint=eks_workdir["endpoint"])
    result = tf("plan", ok=(1,))
    assert "min_size <= desired_size <= max_size" in result.stdout + result.stderr
