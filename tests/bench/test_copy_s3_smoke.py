"""The S3 copy benchmark still runs end to end (`bench/copy_s3.py --tiny`) on the stack's moto server:
`aws s3 sync`, the server's CopyObject limit (plain boto3 copies) and Slipway's copier with
verification. Figures are not checked (the machine is noisy); that each side copied every object (the
script asserts it) and printed its figures is."""

from __future__ import annotations

import re

import pytest

from tests.bench.tiny_runs import run_tiny
from tests.fixtures.stack import stack_up

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_s3_copy_benchmark_runs_in_its_tiny_mode():
    stack_up("moto")  # skips (fails in CI) when the stack cannot run here
    output = run_tiny("copy_s3.py")
    for side in ("awscli", "limit", "slipway"):
        assert re.search(rf"{side}: \d+\.\d+s +[\d,]+ objects/s", output), output[-4000:]
    assert "verified=True" in output, output[-4000:]
    assert re.search(r"server limit \(plain copy_object, best thread count\): [\d,]+ copies/s; Slipway's copy "
                     r"[\d,]+ objects/s with verification = \d+\.\d+ of the limit", output), output[-4000:]
