"""Rows for the query-count tests: every batch adds ``n`` of each listed thing, each with its own team,
owner, cluster, blueprint, components and related rows, so a list that loads a relation per row (an N+1)
runs more queries for a bigger batch. Written directly (no rollouts, no Kubernetes)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.contrib.auth.models import Group
from django.utils import timezone

from clusters.models import Cluster, TerraformRun
from environments.models import (
    Blueprint,
    ChaosExperiment,
    ChaosRun,
    ClusterDns,
    Component,
    CostSample,
    Environment,
    EnvironmentRequest,
    EnvironmentRevision,
    HostnameRecord,
    ImageVersion,
    Orphan,
    QuotaPolicy,
    Registry,
    Rollout,
    SleepSchedule,
    TeamBudget,
)
from migrations_tool.models import DataCopy, DataServer, DataStore
from portal.accounts import roles
from portal.accounts.models import Team
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from tests.factories import UserFactory

_batches = count(1)


def add_rows(n: int, *, home_team: Team) -> None:
    """``n`` of everything; half of them in ``home_team`` (so a team member's lists grow too)."""
    batch = next(_batches)
    now = timezone.now()
    developers = Group.objects.get(name=roles.DEVELOPERS)
    for i in range(n):
        tag = f"b{batch}x{i}"
        team = home_team if i % 2 else Team.objects.create(slug=f"team-{tag}", name=f"Team {tag}")
        owner = UserFactory(username=f"owner-{tag}", teams=[team])
        owner.groups.add(developers)
        cluster = Cluster.objects.create(name=f"cl-{tag}", kind="local", created_by=owner)
        registry = Registry.objects.create(name=f"reg-{tag}", kind=Registry.V2, url=f"https://reg-{tag}.example.test")
        components = []
        for c in range(2):
            component = Component.objects.create(name=f"svc-{tag}-{c}", image_repository=f"example.test/{tag}/{c}",
                                                 registry=registry)
            ImageVersion.objects.create(component=component, tag="1.0.0")
            components.append(component)
        blueprint = Blueprint.objects.create(name=f"bp-{tag}", version=1)
        blueprint.components.set(components)
        environment = Environment.objects.create(
            name=f"env-{tag}", cluster=cluster, namespace=f"slw-env-{tag}", blueprint=blueprint, team=team,
            owner=owner, status=Environment.READY, hostname=f"env-{tag}.example.test")
        revision = EnvironmentRevision.objects.create(
            environment=environment, number=1, created_by=owner,
            snapshot={"components": [{"name": c.name, "replicas": 1, "image": c.image_repository, "tag": "1.0.0"}
                                     for c in components], "backing_services": []})
        Environment.objects.filter(pk=environment.pk).update(current_revision=revision)
        job = Job.objects.create(kind="rollout", title=f"Roll out env-{tag}", team=team, started_by=owner,
                                 state=Job.SUCCEEDED, target_type="environments.environment",
                                 target_id=str(environment.pk), target_repr=environment.name)
        Rollout.objects.create(environment=environment, revision=revision, job=job)
        experiment = ChaosExperiment.objects.create(environment=environment, name=f"exp-{tag}",
                                                    fault=ChaosExperiment.POD_KILL, target=components[0].name)
        ChaosRun.objects.create(experiment=experiment, environment=environment, revision=revision,
                                revision_number=1, started_by=owner, status=ChaosRun.RECOVERED,
                                fault=ChaosExperiment.POD_KILL, slo_seconds=30, recovery_seconds=3.0,
                                availability_percent=100.0, within_slo=True, finished_at=now)
        server = DataServer.objects.create(cluster=cluster, kind="redis", host="127.0.0.1", port=6379)
        DataStore.objects.create(environment=environment, name=f"cache-{tag}", kind="redis", server=server,
                                 placement=DataStore.SHARED)
        copy_job = Job.objects.create(kind="data_copy", title=f"Copy to env-{tag}", team=team, started_by=owner,
                                      state=Job.SUCCEEDED)
        DataCopy.objects.create(source=environment, target=environment, team=team, stores=["redis"],
                                job=copy_job, started_by=owner, state=DataCopy.VERIFIED)
        TerraformRun.objects.create(cluster=cluster, action=TerraformRun.PLAN, started_by=owner)
        CostSample.objects.create(kind=CostSample.PODS, cluster=cluster, environment=environment, team=team,
                                  owner=owner, stage="qa", started_at=now - timedelta(hours=1), ended_at=now,
                                  seconds=3600, cpu_cores=0.5, cost=Decimal("0.25"))
        EnvironmentRequest.objects.create(requested_by=owner, name=f"req-{tag}", cluster=cluster,
                                          blueprint=blueprint, stage="prod", team=team)
        SleepSchedule.objects.create(environment=environment, updated_by=owner)
        Orphan.objects.create(kind=Orphan.NAMESPACE, location=cluster.name, name=f"slw-gone-{tag}",
                              last_seen_at=now, monthly_cost=Decimal("1.5"))
        ClusterDns.objects.create(cluster=cluster, zone_id=f"Z{tag}", zone_name=f"{tag}.example.test",
                                  target=f"lb-{tag}.example.test", updated_by=owner)
        HostnameRecord.objects.create(environment=environment, name=f"env-{tag}.example.test", type="CNAME",
                                      value=f"lb-{tag}.example.test", state=HostnameRecord.LIVE)
        if team != home_team:
            TeamBudget.objects.create(team=team, monthly_amount=Decimal("100"), updated_by=owner)
            QuotaPolicy.objects.create(team=team, max_per_user=5, max_per_team=20, updated_by=owner)
        AuditEvent.objects.create(actor_id=owner.pk, actor_name=owner.username, team_slug=team.slug,
                                  action="environment.create", object_type="environments.environment",
                                  object_id=str(environment.pk), object_repr=environment.name)
