"""The local test stack: real PostgreSQL, Redis, MariaDB, moto and a Kubernetes control plane.

Each component module exposes ``up(ctx) -> dict`` (idempotent; returns the connection facts),
``down(ctx)`` (stops only what this stack started, by pid) and ``status(ctx) -> str | None``.
Run ``python -m devstack up|down|status|env [component ...]``.
"""
