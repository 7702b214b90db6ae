"""The same authorization on the paths that are not pages or API endpoints (issue 14, class 5):
management commands acting ``--as`` a user, and the Celery task's re-check before it acts."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import CommandError, call_command

from environments.models import Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job

from .test_permission_matrix import VERSIONS, world  # noqa: F401  (the shared world fixture)


def _document(world, *, team, stage="qa", name="cli-env") -> str:  # noqa: F811
    return yaml.safe_dump({
        "apiVersion": "slipway.io/v1", "kind": "Environment",
        "metadata": {"name": name, "team": team.slug, "stage": stage, "cluster": world["cluster"].name},
        "spec": {"blueprint": {"name": "shop", "version": 1}, "versions": dict(VERSIONS)}})


@pytest.mark.parametrize(("target", "stage"), [("other", "qa"), ("own", "prod")])
def test_apply_environment_as_a_developer_is_judged_by_the_target_team(world, tmp_path, target, stage):  # noqa: F811
    team = world["target"][target][0]
    path = tmp_path / "env.yaml"
    path.write_text(_document(world, team=team, stage=stage))
    with pytest.raises(CommandError, match="Not allowed"):
        call_command("apply_environment", str(path), "--yes", "--as", world["people"]["developer"].username)
    assert not Environment.objects.filter(name="cli-env").exists()
    path.write_text(_document(world, team=world["target"]["own"][0]))
    call_command("apply_environment", str(path), "--yes", "--as", world["people"]["developer"].username)
    assert Environment.objects.get(name="cli-env").team == world["target"]["own"][0]


def test_a_queued_job_rechecks_its_starter_before_acting(world, django_capture_on_commit_callbacks):  # noqa: F811
    """A developer queues a rollout, then loses their role before a worker picks it up: nothing is done."""
    developer = world["people"]["developer"]
    own_team = world["target"]["own"][0]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        environment = environment_create(actor=Actor.for_user(developer), user=developer, cluster=world["cluster"],
                                         blueprint=world["blueprint"], name="queued-env", stage="qa", team=own_team,
                                         versions=dict(VERSIONS))
    developer.groups.clear()
    for callback in queued:
        callback()  # the worker runs the task (eager Celery)
    job = environment.rollouts.get().job
    job.refresh_from_db()
    assert job.state == Job.FAILED
    assert "may no longer do this" in job.error
    assert AuditEvent.objects.filter(action="job.failed", object_id=str(job.pk), actor_name=developer.username).exists()


def test_a_manager_cannot_trigger_a_drift_check_that_writes(world):  # noqa: F811
    from django.core.exceptions import PermissionDenied

    from environments.drift_checks import environment_drift_check

    environment = world["objects"]["env"]["own"]
    with pytest.raises(PermissionDenied):
        environment_drift_check(actor=Actor.for_user(world["people"]["manager"]), user=world["people"]["manager"],
                                environment=environment)
    environment.refresh_from_db()
    assert environment.drift_checked_at is None


def test_terraform_internals_are_shown_only_to_those_who_read_runs(world, client):  # noqa: F811
    """The cluster page hides runs, the state and its lock from QA and Developers, as the run pages do."""
    cluster = world["cluster"]
    cluster.managed_by_terraform = True
    cluster.save()
    for role, shown in (("developer", False), ("qa", False), ("manager", True), ("admin", True)):
        client.force_login(world["people"][role])
        page = client.get(f"/clusters/{cluster.pk}/").content.decode()
        assert ('id="cluster-runs"' in page) is shown and ('id="cluster-state"' in page) is shown, role
        assert client.get(f"/clusters/runs/{world['objects']['run'].pk}/").status_code == (200 if shown else 404)
