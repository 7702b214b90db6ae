"""The per-run Terraform CLI configuration: plugin cache and the local provider mirror.

Every run gets its own file (``TF_CLI_CONFIG_FILE``) so nothing depends on the machine's
``~/.terraformrc``. The Terraform runner (clusters issue) builds on this.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings


class ProviderMirrorMissing(RuntimeError):
    """No provider mirror is configured where one is needed; the message says how to fix it."""


def plugin_mirror(*, required: bool) -> Path | None:
    """The configured provider mirror, or None. Raises ProviderMirrorMissing when required and absent."""
    configured = settings.SLIPWAY_TERRAFORM_PLUGIN_MIRROR
    if configured and Path(configured, "registry.terraform.io").is_dir():
        return Path(configured)
    if required:
        where = f"{configured!r} has no registry.terraform.io/ folder" if configured else "it is not set"
        raise ProviderMirrorMissing(
            f"Terraform providers cannot be installed: no registry is reachable and SLIPWAY_TERRAFORM_PLUGIN_MIRROR "
            f"({where}) must point at a filesystem mirror holding registry.terraform.io/hashicorp/aws.")
    return None


def cli_config(*, plugin_cache: Path, mirror: Path | None) -> str:
    """The HCL text of a CLI configuration file; with a mirror, nothing is fetched from a registry."""
    lines = [f"plugin_cache_dir = {json.dumps(str(plugin_cache))}", "disable_checkpoint = true"]
    if mirror is not None:
        lines += ["provider_installation {", "  filesystem_mirror {", f"    path = {json.dumps(str(mirror))}",
                  "  }", "}"]
    return "\n".join(lines) + "\n"
