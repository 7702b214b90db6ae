"""Hostname use cases: cluster DNS settings, an environment's hostname and extra hostnames, starting a sweep.

Route 53 is written by the environment's jobs (``publish`` in the rollout, ``release`` in the
destroy, see ``publishing.py``); the use cases here validate against the zone's live content first,
so a name someone else owns is refused before anything is created.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from clusters.models import Cluster
from portal.accounts import authz, rules
from portal.audit.actor import Actor
from portal.audit.services import audited
from portal.jobs.models import Job
from portal.jobs.services import job_create

from ..lifecycle import environment_transition
from ..lifecycle_jobs import rollout_start
from ..models import Environment, Rollout
from . import route53
from .models import ClusterDns, HostnameRecord
from .names import dns_name_errors, normalize, pattern_errors, render_hostname, validate_hostname
from .ownership import HostnameTaken, check_available
from .tasks import dns_sweep_job

MAX_EXTRA_HOSTNAMES = 50  # one environment's names always fit one atomic change batch
MAX_TTL = 86400


def _live_environment_ids() -> set[int]:
    return set(Environment.objects.exclude(status=Environment.DESTROYED).values_list("pk", flat=True))


def _route53_problem(exc: route53.Route53Error, field: str) -> ValidationError:
    return ValidationError({field: [str(exc)]})


def cluster_dns_set(*, actor: Actor, user: Any, cluster: Cluster, zone: str, hostname_pattern: str,
                    record_type: str, target: str, target_zone_id: str = "", ttl: int = 60) -> ClusterDns:
    """Create or change a cluster's hostname settings (Platform admins). The zone is looked up in
    Route 53 (by id or domain); existing environments keep their names until changed."""
    with audited(actor=actor, action="cluster.dns_set", obj=cluster) as scope:
        if not authz.cluster_dns_can(user, authz.CHANGE, cluster):
            raise PermissionDenied("Only Platform admins can change a cluster's hostname settings.")
        errors: dict[str, list[str]] = {}
        if record_type not in (ClusterDns.CNAME, ClusterDns.ALIAS):
            errors["record_type"] = ["Choose CNAME or ALIAS."]
        target = normalize(target)
        if dns_name_errors(target):
            errors["target"] = [f"The ingress load-balancer hostname is invalid: {dns_name_errors(target)[0]}"]
        if record_type == ClusterDns.ALIAS and not target_zone_id.strip():
            errors["target_zone_id"] = ["An alias record needs the load balancer's hosted zone id."]
        if not 0 <= ttl <= MAX_TTL:
            errors["ttl"] = [f"Use a TTL from 0 to {MAX_TTL} seconds."]
        if pattern_errors(hostname_pattern):
            errors["hostname_pattern"] = pattern_errors(hostname_pattern)
        if not zone.strip():
            errors["zone"] = ["Give the hosted zone's id or domain name."]
        if errors:
            raise ValidationError(errors)
        try:
            zone_id, zone_name = route53.find_zone(zone)
        except route53.Route53Error as exc:
            raise _route53_problem(exc, "zone") from exc
        try:
            render_hostname(hostname_pattern, environment="e" * 59, team="t" * 50, stage="staging",
                            cluster=cluster.name, zone=zone_name)
        except ValidationError as exc:
            raise ValidationError({"hostname_pattern": [f"With the longest environment and team names: "
                                                        f"{exc.messages[0]}"]}) from exc
        values = {"zone_id": zone_id, "zone_name": zone_name, "hostname_pattern": hostname_pattern,
                  "record_type": record_type, "target": target, "ttl": ttl, "updated_by_id": actor.user_id,
                  "target_zone_id": target_zone_id.strip() if record_type == ClusterDns.ALIAS else ""}
        before = ClusterDns.objects.filter(cluster=cluster).values(*values).first()
        dns, _ = ClusterDns.objects.update_or_create(cluster=cluster, defaults=values)
        scope.details.update(before=before, after=values)
    return dns


def _row_for(environment_or_none: Environment | None, dns: ClusterDns, name: str, *, extra: bool) -> HostnameRecord:
    return HostnameRecord(environment=environment_or_none, name=name, zone_id=dns.zone_id, ttl=dns.ttl,
                          type="A" if dns.record_type == ClusterDns.ALIAS else "CNAME", value=dns.target,
                          alias=dns.record_type == ClusterDns.ALIAS, alias_zone_id=dns.target_zone_id, extra=extra)


def _check_name(dns: ClusterDns, name: str, *, environment_id: int | None, field: str) -> str:
    """Validate ``name`` in the cluster's zone and check Slipway may write it; ValidationError on ``field``."""
    try:
        name = validate_hostname(name, dns.zone_name)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc
    taken = HostnameRecord.objects.filter(name=name).exclude(state=HostnameRecord.RETIRED)
    if environment_id is not None:
        taken = taken.exclude(environment_id=environment_id)
    other = taken.select_related("environment").first()
    if other is not None:
        raise ValidationError({field: [f"{name} is already used by environment {other.environment.name}."]})
    try:
        check_available(dns.zone_id, name, environment_id=environment_id, live_environment_ids=_live_environment_ids())
    except HostnameTaken as exc:
        raise ValidationError({field: [str(exc)]}) from exc
    except route53.Route53Error as exc:
        raise _route53_problem(exc, field) from exc
    return name


