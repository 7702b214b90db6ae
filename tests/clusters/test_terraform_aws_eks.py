"""The aws-eks blueprint through Slipway's Terraform flow (runner, S3 state, approval) against moto.

The AWS side runs for real up to moto's boundary. An EKS endpoint on moto is a made-up host name,
so the Kubernetes side (add-ons, health) is unreachable: the run must then fail saying exactly that.
moto gives every EKS cluster of one server process the same OIDC issuer, so two aws-eks applies on
the same moto at once share one IAM OIDC provider: do not run these next to
tests/integration/test_aws_eks_blueprint.py on a shared moto server.
"""

import json
import uuid

import pytest

from clusters import blueprints
from clusters.models import Cluster, TerraformRun
from clusters.terraform_runs import terraform_run_approve, terraform_run_discard, terraform_run_start
from portal import aws
from portal.audit.actor import Actor

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=False)]

NODE_GROUPS = [{"name": "general", "instance_types": ["m5.large"], "min_size": 1, "desired_size": 2, "max_size": 4}]


def create(api, name: str, django_capture_on_commit_callbacks) -> TerraformRun:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/clusters/", {"name": name, "kind": "aws-eks", "region": "us-east-1",
                                                  "kubernetes_version": "1.33", "node_groups": NODE_GROUPS},
                            format="json")
    assert response.status_code == 201, response.content
    run = TerraformRun.objects.get(pk=response.json()["id"])
    run.refresh_from_db()
    return run


def test_aws_eks_cluster_is_planned_against_moto_and_awaits_approval(users, api_for, eks_on_moto,
                                                                     django_capture_on_commit_callbacks):
    admin = users["admin"]
    name = f"eks-{uuid.uuid4().hex[:6]}"
    run = create(api_for(admin), name, django_capture_on_commit_callbacks)
    assert run.state == TerraformRun.AWAITING_APPROVAL, (run.message, run.log[-3000:])
    planned = {r["type"] for r in run.plan_resources}
    assert {"aws_vpc", "aws_eks_cluster", "aws_eks_node_group", "aws_iam_openid_connect_provider",
            "aws_nat_gateway"} <= planned
    assert run.plan_summary["add"] == len(run.plan_resources) and run.plan_summary["destroy"] == 0
    assert "+ aws_eks_cluster.this (create)" in run.log
    # The provider was pointed at the same endpoints as every AWS client of Slipway (the moto server).
    cluster = run.cluster
    inputs = json.loads((blueprints.workspace(cluster).dir / "slipway.auto.tfvars.json").read_text())
    assert inputs["aws_endpoints"]["eks"] == aws.endpoint_for("eks") and inputs["region"] == "us-east-1"
    assert inputs["node_groups"] == NODE_GROUPS and inputs["cluster_access_config"] is False
    # Nothing was created before approval; discarding leaves nothing behind.
    assert name not in aws.client("eks").list_clusters()["clusters"]
    terraform_run_discard(actor=Actor.for_user(admin), user=admin, run=run)
    run.refresh_from_db()
    assert run.state == TerraformRun.CANCELLED and Cluster.objects.get(pk=cluster.pk).status == Cluster.PENDING


@pytest.mark.timeout(2400)
def test_aws_eks_cluster_applies_on_moto_then_reports_the_unreachable_api_and_destroys(
        users, api_for, eks_on_moto, django_capture_on_commit_callbacks):
    admin = users["admin"]
    name = f"eks-{uuid.uuid4().hex[:6]}"
    run = create(api_for(admin), name, django_capture_on_commit_callbacks)
    assert run.state == TerraformRun.AWAITING_APPROVAL, (run.message, run.log[-3000:])
    with django_capture_on_commit_callbacks(execute=True):
        terraform_run_approve(actor=Actor.for_user(admin), user=admin, run=run)
    run.refresh_from_db()
    cluster = Cluster.objects.get(pk=run.cluster_id)
    eks = aws.client("eks")
    try:
        assert "Apply complete!" in run.log, run.log[-3000:]
        described = eks.describe_cluster(name=name)["cluster"]
        assert described["status"] == "ACTIVE" and cluster.api_server == described["endpoint"]
        assert cluster.ca_data == described["certificateAuthority"]["data"]
        assert run.outputs["addon_role_arns"]["fluent_bit"].endswith(f"role/{name}-fluent-bit")
        # The Kubernetes API of an EKS cluster on moto cannot be reached: said plainly, never a traceback.
        assert run.state == TerraformRun.FAILED
        assert run.message.startswith("TerraformError: the add-ons could not be installed: The API server")
        assert cluster.status == Cluster.FAILED and "add-ons could not be installed" in cluster.status_message
    finally:
        with django_capture_on_commit_callbacks(execute=True):
            destroy = terraform_run_start(actor=Actor.for_user(admin), user=admin, cluster=cluster,
                                          action=TerraformRun.DESTROY, confirm_name=name)
        destroy.refresh_from_db()
        assert destroy.state == TerraformRun.AWAITING_APPROVAL, destroy.log[-3000:]
        with django_capture_on_commit_callbacks(execute=True):
            terraform_run_approve(actor=Actor.for_user(admin), user=admin, run=destroy)
    destroy.refresh_from_db()
    assert destroy.state == TerraformRun.SUCCEEDED, destroy.log[-3000:]
    assert name not in eks.list_clusters()["clusters"]
    assert Cluster.objects.get(pk=cluster.pk).status == Cluster.DESTROYED
