"""The S3 copy benchmark still runs end to end (`bench/copy_s3.py --tiny`) on the stack's moto server:
`aws s3 sync`, the server's CopyObject limit (plain boto3 copies) and Slipway's copier with
verification. Figures are not checked (the machine is noisy); that each side copied every object (the
script asserts it) and printed its figures is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import stack_up

ROOT = Path(__file__).resolve().parents[2]
# The bench measures the product's settings, not pytest's (tests.settings has no endpoint for moto).
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_s3_copy_benchmark_runs_in_its_tiny_mode():
    stack_up("moto")  # skips (fails in CI) when the stack cannot run here
    proc = subprocess.run([sys.executable, "bench/copy_s3.py", "--tiny"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240, env=BENCH_ENV)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for side in ("awscli", "limit", "slipway"):
        assert re.search(rf"{side}: \d+\.\d+s +[\d,]+ objects/s", output), output[-4000:]
    assert "verified=True" in output, output[-4000:]
    assert re.search(r"server limit \(plain copy_object, best thread count\): [\d,]+ copies/s; Slipway's copy "
                     r"[\d,]+ objects/s with verification = \d+\.\d+ of the limit", output), output[-4000:]