def hostname_for_new_environment(*, cluster: Cluster, name: str, team_slug: str, stage: str) -> str:
    """The hostname a new environment will get ("" when the cluster has no DNS settings), checked free in
    the zone. Raises ValidationError on ``name`` so the create form shows it next to the name."""
    dns = ClusterDns.objects.filter(cluster=cluster).first()
    if dns is None:
        return ""
    try:
        hostname = render_hostname(dns.hostname_pattern, environment=name, team=team_slug, stage=stage,
                                   cluster=cluster.name, zone=dns.zone_name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.messages}) from exc
    return _check_name(dns, hostname, environment_id=None, field="name")


def hostname_reserve(environment: Environment) -> HostnameRecord | None:
    """Record the new environment's hostname for its first rollout to write (inside the create transaction)."""
    if not environment.hostname:
        return None
    row = _row_for(environment, environment.cluster.dns, environment.hostname, extra=False)
    row.save()
    return row


def _retire(rows) -> None:
    for row in rows:
        if row.owned and row.state != HostnameRecord.PENDING:
            row.state = HostnameRecord.RETIRED
            row.save(update_fields=["state"])
        else:
            # Never written (pending) or adopted: nothing in Route 53 to delete.
            row.delete()


def _require(user: Any, environment: Environment) -> ClusterDns:
    if user is not None and not authz.hostname_can(user, authz.CHANGE, environment):
        raise PermissionDenied("You can change hostnames of your own teams' environments only.")
    if environment.status in (Environment.DESTROYING, Environment.DESTROYED):
        raise ValidationError("This environment is being destroyed.")
    dns = ClusterDns.objects.filter(cluster=environment.cluster_id).first()
    if dns is None:
        raise ValidationError(f"Cluster {environment.cluster.name} has no hostname settings; a Platform admin "
                              "sets its hosted zone first.")
    return dns


def _start_rollout(actor: Actor, environment: Environment) -> Rollout:
    environment_transition(environment, Environment.PENDING, actor=actor)
    return rollout_start(actor=actor, environment=environment, revision=environment.current_revision)


