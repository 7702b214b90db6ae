"""Hostname use cases and the job steps (publish, release, sweep) against the moto server."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from environments.hostnames import route53
from environments.hostnames.models import ClusterDns, DnsSweep, HostnameRecord
from environments.hostnames.names import owner_id, ownership_name, ownership_value
from environments.hostnames.publishing import hostnames_publish, hostnames_release
from environments.hostnames.route53 import Change, RecordSet
from environments.hostnames.services import (
    cluster_dns_set,
    environment_extra_hostnames_set,
    environment_hostname_change,
)
from environments.hostnames.sweep import sweep_zone
from environments.models import Blueprint, Environment
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job
from portal.jobs.reporting import JobReporter

pytestmark = [pytest.mark.integration]
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


def zone_name(route53_zone):
    return route53_zone["name"].rstrip(".")


def records(route53_zone):
    return {(r.name, r.type): r for r in route53.iter_records(route53_zone["id"])}


def create(user, team, cluster, name):
    return environment_create(actor=Actor.for_user(user), user=user, cluster=cluster,
                              blueprint=Blueprint.objects.get(name="shop"), name=name, stage="qa", team=team,
                              versions=dict(VERSIONS))


def publish(environment, actor=None):
    job = Job.objects.create(kind="test", title="publish")
    return hostnames_publish(environment=environment, reporter=JobReporter(job), actor=actor or Actor.system("test"))


def release(environment):
    job = Job.objects.create(kind="test", title="release")
    return hostnames_release(environment=environment, reporter=JobReporter(job), actor=Actor.system("test"))


def foreign(route53_zone, label, *, owner=None):
    """A name someone else made: a plain CNAME, or one with another Slipway instance's ownership TXT."""
    name = f"{label}.{zone_name(route53_zone)}"
    group = [Change("UPSERT", RecordSet(name=name, type="CNAME", ttl=300, values=("elsewhere.example.org",)))]
    if owner:
        group.append(Change("UPSERT", RecordSet(name=ownership_name(name), type="TXT", ttl=300,
                                                values=(ownership_value(99, owner),))))
    route53.change(route53_zone["id"], [group])
    return name


def test_cluster_dns_settings_are_validated(users, dns_cluster, route53_zone):
    admin, actor = users["admin"], Actor.for_user(users["admin"])
    good = {"zone": route53_zone["id"], "hostname_pattern": "{environment}.{zone}", "record_type": "CNAME",
            "target": "lb.example.net", "ttl": 30}
    with pytest.raises(PermissionDenied):
        cluster_dns_set(actor=Actor.for_user(users["qa"]), user=users["qa"], cluster=dns_cluster, **good)
    bad = [({"zone": "no-such-zone.test"}, "zone", "Route 53 has no hosted zone named no-such-zone.test"),
           ({"zone": "ZNOPE"}, "zone", "Hosted zone ZNOPE was not found"),
           ({"hostname_pattern": "{team}.{zone}"}, "hostname_pattern", "must contain {environment}"),
           ({"hostname_pattern": "{environment}.{bogus}.{zone}"}, "hostname_pattern", "Unknown placeholder"),
           ({"hostname_pattern": "{environment}-{team}-{stage}-{cluster}.{zone}"}, "hostname_pattern",
            "longest environment and team names"),
           ({"record_type": "ALIAS"}, "target_zone_id", "needs the load balancer's hosted zone id"),
           ({"target": "not a host"}, "target", "invalid"), ({"ttl": -1}, "ttl", "TTL")]
    for change, field, message in bad:
        with pytest.raises(ValidationError) as caught:
            cluster_dns_set(actor=actor, user=admin, cluster=dns_cluster, **(good | change))
        assert message in " ".join(caught.value.message_dict[field]), (change, caught.value.message_dict)
    assert ClusterDns.objects.get(cluster=dns_cluster).hostname_pattern == "{environment}.{team}.{zone}"
    dns = cluster_dns_set(actor=actor, user=admin, cluster=dns_cluster, **good)
    assert (dns.zone_id, dns.zone_name, dns.ttl) == (route53_zone["id"].split("/")[-1], zone_name(route53_zone), 30)
    event = AuditEvent.objects.filter(action="cluster.dns_set", outcome="success").order_by("pk").last()
    assert event.details["after"]["hostname_pattern"] == "{environment}.{zone}"


