"""EKS bearer tokens minted in-process, as `aws eks get-token` does, so Slipway needs no AWS CLI.

A token is ``k8s-aws-v1.`` + the base64url of a presigned STS ``GetCallerIdentity`` URL that also
signs the ``x-k8s-aws-id: <cluster>`` header; EKS's authenticator replays it to learn who calls.
"""

from __future__ import annotations

import base64
from typing import Any

from portal import aws
from portal.redaction import hold

TOKEN_PREFIX = "k8s-aws-v1."
_TTL_SECONDS = 60  # what aws-iam-authenticator expects; the token itself is accepted for 15 minutes


def eks_token(*, cluster_name: str, region: str, credentials: dict[str, str] | None = None) -> str:
    """A bearer token for ``cluster_name`` from the AWS adapter's credentials (valid about 15 minutes)."""
    url = aws.presigned_get_url("sts", query="Action=GetCallerIdentity&Version=2011-06-15",
                                headers={"x-k8s-aws-id": cluster_name}, region=region, credentials=credentials,
                                expires_in=_TTL_SECONDS)
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    hold(token)
    return token


def eks_exec_target(user: dict[str, Any]) -> tuple[str, str] | None:
    """(cluster name, region) when a kubeconfig user authenticates with `aws eks get-token`, else None."""
    exec_config = user.get("exec") or {}
    args = exec_config.get("args") if isinstance(exec_config, dict) else None
    # Any other shape (exec as text, args as a mapping) is not this form: refused by the policy, not a crash.
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args) \
            or exec_config.get("command") != "aws" or args[:2] != ["eks", "get-token"]:
        return None
    options = dict(zip(args[2::2], args[3::2], strict=False))
    if "--cluster-name" not in options:
        return None
    return options["--cluster-name"], options.get("--region") or aws.default_region()
