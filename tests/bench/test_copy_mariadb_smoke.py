"""The MariaDB copy benchmark still runs end to end (`bench/copy_mariadb.py --tiny`): a generated dataset
copied by `mariadb-dump | mariadb`, `mydumper` + `myloader`, the server-limit load of pre-rendered files
and Slipway's copier with verification. Figures are not checked (the machine is noisy); that every
contender copied every row and each figure was printed is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.stack import in_ci, stack_up

ROOT = Path(__file__).resolve().parents[2]
# The bench measures the product's settings, not pytest's (tests.settings has no endpoint for moto).
BENCH_ENV = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_mariadb_copy_benchmark_runs_in_its_tiny_mode():
    stack_up("mariadb")  # skips (fails in CI) when the stack cannot run here
    if not shutil.which("myloader"):
        message = "mydumper/myloader are not installed: run devstack/system-deps.sh"
        pytest.fail(message) if in_ci() else pytest.skip(message)
    proc = subprocess.run([sys.executable, "bench/copy_mariadb.py", "--tiny"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240, env=BENCH_ENV)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    for name in (r"mariadb-dump \| mariadb", r"mydumper \+ myloader", r"server limit \(pre-rendered\)",
                 r"slipway \(verified\)"):
        assert re.search(rf"  {name} +\d+\.\d s +\d+ rows/s", output), output[-4000:]
    assert re.search(r"ratio mydumper\+myloader / slipway: \d+\.\d+x", output), output[-4000:]
    assert re.search(r"ratio slipway / server limit: \d+\.\d+x", output), output[-4000:]