def test_create_computes_the_name_and_the_rollout_step_writes_it_with_ownership(users, team, dns_cluster,
                                                                               route53_zone):
    environment = create(users["qa"], team, dns_cluster, "qa-1")
    name = f"qa-1.payments.{zone_name(route53_zone)}"
    assert environment.hostname == name
    row = environment.hostname_records.get()
    assert (row.name, row.state, row.type, row.value, row.owned) == (name, "pending", "CNAME",
                                                                     "ingress-lb.elb.example.net", True)
    change_ids = publish(environment)
    assert change_ids
    zone = records(route53_zone)
    assert zone[(name, "CNAME")].values == ("ingress-lb.elb.example.net",) and zone[(name, "CNAME")].ttl == 60
    assert zone[(ownership_name(name), "TXT")].values == (
        f'"heritage=slipway,slipway/owner={owner_id()},slipway/environment={environment.pk}"',)
    row.refresh_from_db()
    assert row.state == "live" and row.change_id == change_ids[0] and row.synced_at
    event = AuditEvent.objects.get(action="hostnames.publish")
    assert event.details["change_ids"] == change_ids and event.object_id == str(environment.pk)
    assert publish(environment) == []  # converged: a re-run writes nothing
    # A re-run after a crash between the Route 53 change and the database update converges too.
    HostnameRecord.objects.filter(pk=row.pk).update(state="pending")
    assert publish(environment) == [] and HostnameRecord.objects.get(pk=row.pk).state == "live"
    assert release(environment)
    assert not [k for k in records(route53_zone) if k[1] in ("CNAME", "TXT")]
    assert not HostnameRecord.objects.exists()
    assert AuditEvent.objects.get(action="hostnames.release").details["deleted"] == [name]


@pytest.mark.parametrize("owner", [None, "another-slipway"])
def test_create_refuses_a_foreign_name_and_creates_nothing(users, team, dns_cluster, route53_zone, owner):
    name = foreign(route53_zone, "qa-2.payments", owner=owner)
    before = records(route53_zone)
    with pytest.raises(ValidationError) as caught:
        create(users["qa"], team, dns_cluster, "qa-2")
    message = caught.value.message_dict["name"][0]
    assert name in message and "never overwrites" in message
    assert ("another Slipway instance (owner 'another-slipway')" in message) == bool(owner)
    assert not Environment.objects.exists() and not HostnameRecord.objects.exists() and not Job.objects.exists()
    assert records(route53_zone) == before
    assert AuditEvent.objects.get(action="environment.create").outcome == "failure"


def test_a_name_taken_after_create_fails_the_publish_with_nothing_written(users, team, dns_cluster, route53_zone):
    first = create(users["qa"], team, dns_cluster, "qa-3")
    first.hostname_records.create(name=f"www.{zone_name(route53_zone)}", type="CNAME", value="lb", extra=True,
                                  zone_id=first.hostname_records.get().zone_id)
    foreign(route53_zone, "www")
    before = records(route53_zone)
    with pytest.raises(Exception, match="was not created by Slipway"):
        publish(first)
    assert records(route53_zone) == before  # the primary name was not written either
    assert set(first.hostname_records.values_list("state", flat=True)) == {"pending"}


def test_two_instances_sharing_a_zone_never_touch_each_others_records(users, team, dns_cluster, route53_zone,
                                                                      settings):
    settings.SLIPWAY_DNS_OWNER_ID = "alpha"
    alpha_env = create(users["qa"], team, dns_cluster, "shared")
    publish(alpha_env)
    name = alpha_env.hostname
    # Instance "beta" has its own database: it knows nothing of alpha's environment, only the zone.
    settings.SLIPWAY_DNS_OWNER_ID = "beta"
    HostnameRecord.objects.all().delete()
    Environment.objects.filter(pk=alpha_env.pk).update(status=Environment.DESTROYED)
    report = sweep_zone(zone_id=route53_zone["id"], zone_name=zone_name(route53_zone), remove=True)
    assert (report.owned, report.foreign, report.orphans, report.change_ids) == (0, 1, [], [])
    with pytest.raises(ValidationError, match="another Slipway instance \\(owner 'alpha'\\)"):
        create(users["qa"], team, dns_cluster, "shared")
    assert records(route53_zone)[(name, "CNAME")]
    # Back as alpha, the same name is alpha's own orphan: the sweeper finds it and (enabled) removes it.
    settings.SLIPWAY_DNS_OWNER_ID = "alpha"
    report = sweep_zone(zone_id=route53_zone["id"], zone_name=zone_name(route53_zone), remove=True)
    assert report.owned == 1 and [o["name"] for o in report.orphans] == [name] and report.change_ids
    assert (name, "CNAME") not in records(route53_zone)


