"""The chaos benchmark's view of Slipway's REST API: environments and chaos, by URL, over HTTP.

The one place that knows the chaos endpoints' paths and bodies (environments/chaos/api_urls.py).
"""

from __future__ import annotations

from typing import Any

from bench.bench_stack import Api, wait_until

ENV_READY_TIMEOUT = 300.0
# A run's statuses (environments.chaos.models.ChaosRun): the active ones, the measured ones.
ACTIVE = {"queued", "running"}
MEASURED = {"recovered", "unrecovered"}


class SlipwayApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    # -- environments ---------------------------------------------------------------------------

    def environment_create(self, *, name: str, cluster: str, blueprint: int, team: str,
                           versions: dict[str, str]) -> dict:
        return self.api.post("/api/v1/environments/", {"name": name, "cluster": cluster, "blueprint": blueprint,
                                                       "stage": "qa", "team": team, "versions": versions})

    def environment(self, pk: int) -> dict:
        return self.api.get(f"/api/v1/environments/{pk}/")

    def environment_wait_ready(self, pk: int) -> dict:
        def ready() -> dict | None:
            environment = self.environment(pk)
            if environment["status"] == "failed":
                raise RuntimeError(f"environment {environment['name']} failed: {environment['status_message']}")
            return environment if environment["status"] == "ready" else None

        return wait_until(ready, timeout=ENV_READY_TIMEOUT, what=f"environment {pk} to be ready", every=0.5)

    # -- chaos ----------------------------------------------------------------------------------

    def chaos_opt_in(self, environment: int) -> dict:
        return self.api.patch(f"/api/v1/environments/{environment}/chaos/settings/", {"enabled": True})

    def experiment_create(self, environment: int, **fields: Any) -> dict:
        return self.api.post(f"/api/v1/environments/{environment}/chaos/experiments/", fields)

    def experiment_pause(self, experiment: int, paused: bool = True) -> dict:
        return self.api.post(f"/api/v1/chaos/experiments/{experiment}/pause/", {"paused": paused})

    def run_start(self, experiment: int) -> dict:
        return self.api.post(f"/api/v1/chaos/experiments/{experiment}/run/")

    def run(self, pk: int) -> dict:
        return self.api.get(f"/api/v1/chaos/runs/{pk}/")

    def runs(self, *, environment: int | None = None) -> list[dict]:
        query = f"?environment={environment}" if environment is not None else ""
        return self.api.all_pages(f"/api/v1/chaos/runs/{query}")

    def run_wait_ended(self, pk: int, *, timeout: float = 180.0) -> dict:
        def ended() -> dict | None:
            run = self.run(pk)
            return run if run["status"] not in ACTIVE else None

        return wait_until(ended, timeout=timeout, what=f"chaos run {pk} to end", every=0.2)

    def kill_switch_environment(self, environment: int, engage: bool) -> dict:
        return self.api.post(f"/api/v1/environments/{environment}/chaos/kill-switch/", {"engage": engage})

    def kill_switch_global(self, engage: bool, reason: str = "") -> dict:
        return self.api.post(f"/api/v1/chaos/kill-switch/{'engage' if engage else 'release'}/", {"reason": reason})

    def schedule_refusals(self) -> list[dict]:
        """Scheduled starts the engine refused before a run existed (audit events ``chaos.run_skipped``)."""
        return self.api.all_pages("/api/v1/audit-events/?action=chaos.run_skipped")

    def no_active_runs(self, *, timeout: float) -> list[dict]:
        """Every run, once none is queued or running (scheduled ones included)."""
        def settled() -> list[dict] | None:
            runs = self.runs()
            return runs if not any(r["status"] in ACTIVE for r in runs) else None

        return wait_until(settled, timeout=timeout, what="every chaos run to end", every=1.0)
