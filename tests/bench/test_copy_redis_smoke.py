"""The Redis copy benchmark still runs end to end (`bench/copy_redis.py --tiny`): two throwaway
redis-servers, Slipway's copier, the parallel pipelined DUMP/RESTORE baseline and the MIGRATE loop.
Figures are not checked (the machine is noisy); that each side copied every key with its TTL (the
script asserts it) and printed its figures is."""

from __future__ import annotations

import re

import pytest

from tests.bench.tiny_runs import require_tool, run_tiny

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_redis_copy_benchmark_runs_in_its_tiny_mode():
    require_tool("redis-server")
    output = run_tiny("copy_redis.py")
    for side in ("slipway", "pipelined", "migrate"):
        assert re.search(rf"{side}: \d+\.\d+s +[\d,]+ keys/s", output), output[-4000:]
    assert "verified=True" in output, output[-4000:]
    assert re.search(r"ratio \(pipelined DUMP/RESTORE x\d+ time / Slipway time\): \d+\.\d+x", output), output[-4000:]