def test_sweeper_reports_orphans_and_removes_them_only_when_enabled(users, team, dns_cluster, route53_zone, admin_api):
    kept = create(users["qa"], team, dns_cluster, "kept")
    lost = create(users["qa"], team, dns_cluster, "lost")
    publish(kept)
    publish(lost)
    # "lost" went away without its destroy job releasing the names (e.g. deleted by hand).
    lost.hostname_records.all().delete()
    Environment.objects.filter(pk=lost.pk).update(status=Environment.DESTROYED)
    unmanaged = foreign(route53_zone, "legacy")
    theirs = foreign(route53_zone, "theirs", owner="another-slipway")
    report = sweep_zone(zone_id=route53_zone["id"], zone_name=zone_name(route53_zone), remove=False)
    assert [o["name"] for o in report.orphans] == [lost.hostname] and report.owned == 2 and report.foreign == 2
    assert (lost.hostname, "CNAME") in records(route53_zone)  # report only
    report = sweep_zone(zone_id=route53_zone["id"], zone_name=zone_name(route53_zone), remove=True)
    zone = records(route53_zone)
    assert (lost.hostname, "CNAME") not in zone and (ownership_name(lost.hostname), "TXT") not in zone
    assert (kept.hostname, "CNAME") in zone and (unmanaged, "CNAME") in zone and (theirs, "CNAME") in zone
    assert report.change_ids and report.orphans[0]["removed"] is True
    assert DnsSweep.objects.count() == 2


def test_extra_hostnames_and_adopted_names(users, team, dns_cluster, route53_zone):
    qa, admin = users["qa"], users["admin"]
    environment = create(qa, team, dns_cluster, "extras")
    zone = zone_name(route53_zone)
    a, b = f"a.{zone}", f"b.{zone}"
    rollout = environment_extra_hostnames_set(actor=Actor.for_user(qa), user=qa, environment=environment, names=[a, b])
    assert rollout.revision == environment.current_revision and rollout.job.kind == "rollout"
    publish(environment)
    assert {(a, "CNAME"), (b, "CNAME"), (ownership_name(a), "TXT")} <= set(records(route53_zone))
    environment_extra_hostnames_set(actor=Actor.for_user(qa), user=qa, environment=environment, names=[b])
    assert environment.hostname_records.get(name=a).state == "retired"
    publish(environment)
    assert (a, "CNAME") not in records(route53_zone) and (b, "CNAME") in records(route53_zone)
    assert not environment.hostname_records.filter(name=a).exists()
    # Bad names: outside the zone, invalid, someone else's; adopting is for Platform admins.
    taken = foreign(route53_zone, "taken")
    for names, message in [(["x.example.org"], "not inside the hosted zone"), ([f"Bad_Name.{zone}"], "not a valid"),
                           ([taken], "not created by Slipway")]:
        with pytest.raises(ValidationError, match=message):
            environment_extra_hostnames_set(actor=Actor.for_user(qa), user=qa, environment=environment, names=names)
    with pytest.raises(PermissionDenied):
        environment_extra_hostnames_set(actor=Actor.for_user(qa), user=qa, environment=environment, names=[b],
                                        adopted=[taken])
    environment_extra_hostnames_set(actor=Actor.for_user(admin), user=admin, environment=environment, names=[b],
                                    adopted=[taken])
    adopted = environment.hostname_records.get(name=taken)
    assert not adopted.owned
    before = records(route53_zone)
    publish(environment)
    release(environment)
    zone_after = records(route53_zone)
    assert zone_after[(taken, "CNAME")] == before[(taken, "CNAME")]  # adopted: never written or deleted
    assert (b, "CNAME") not in zone_after and (environment.hostname, "CNAME") not in zone_after


