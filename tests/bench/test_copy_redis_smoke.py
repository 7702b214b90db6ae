"""The Redis copy benchmark still runs end to end (`bench/copy_redis.py --tiny`): two throwaway
redis-servers, Slipway's copier, the parallel pipelined DUMP/RESTORE baseline and the MIGRATE loop.
Figures are not checked (the machine is noisy); that each side copied every key with its TTL (the
script asserts it) and printed its figures is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import in_ci

ROOT = Path(__file__).resolve().parents[2]
# The bench measures the product's settings, not pytest's (tests.settings has no endpoint for moto).
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_redis_copy_benchmark_runs_in_its_tiny_mode():
    if not shutil.which("redis-server"):
        message = "redis-server is not installed: run devstack/system-deps.sh"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    proc = subprocess.run([sys.executable, "bench/copy_redis.py", "--tiny"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240, env=BENCH_ENV)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for side in ("slipway", "pipelined", "migrate"):
        assert re.search(rf"{side}: \d+\.\d+s +[\d,]+ keys/s", output), output[-4000:]
    assert "verified=True" in output, output[-4000:]
    assert re.search(r"ratio \(pipelined DUMP/RESTORE x\d+ time / Slipway time\): \d+\.\d+x", output), output[-4000:]
