"""Rows for the schedule part's tests: an environment with a known current revision (no rollout), and
measured runs made directly in the database."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.utils import timezone

from clusters.models import Cluster
from environments.chaos.models import ChaosExperiment, ChaosRun
from environments.models import Blueprint, Environment, EnvironmentRevision

SNAPSHOT = {
    "components": [{"name": "web", "replicas": 4}, {"name": "api", "replicas": 2}, {"name": "solo", "replicas": 1}],
    "backing_services": [{"kind": "mariadb", "name": "db"}, {"kind": "redis", "name": "cache"},
                         {"kind": "s3", "name": "files"}],
}
_numbers = count(1)


def make_environment(name: str, *, team, owner=None, stage: str = "qa", status: str = Environment.READY,
                     snapshot: dict | None = None) -> Environment:
    cluster, _ = Cluster.objects.get_or_create(name="sched-local", defaults={"kind": "local"})
    blueprint, _ = Blueprint.objects.get_or_create(name="sched-shop", version=1)
    environment = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", blueprint=blueprint,
                                             stage=stage, team=team, owner=owner, status=status)
    new_revision(environment, snapshot or SNAPSHOT)
    return environment


def new_revision(environment: Environment, snapshot: dict | None = None) -> EnvironmentRevision:
    number = (environment.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    revision = EnvironmentRevision.objects.create(environment=environment, number=number,
                                                  snapshot=snapshot or SNAPSHOT, message=f"r{number}")
    Environment.objects.filter(pk=environment.pk).update(current_revision=revision)
    environment.current_revision = revision
    return revision


def make_experiment(environment: Environment, **fields) -> ChaosExperiment:
    values = {"name": f"exp-{next(_numbers)}", "fault": ChaosExperiment.POD_KILL, "target": "web"} | fields
    return ChaosExperiment.objects.create(environment=environment, **values)


def make_run(experiment: ChaosExperiment, *, seconds: float | None, availability: float | None = 100.0,
             status: str = ChaosRun.RECOVERED, revision: EnvironmentRevision | None = None, slo: int = 30,
             fault: str | None = None, finished_ago: float = 0.0) -> ChaosRun:
    """A finished run as the engine records one (``within_slo`` from ``seconds`` and ``slo``)."""
    revision = revision or experiment.environment.current_revision
    finished = timezone.now() - timedelta(seconds=finished_ago)
    measured = status in ChaosRun.MEASURED
    return ChaosRun.objects.create(
        experiment=experiment, environment=experiment.environment, revision=revision,
        revision_number=revision.number, status=status, fault=fault or experiment.fault, slo_seconds=slo,
        recovery_seconds=seconds, availability_percent=availability if measured else None,
        within_slo=(seconds is not None and seconds <= slo and status == ChaosRun.RECOVERED) if measured else None,
        finished_at=finished)