def test_hostname_change_moves_the_record(users, team, dns_cluster, route53_zone):
    qa = users["qa"]
    environment = create(qa, team, dns_cluster, "mover")
    old = environment.hostname
    publish(environment)
    new = f"moved.{zone_name(route53_zone)}"
    environment_hostname_change(actor=Actor.for_user(qa), user=qa, environment=environment, hostname=new)
    environment.refresh_from_db()
    assert environment.hostname == new
    publish(environment)
    zone = records(route53_zone)
    assert (new, "CNAME") in zone and (old, "CNAME") not in zone and (ownership_name(old), "TXT") not in zone
    event = AuditEvent.objects.get(action="environment.hostname_change")
    assert (event.details["before"], event.details["after"]) == (old, new)
    # Back to the pattern's name after a settings change: an alias record to a new load balancer now.
    cluster_dns_set(actor=Actor.for_user(users["admin"]), user=users["admin"], cluster=dns_cluster,
                    zone=route53_zone["id"], hostname_pattern="{environment}.{team}.{zone}", record_type="ALIAS",
                    target="new-lb.elb.example.net", target_zone_id="Z35SXDOTRQ7X7K", ttl=60)
    environment_hostname_change(actor=Actor.for_user(qa), user=qa, environment=environment, hostname="")
    environment.refresh_from_db()
    assert environment.hostname == old
    publish(environment)
    zone = records(route53_zone)
    assert dict(zone[(old, "A")].alias_target)["DNSName"].rstrip(".") == "new-lb.elb.example.net"
    assert (new, "CNAME") not in zone and (old, "CNAME") not in zone
    with pytest.raises(ValidationError, match="not inside the hosted zone"):
        environment_hostname_change(actor=Actor.for_user(qa), user=qa, environment=environment, hostname="x.org")


def test_release_leaves_a_name_someone_else_took_over(users, team, dns_cluster, route53_zone):
    environment = create(users["qa"], team, dns_cluster, "takeover")
    publish(environment)
    name = environment.hostname
    route53.change(route53_zone["id"], [[Change("UPSERT", RecordSet(
        name=ownership_name(name), type="TXT", ttl=60, values=(ownership_value(5, "someone-else"),)))]])
    release(environment)
    assert (name, "CNAME") in records(route53_zone)
    assert AuditEvent.objects.get(action="hostnames.release").details["left_alone"] == [name]
    # tidy the zone for the fixture
    claim_owner = [Change("DELETE", r) for k, r in records(route53_zone).items() if k[0] in (name, ownership_name(name))]
    route53.change(route53_zone["id"], [claim_owner])


def test_a_zone_gone_from_route53_is_a_clear_error_at_create(users, team, dns_cluster):
    ClusterDns.objects.filter(cluster=dns_cluster).update(zone_id="ZGONE")
    with pytest.raises(ValidationError) as caught:
        create(users["qa"], team, dns_cluster, "no-zone")
    assert caught.value.message_dict["name"] == ["Hosted zone ZGONE was not found in Route 53."]
    assert not Environment.objects.exists() and not HostnameRecord.objects.exists()


def test_throttled_route53_is_retried_through_create_and_publish(users, team, dns_cluster, route53_zone,
                                                                 route53_proxy, settings):
    route53_proxy.throttle("ListResourceRecordSets", 3)
    route53_proxy.throttle("ChangeResourceRecordSets", 2, code="PriorRequestNotComplete")
    environment = create(users["qa"], team, dns_cluster, "busy")
    publish(environment)
    assert route53_proxy.injected == 5
    assert (environment.hostname, "CNAME") in records(route53_zone)
    release(environment)
    # When Route 53 never stops throttling, the create fails with the reason and nothing exists.
    settings.SLIPWAY_ROUTE53_RETRY_ATTEMPTS = 3
    route53_proxy.throttle("ListResourceRecordSets", 100)
    with pytest.raises(ValidationError, match=r"Rate exceeded\) after 3 attempts"):
        create(users["qa"], team, dns_cluster, "busier")
    assert not Environment.objects.filter(name="busier").exists()
    assert not HostnameRecord.objects.exists()
