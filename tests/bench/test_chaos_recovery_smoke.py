"""The chaos benchmark still runs end to end (`bench/chaos_recovery.py --tiny`): web, worker, beat, the
API and the control plane, one run of each scenario. Figures are not checked (the machine is noisy);
that every scenario measured something and nothing failed is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import stack_up

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def test_the_chaos_benchmark_runs_in_its_tiny_mode():
    for component in ("postgres", "redis", "kube"):
        stack_up(component)  # skips (fails in CI) when the stack cannot run here
    # Its own Redis database (not the bench's default 12), so a full run at the same time is unharmed.
    proc = subprocess.run([sys.executable, "bench/chaos_recovery.py", "--tiny", "--redis-db", "13"], cwd=ROOT,
                          capture_output=True, text=True, timeout=840)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert re.search(r"run 1: killed \S+: kubectl +\d+\.\d+s, Slipway +\d+\.\d+s", output), output[-4000:]
    assert re.search(r"p50 \d+\.\d+s, p95 \d+\.\d+s", output), output[-4000:]
    assert re.search(r"worker +\(\d+ processes\): \d+\.\d+ CPU s", output), output[-4000:]
    assert "failure:" not in output
