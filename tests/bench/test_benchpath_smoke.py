"""The environment-create, load, websocket and audit benchmarks still run end to end in their smoke sizes
(issue 18: benchmarks never rot). Figures are not checked (the machine is noisy, and a smoke size says
nothing about the ratio); that each completes, measures every part and prints its figures is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import stack_up

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
SECONDS = r"\d+\.\d+"


def run_bench(script: str, *args: str, needs: tuple[str, ...] = ("postgres", "redis", "kube")) -> str:
    for component in needs:
        stack_up(component)  # skips (fails in CI) when the stack cannot run here
    proc = subprocess.run([sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=540)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    assert "Traceback" not in output, output[-6000:]
    return output


def test_the_environment_create_benchmark_runs_in_its_smoke_size():
    # Its own Redis database (the full run's is 10), so a full run at the same time is unharmed.
    output = run_bench("bench/environment_create.py", "--smoke", "--redis-db", "11")
    for side in ("slipway", "in-process", "kubectl"):
        assert re.search(rf"1 environment, {side} +{SECONDS} +{SECONDS}x", output), output[-4000:]
        assert re.search(rf"2 at once \(total\), {side} +{SECONDS} +{SECONDS}x", output), output[-4000:]
    assert "6 environments ready of 6 created (real path and in-process); 0 error(s)" in output, output[-4000:]
    assert re.search(rf"real path's 2 jobs: queue wait median {SECONDS} s", output), output[-4000:]
    assert re.search(r"load average \d+\.\d+", output)


def test_the_load_benchmark_runs_in_its_smoke_size():
    output = run_bench("bench/load_pages.py", "--smoke", "--redis-db", "9")
    for url in ("/environments/", "/audit/", "/api/v1/environments/", "/api/v1/audit-events/", "/api/v1/jobs/"):
        assert re.search(rf"{re.escape(url)} +\d+ +\d+ +{SECONDS} +\d+\n", output), output[-4000:]
    assert "0 error(s)" in output, output[-4000:]


def test_the_websocket_memory_benchmark_runs_in_its_smoke_size():
    output = run_bench("bench/websocket_memory.py", "--smoke", "--redis-db", "15")
    assert re.search(r"20 job-stream websockets open on one daphne", output), output[-4000:]
    assert re.search(rf"PSS +{SECONDS} +{SECONDS} +-?{SECONDS}", output), output[-4000:]
    assert "received by 20 of 20 connections" in output, output[-4000:]


def test_the_audit_pagination_benchmark_runs_in_its_smoke_size():
    output = run_bench("bench/audit_pagination.py", "--smoke", needs=("postgres",))
    for scenario in ("first page", "page 1000", "actor filter, page 10", "object history"):
        assert re.search(rf"{scenario} +{SECONDS} +{SECONDS} +{SECONDS}", output), output[-4000:]
