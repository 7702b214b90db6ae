"""The live-logs benchmark still runs end to end (`bench/logs_stream.py --tiny`): a real daphne, the
local control plane's pod, `kubectl logs -f` and the bench's own follow request beside the websocket
(together, then each alone, every one in a process of its own: bench/log_clients.py),
the connect milestones and several viewers at once. Figures are not checked (the machine is noisy);
that each part measured something and every viewer got every line is."""

from __future__ import annotations

import re

import pytest

from tests.bench.tiny_runs import run_tiny
from tests.fixtures.stack import stack_up

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_the_logs_benchmark_runs_in_its_tiny_mode():
    for component in ("postgres", "kube"):
        stack_up(component)  # skips (fails in CI) when the stack cannot run here
    output = run_tiny("logs_stream.py")
    assert re.search(r"throughput \(2,000 lines of ~100 B, each alone, median of 1\): websocket [\d,]+ lines/s, "
                     r"kubectl logs -f [\d,]+ lines/s", output), output[-4000:]
    assert re.search(r"attached together \(2,000 lines, median of 1\): websocket [\d,]+ lines/s, "
                     r"kubectl logs -f [\d,]+ lines/s", output), output[-4000:]
    assert "lines not received" not in output
    assert re.search(r"first-line latency \(median of 3\): websocket \d+\.\d ms, kubectl logs -f \d+\.\d ms", output), \
        output[-4000:]
    assert re.search(r"API server to a plain follow request -?\d+\.\d ms", output), output[-4000:]
    assert re.search(r"websocket connect milestones .*upgrade answered .* \d+\.\d.*first line \d+\.\d", output), \
        output[-4000:]
    assert re.search(r"5 viewers on one daphne process: connected in \d+\.\ds, 5/5 received all 1000 burst lines, "
                     r"0 errors", output), output[-4000:]
