"""Where a kubeconfig may send credentials, and what it may make Slipway's server do.

A kubeconfig is user input that steers Slipway's own credentials and host: checked when it is
registered (no network) and again every time a client is built from it (``client``), so a
kubeconfig stored before these rules, or output by a blueprint, obeys them too.

* Credentials (bearer token, basic password, client key, EKS token) go only over https, with TLS
  verification on, and never through a proxy the kubeconfig names.
* Nothing is read from the portal's filesystem (``client-key: /etc/…``, ``tokenFile``) and no
  command runs: ``exec`` is accepted only in the form ``aws eks get-token --cluster-name X``, which
  Slipway answers itself; ``auth-provider`` plugins are refused.
* An EKS token, minted from Slipway's own AWS identity, goes only to the endpoint that
  ``eks:DescribeCluster`` reports for that cluster name (and with the CA EKS reports).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from portal import aws

from .eks_auth import eks_exec_target

# Keys naming files on the machine that loads the kubeconfig (the kubernetes client reads them).
_CLUSTER_FILE_KEYS = ("certificate-authority",)
_USER_FILE_KEYS = ("client-certificate", "client-key", "tokenFile", "token-file")
_CREDENTIAL_KEYS = ("token", "password", "client-key-data", "exec", "auth-provider", "tokenFile", "client-key")


class KubeconfigError(ValueError):
    """The kubeconfig cannot be used; the message says why, without echoing credentials."""


class KubeconfigRefused(KubeconfigError):
    """The kubeconfig would send credentials somewhere they do not belong; the message says why."""


@dataclass(frozen=True)
class EksTarget:
    """A context whose user authenticates with `aws eks get-token`: where its token would go."""

    user: str
    server: str
    ca_data: str
    cluster_name: str
    region: str


def _entries(data: dict[str, Any], kind: str, inner: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in data.get(kind) or []:
        if isinstance(entry, dict):
            body = entry.get(inner)
            yield str(entry.get("name", ""))[:100], body if isinstance(body, dict) else {}


def check_kubeconfig(data: Any) -> None:
    """Refuse a kubeconfig that reads local files, runs commands, uses a proxy, or would send
    credentials over plain http or without TLS verification. Offline; raises KubeconfigRefused."""
    if not isinstance(data, dict):
        raise KubeconfigRefused("The kubeconfig is not a YAML mapping.")
    clusters = dict(_entries(data, "clusters", "cluster"))
    users = dict(_entries(data, "users", "user"))
    for name, cluster in clusters.items():
        for key in _CLUSTER_FILE_KEYS:
            if cluster.get(key):
                raise KubeconfigRefused(f"The kubeconfig's cluster {name!r} refers to a local file ({key}); "
                                        f"embed it instead ({key}-data).")
        if cluster.get("proxy-url"):
            raise KubeconfigRefused(f"The kubeconfig's cluster {name!r} names a proxy (proxy-url); Slipway connects "
                                    "to API servers directly.")
    for name, user in users.items():
        for key in _USER_FILE_KEYS:
            if user.get(key):
                embedded = "token" if key.startswith("token") else f"{key}-data"
                raise KubeconfigRefused(f"The kubeconfig's user {name!r} refers to a local file ({key}); embed it "
                                        f"instead ({embedded}).")
        if user.get("exec") and eks_exec_target(user) is None:
            command = str((user.get("exec") or {}).get("command", ""))[:100] if isinstance(user.get("exec"), dict) \
                else "?"
            raise KubeconfigRefused(f"The kubeconfig's user {name!r} runs a command ({command!r}); Slipway does not "
                                    "run commands from kubeconfigs: use a token or client certificate "
                                    "(or `aws eks get-token --cluster-name NAME` for EKS).")
        if user.get("auth-provider"):
            raise KubeconfigRefused(f"The kubeconfig's user {name!r} uses an auth provider; use a token or "
                                    "client certificate.")
    for _name, context in _entries(data, "contexts", "context"):
        user = users.get(str(context.get("user", "")), {})
        if not any(user.get(key) for key in _CREDENTIAL_KEYS):
            continue
        cluster_name = str(context.get("cluster", ""))
        cluster = clusters.get(cluster_name, {})
        server = str(cluster.get("server", ""))
        if urlsplit(server).scheme.lower() != "https":
            raise KubeconfigRefused(f"The kubeconfig's cluster {cluster_name[:100]!r} is reached over "
                                    f"{urlsplit(server).scheme or 'no scheme'}://, and credentials go only over "
                                    "https://: use the API server's https address.")
        if cluster.get("insecure-skip-tls-verify"):
            raise KubeconfigRefused(f"The kubeconfig's cluster {cluster_name[:100]!r} turns TLS verification off "
                                    "(insecure-skip-tls-verify): credentials would go to whoever answers. Give "
                                    "the cluster's CA (certificate-authority-data) instead.")


def eks_targets(data: dict[str, Any]) -> list[EksTarget]:
    """Every context of the kubeconfig whose user authenticates with `aws eks get-token`."""
    clusters = dict(_entries(data, "clusters", "cluster"))
    users = dict(_entries(data, "users", "user"))
    found = []
    for _name, context in _entries(data, "contexts", "context"):
        user_name = str(context.get("user", ""))
        target = eks_exec_target(users.get(user_name, {}))
        if target is None:
            continue
        cluster = clusters.get(str(context.get("cluster", "")), {})
        found.append(EksTarget(user=user_name, server=str(cluster.get("server", "")),
                               ca_data=str(cluster.get("certificate-authority-data", "")),
                               cluster_name=target[0], region=target[1]))
    return found


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url.strip())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or 443


def check_eks_target(target: EksTarget) -> None:
    """Ask EKS where cluster ``target.cluster_name`` lives; refuse any other endpoint or CA.

    Raises KubeconfigRefused (also when EKS does not know the cluster for Slipway's identity).
    """
    eks = aws.client("eks", region=target.region)
    try:
        described = eks.describe_cluster(name=target.cluster_name)["cluster"]
    except eks.exceptions.ResourceNotFoundException as exc:
        raise KubeconfigRefused(f"EKS has no cluster {target.cluster_name[:100]!r} in {target.region[:30]}: Slipway "
                                "mints EKS tokens only for clusters EKS reports.") from exc
    endpoint = described.get("endpoint") or ""
    if not endpoint or _origin(endpoint) != _origin(target.server):
        raise KubeconfigRefused(f"The kubeconfig sends the EKS token for {target.cluster_name[:100]!r} to "
                                f"{target.server[:200]}, but EKS reports that cluster's endpoint as "
                                f"{endpoint or 'none'}: Slipway sends EKS tokens only to that endpoint.")
    ca = (described.get("certificateAuthority") or {}).get("data") or ""
    if ca and target.ca_data and target.ca_data.strip() != ca.strip():
        raise KubeconfigRefused(f"The kubeconfig's CA for {target.cluster_name[:100]!r} is not the one EKS reports "
                                "for that cluster.")
