"""The MariaDB copy benchmark still runs end to end (`bench/copy_mariadb.py --tiny`): a generated dataset
copied by `mariadb-dump | mariadb`, `mydumper` + `myloader`, the server-limit load of pre-rendered files
and Slipway's copier with verification. Figures are not checked (the machine is noisy); that every
contender copied every row and each figure was printed is."""

from __future__ import annotations

import re

import pytest

from tests.bench.tiny_runs import require_tool, run_tiny
from tests.fixtures.stack import stack_up

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_mariadb_copy_benchmark_runs_in_its_tiny_mode():
    stack_up("mariadb")  # skips (fails in CI) when the stack cannot run here
    require_tool("myloader")
    output = run_tiny("copy_mariadb.py")
    for name in (r"mariadb-dump \| mariadb", r"mydumper \+ myloader", r"server limit \(pre-rendered\)",
                 r"slipway \(verified\)"):
        assert re.search(rf"  {name} +\d+\.\d s +\d+ rows/s", output), output[-4000:]
    assert re.search(r"ratio mydumper\+myloader / slipway: \d+\.\d+x", output), output[-4000:]
    assert re.search(r"ratio slipway / server limit: \d+\.\d+x", output), output[-4000:]
