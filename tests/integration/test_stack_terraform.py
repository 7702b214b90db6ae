"""Terraform on the stack: the pinned CLI installs the AWS provider from the local mirror, offline."""

import os
import subprocess

import pytest

from clusters.terraform_config import ProviderMirrorMissing, cli_config, plugin_mirror
from tests.fixtures.stack import stack_up

pytestmark = pytest.mark.integration

MAIN_TF = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
"""


def test_init_installs_aws_provider_from_the_mirror(tmp_path, settings):
    facts = stack_up("terraform")
    if "SLIPWAY_TERRAFORM_PLUGIN_MIRROR" not in facts:
        pytest.fail("no local mirror of registry.terraform.io/hashicorp/aws on this machine")
    settings.SLIPWAY_TERRAFORM_PLUGIN_MIRROR = facts["SLIPWAY_TERRAFORM_PLUGIN_MIRROR"]
    (tmp_path / "main.tf").write_text(MAIN_TF)
    rc = tmp_path / "cli.tfrc"
    rc.write_text(cli_config(plugin_cache=tmp_path / "cache", mirror=plugin_mirror(required=True)))
    (tmp_path / "cache").mkdir()
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    result = subprocess.run([facts["TERRAFORM"], "init", "-input=false", "-no-color"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Installed hashicorp/aws v5.100.0" in result.stdout
    assert (tmp_path / ".terraform.lock.hcl").read_text().count('version     = "5.100.0"') == 1


def test_missing_mirror_is_a_clear_error(settings, tmp_path):
    settings.SLIPWAY_TERRAFORM_PLUGIN_MIRROR = str(tmp_path / "nowhere")
    with pytest.raises(ProviderMirrorMissing, match="SLIPWAY_TERRAFORM_PLUGIN_MIRROR"):
        plugin_mirror(required=True)
    assert plugin_mirror(required=False) is None
