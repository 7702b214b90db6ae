"""The security suite: a hostile signed-in user against every boundary (issue 14).

Every test here carries the ``security`` marker. Property-based tests use the hypothesis profile
``suite`` (few examples, part of ``make test``); ``make test-security-deep`` runs the same tests
with the ``deep`` profile (many more examples).
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "suite", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "deep", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("SLIPWAY_HYPOTHESIS_PROFILE", "suite"))

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.security)
