"""Rendering of the cluster add-ons' versioned manifests (``clusters/addons/<addon>/<version>/*.yaml``).

A pure function of its inputs: the manifests are Django templates (no autoescaping) rendered with
the cluster's facts, then parsed as YAML. Values that land in YAML positions go through the
``yaml`` filter (JSON, a subset of YAML), so no value can break the document's structure.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from django.template import Context, Engine, Library

ADDONS_DIR = Path(__file__).resolve().parent / "addons"

# The versions Slipway installs, in installation order (metrics first: the HPA controller uses it).
ADDON_VERSIONS: dict[str, str] = {
    "metrics-server": "0.7.2",
    "ingress-nginx": "1.12.1",
    "fluent-bit": "3.2.10",
    "cluster-autoscaler": "1.33.0",
}

register = Library()
register.filter("yaml", lambda value: json.dumps(value))
_ENGINE = Engine(autoescape=False, libraries={}, builtins=[__name__])
_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class AddonFacts:
    """What the add-on manifests depend on; everything else in them is fixed by the version."""

    cluster_name: str
    region: str
    node_groups: list[dict[str, Any]] = field(default_factory=list)
    role_arns: dict[str, str] = field(default_factory=dict)
    cloudwatch_endpoint: str | None = None  # None = the region's real CloudWatch Logs endpoint
    log_retention_days: int = 14
    # Off where pods do not really run (the kwok control plane): an unavailable aggregated API
    # makes discovery fail cluster-wide, and namespaces then hang in Terminating.
    register_metrics_api: bool = True

    def __post_init__(self) -> None:
        if not _SLUG.match(self.cluster_name):
            raise ValueError(f"cluster name {self.cluster_name!r} is not a DNS label")
        if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", self.region):
            raise ValueError(f"region {self.region!r} is not an AWS region name")


def _cloudwatch(endpoint: str | None) -> dict[str, Any]:
    """fluent-bit's cloudwatch_logs takes host, port and TLS separately (TLS stated even for AWS:
    the plugin takes it from the output's generic ``tls`` property)."""
    if not endpoint:
        return {"tls": "On"}
    url = urlparse(endpoint)
    if not url.hostname:
        raise ValueError(f"CloudWatch Logs endpoint {endpoint!r} is not a URL")
    tls = url.scheme != "http"
    return {"endpoint": url.hostname, "port": url.port or (443 if tls else 80), "tls": "On" if tls else "Off"}


def _autoscaler_command(facts: AddonFacts) -> list[str]:
    command = ["./cluster-autoscaler", "--v=4", "--stderrthreshold=info", "--cloud-provider=aws",
               "--skip-nodes-with-local-storage=false", "--expander=least-waste",
               "--balance-similar-node-groups", "--skip-nodes-with-system-pods=false"]
    groups = facts.node_groups
    if groups and all(g.get("autoscaling_groups") for g in groups):
        for group in groups:
            command += [f"--nodes={group['min_size']}:{group['max_size']}:{asg}" for asg in group["autoscaling_groups"]]
    else:
        command.append("--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,"
                       f"k8s.io/cluster-autoscaler/{facts.cluster_name}")
    return command


def render_addon(addon: str, facts: AddonFacts, *, version: str | None = None) -> list[dict[str, Any]]:
    """The manifests of one add-on version for a cluster. Raises KeyError for an unknown add-on/version."""
    version = version or ADDON_VERSIONS[addon]
    folder = ADDONS_DIR / addon / version
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise KeyError(f"no manifests for add-on {addon} {version} in {folder}")
    node_groups = [{k: g[k] for k in ("name", "min_size", "max_size", "desired_size", "instance_types") if k in g}
                   for g in facts.node_groups]
    context = {
        "cluster_name": facts.cluster_name, "region": facts.region, "role_arns": facts.role_arns,
        "cloudwatch": _cloudwatch(facts.cloudwatch_endpoint), "log_retention_days": facts.log_retention_days,
        "register_metrics_api": facts.register_metrics_api,
        "node_groups_json": json.dumps(node_groups, sort_keys=True),
        "autoscaler_command": _autoscaler_command(facts),
    }
    context["config_digest"] = hashlib.sha256(json.dumps(
        {k: v for k, v in context.items() if k != "autoscaler_command"}, sort_keys=True).encode()).hexdigest()[:16]
    manifests: list[dict[str, Any]] = []
    for path in files:
        text = _ENGINE.from_string(path.read_text()).render(Context(context, autoescape=False))
        manifests += [doc for doc in yaml.safe_load_all(text) if doc]
    for manifest in manifests:
        manifest["metadata"].setdefault("labels", {})["slipway.io/addon"] = addon
    return manifests
