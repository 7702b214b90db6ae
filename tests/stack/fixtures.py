"""pytest fixtures that bring up the local stack and hand out fresh, isolated resources.

A missing service skips the test on a laptop, but fails it when ``CI`` is set: in CI a skip for
a missing service would hide a broken install step.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from .process import Context, StackError
from .registry import COMPONENTS, load_facts, save_facts

_started: dict[str, dict[str, str]] = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def stack_up(name: str) -> dict[str, str]:
    """Ensure one stack component is up (once per session) and return its connection facts."""
    if name not in _started:
        ctx = Context.default()
        try:
            facts = COMPONENTS[name].up(ctx)
        except (StackError, subprocess.CalledProcessError, OSError) as exc:
            message = f"stack component {name!r} is not available: {exc}"
            if in_ci():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        merged = load_facts(ctx)
        merged.update(facts)
        save_facts(ctx, merged)
        _started[name] = facts
    return _started[name]
