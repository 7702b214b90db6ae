"""The sleep benchmark still runs end to end (`bench/sleep_wake.py --tiny`): a real worker, the control
plane, both wake-up measurements and the sleep of several environments at once. Figures are not checked
(the machine is noisy); that each part measured something and nothing failed is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import stack_up

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def test_the_sleep_benchmark_runs_in_its_tiny_mode():
    for component in ("postgres", "redis", "kube"):
        stack_up(component)  # skips (fails in CI) when the stack cannot run here
    # Its own Redis database (not the bench's default 13), so a full run at the same time is unharmed.
    proc = subprocess.run([sys.executable, "bench/sleep_wake.py", "--tiny", "--redis-db", "14"], cwd=ROOT,
                          capture_output=True, text=True, timeout=540)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert re.search(r"Slipway \(service → queue → worker → ready\): p50 \d+\.\d+s p95 \d+\.\d+s", output), output[-4000:]
    assert re.search(r"kubectl scale \+ rollout status: +p50 \d+\.\d+s", output), output[-4000:]
    assert re.search(r"ratio of the medians Slipway / kubectl: \d+\.\d+x", output), output[-4000:]
    assert re.search(r"4 environments put to sleep at once: all asleep in \d+\.\d+s; refused 0, not asleep 0, "
                     r"Deployments not at zero 0", output), output[-4000:]