def environment_hostname_change(*, actor: Actor, user: Any, environment: Environment, hostname: str = ""):
    """Give the environment a new primary hostname (``""``: recompute from the cluster's pattern, e.g. after a
    rename or a settings change; the names also take the cluster's current record type, target and TTL).
    The old record is deleted and the new one written by the rollout this starts, which also moves the
    Ingress. Returns the rollout."""
    with audited(actor=actor, action="environment.hostname_change", obj=environment,
                 details={"before": environment.hostname}) as scope:
        scope.team_slug = environment.team.slug
        dns = _require(user, environment)
        wanted = hostname.strip() or render_hostname(
            dns.hostname_pattern, environment=environment.name, team=environment.team.slug,
            stage=environment.stage, cluster=environment.cluster.name, zone=dns.zone_name)
        name = _check_name(dns, wanted, environment_id=environment.pk, field="hostname")
        try:
            with transaction.atomic():
                rows = environment.hostname_records.exclude(state=HostnameRecord.RETIRED)
                current = rows.filter(extra=False).first()
                same = current and current.name == name and current.zone_id == dns.zone_id
                if not same:
                    _retire(rows.filter(extra=False))
                    _row_for(environment, dns, name, extra=False).save()
                # Names staying in the zone follow the cluster's current record type, target and TTL.
                template = _row_for(environment, dns, name, extra=False)
                rows.filter(owned=True, zone_id=dns.zone_id).update(
                    type=template.type, value=template.value, alias=template.alias,
                    alias_zone_id=template.alias_zone_id, ttl=template.ttl)
                Environment.objects.filter(pk=environment.pk).update(hostname=name)
                environment.hostname = name
                rollout = _start_rollout(actor, environment)
        except IntegrityError as exc:
            raise ValidationError({"hostname": [f"{name} was just taken by another environment."]}) from exc
        scope.details.update(after=name, job=str(rollout.job_id))
    return rollout


def environment_extra_hostnames_set(*, actor: Actor, user: Any, environment: Environment, names: list[str],
                                    adopted: list[str] | None = None):
    """Set the environment's extra hostnames (the whole list). ``names`` are written in the cluster's zone with
    the same ownership rules as the primary name; ``adopted`` (Platform admins only) are names someone else
    manages: they go on the Ingress but Slipway never writes or deletes them. Returns the rollout."""
    adopted = [normalize(n) for n in adopted or [] if n.strip()]
    with audited(actor=actor, action="environment.extra_hostnames_set", obj=environment,
                 details={"names": names, "adopted": adopted}) as scope:
        scope.team_slug = environment.team.slug
        dns = _require(user, environment)
        if adopted and not rules.is_platform_admin(user):
            raise PermissionDenied("Only Platform admins can adopt names that Slipway does not manage.")
        wanted = list(dict.fromkeys(normalize(n) for n in names if n.strip()))
        if len(wanted) + len(adopted) > MAX_EXTRA_HOSTNAMES:
            raise ValidationError({"names": [f"At most {MAX_EXTRA_HOSTNAMES} extra hostnames per environment."]})
        if environment.hostname in wanted or environment.hostname in adopted:
            raise ValidationError({"names": [f"{environment.hostname} is already the primary hostname."]})
        for name in adopted:
            if dns_name_errors(name):
                raise ValidationError({"adopted": dns_name_errors(name)})
        current = {r.name: r for r in environment.hostname_records.filter(extra=True)
                   .exclude(state=HostnameRecord.RETIRED)}
        new_owned = [n for n in wanted if n not in current or not current[n].owned]
        checked = [_check_name(dns, n, environment_id=environment.pk, field="names") for n in new_owned]
        try:
            with transaction.atomic():
                keep = set(wanted) | set(adopted)
                _retire(r for n, r in current.items() if n not in keep
                        or (n in wanted and not r.owned) or (n in adopted and r.owned))
                for name in checked:
                    _row_for(environment, dns, name, extra=True).save()
                for name in adopted:
                    if name not in current or current[name].owned:
                        HostnameRecord.objects.create(environment=environment, name=name, type="", value="",
                                                      extra=True, owned=False, state=HostnameRecord.LIVE)
                rollout = _start_rollout(actor, environment)
        except IntegrityError as exc:
            raise ValidationError({"names": ["One of the names was just taken by another environment."]}) from exc
        scope.details["job"] = str(rollout.job_id)
    return rollout


def dns_sweep_start(*, actor: Actor, user: Any) -> Job:
    """Start a sweep job (Platform admins; ``user=None`` for the periodic run)."""
    with audited(actor=actor, action="dns.sweep_start") as scope:
        if user is not None and not authz.operations_can(user, authz.CHANGE):
            raise PermissionDenied("Only Platform admins can sweep DNS zones.")
        with transaction.atomic():
            job = job_create(actor=actor, kind="dns-sweep", title="Sweep orphaned DNS records", task=dns_sweep_job)
        scope.obj = job
    return job
