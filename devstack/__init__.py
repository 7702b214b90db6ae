"""The local stack: real PostgreSQL, Redis, MariaDB, moto and a Kubernetes control plane.

`make run` (runportal), the test fixtures (tests/fixtures/) and the benchmarks all start their
servers through this package; it runs before Django is configured and imports nothing of Slipway's.

- ``daemons``: PostgreSQL, Redis, MariaDB, the moto server and the terraform check;
- ``control_plane``: the kwok-based Kubernetes control plane (``python -m devstack.control_plane``
  runs one standalone cluster, as `make run` and the ``local`` Terraform blueprint do);
- ``components``: the components in start order and the connection facts file;
- ``pod_logs``: the container logs kwok serves; ``moto_persistent``: a moto server that keeps its
  state; ``spare_redis``: a throwaway second redis-server; ``process``: pid files and ports.

Each component exposes ``up(ctx) -> dict`` (idempotent; returns the connection facts),
``down(ctx)`` (stops only what this stack started, by pid) and ``status(ctx) -> str | None``.
Run ``python -m devstack up|down|status|env [component ...]``.
"""
