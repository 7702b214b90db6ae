"""Running a benchmark script's smoke mode from a test (tests/bench/test_*_smoke.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import in_ci

ROOT = Path(__file__).resolve().parents[2]
# The bench measures the product's settings, not pytest's (tests.settings has no endpoint for moto).
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def require_tool(name: str) -> None:
    """Skip (fail in CI) when a program the benchmark runs is not installed."""
    if not shutil.which(name):
        message = f"{name} is not installed: run devstack/system-deps.sh"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def run_tiny(script: str, *args: str, timeout: float = 240) -> str:
    """Run ``bench/<script> --tiny``; its output, after asserting that it succeeded."""
    proc = subprocess.run([sys.executable, f"bench/{script}", "--tiny", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=BENCH_ENV)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return output
