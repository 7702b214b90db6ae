"""The stack's components in start order, and the connection facts they publish."""

from __future__ import annotations

import json
from pathlib import Path

from .control_plane import Kube
from .daemons import MariaDB, Moto, Postgres, Redis, Terraform
from .process import Context

COMPONENTS = {c.name: c for c in (Postgres(), Redis(), MariaDB(), Moto(), Terraform(), Kube())}


def facts_path(ctx: Context) -> Path:
    return ctx.root / "facts.json"


def load_facts(ctx: Context) -> dict[str, str]:
    try:
        return json.loads(facts_path(ctx).read_text())
    except FileNotFoundError:
        return {}


def save_facts(ctx: Context, facts: dict[str, str]) -> None:
    facts_path(ctx).write_text(json.dumps(facts, indent=2, sort_keys=True))
