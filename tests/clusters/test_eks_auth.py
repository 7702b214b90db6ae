"""EKS tokens minted in-process: a presigned STS GetCallerIdentity that moto's STS answers."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from clusters.kube import client as kubeclient
from clusters.kube.eks_auth import TOKEN_PREFIX, eks_exec_target, eks_token
from portal import aws

pytestmark = pytest.mark.integration


def _url(token: str) -> str:
    body = token.removeprefix(TOKEN_PREFIX)
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_token_is_a_presigned_get_caller_identity_for_the_cluster(aws_settings):
    token = eks_token(cluster_name="prod-eu", region="us-east-1")
    assert token.startswith(TOKEN_PREFIX) and "=" not in token
    url = _url(token)
    query = parse_qs(urlparse(url).query)
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]
    assert url.startswith(aws_settings["AWS_ENDPOINT_URL"])
    credential = query["X-Amz-Credential"][0].split("/")
    assert credential[0] == aws_settings["AWS_ACCESS_KEY_ID"] and credential[2:] == ["us-east-1", "sts", "aws4_request"]
    assert query["X-Amz-Signature"][0]
    # Replaying it (what EKS's authenticator does) cannot be shown here: the stack's moto server
    # serves every service on one port and routes a request without an Authorization header to S3.


def test_exec_users_of_eks_kubeconfigs_get_an_in_process_token(aws_settings):
    assert eks_exec_target({"exec": {"command": "aws", "args": ["eks", "get-token", "--cluster-name", "c1",
                                                                "--region", "eu-west-1"]}}) == ("c1", "eu-west-1")
    assert eks_exec_target({"exec": {"command": "gke-gcloud-auth-plugin"}}) is None
    assert eks_exec_target({"token": "x"}) is None
    # A token goes only to the endpoint EKS reports for the cluster (tests/security/test_credential_destinations.py).
    eks = aws.client("eks", region="us-east-1")
    endpoint = eks.create_cluster(name="c1", roleArn="arn:aws:iam::123456789012:role/eks",
                                  resourcesVpcConfig={"subnetIds": []})["cluster"]["endpoint"]
    kubeconfig = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c1",
        "clusters": [{"name": "c1", "cluster": {"server": endpoint}}],
        "contexts": [{"name": "c1", "context": {"cluster": "c1", "user": "c1"}}],
        "users": [{"name": "c1", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                   "command": "aws", "args": ["eks", "get-token", "--cluster-name",
                                                                              "c1", "--region", "us-east-1"]}}}],
    })
    try:
        with kubeclient.api_client(kubeconfig) as api:
            header = api.configuration.api_key["BearerToken"]
    finally:
        eks.delete_cluster(name="c1")
    assert header.startswith(f"Bearer {TOKEN_PREFIX}")
    assert "x-k8s-aws-id" in _url(header.removeprefix("Bearer "))
