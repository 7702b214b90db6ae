"""The Route 53 adapter and the ownership rules, against the moto server (through a faulting proxy where
throttling or slow propagation is needed)."""

import pytest
from django.core.exceptions import ValidationError

from environments.hostnames import route53
from environments.hostnames.names import ownership_name, ownership_value, pattern_errors, render_hostname
from environments.hostnames.ownership import FOREIGN, FREE, OURS, HostnameTaken, check_available, claim_of
from environments.hostnames.route53 import Change, RecordSet
from portal import aws

pytestmark = [pytest.mark.integration]


def cname(name, target="lb.example.net", ttl=60):
    return RecordSet(name=name, type="CNAME", ttl=ttl, values=(target,))


def marker(name, environment_id, owner):
    return RecordSet(name=ownership_name(name), type="TXT", ttl=60, values=(ownership_value(environment_id, owner),))


def zone_records(zone_id):
    return {(r.name, r.type): r for r in route53.iter_records(zone_id)}


def host(zone, label):
    return f"{label}.{zone['name'].rstrip('.')}"


@pytest.mark.parametrize(("pattern", "message"), [
    ("{environment}.{zone}", None),
    ("{environment}-{stage}.{team}.{zone}", None),
    ("{team}.{zone}", "must contain {environment}"),
    ("{environment}.example.com", "must end with '.{zone}'"),
    ("{environment}.{owner}.{zone}", "Unknown placeholder {owner}"),
    ("{environment!r}.{zone}", "no format specs"),
    ("{environment}_x.{zone}", "Outside placeholders"),
    ("{environment.{zone}", "malformed"),
])
def test_hostname_patterns_are_validated(pattern, message):
    errors = pattern_errors(pattern)
    assert (errors == []) if message is None else (message in errors[0])


def test_rendered_names_are_validated():
    assert render_hostname("{environment}.{team}.{zone}", environment="qa-1", team="payments", stage="qa",
                           cluster="local", zone="apps.example.com") == "qa-1.payments.apps.example.com"
    with pytest.raises(ValidationError, match=r"label '.*' must be 1-63"):
        render_hostname("{environment}-{team}.{zone}", environment="e" * 40, team="t" * 30, stage="qa",
                        cluster="c", zone="example.com")


def test_zone_lookup_by_name_and_id_and_not_found(route53_zone):
    zone_id = route53_zone["id"].split("/")[-1]
    assert route53.find_zone(route53_zone["name"]) == (zone_id, route53_zone["name"].rstrip("."))
    assert route53.find_zone(route53_zone["id"]) == (zone_id, route53_zone["name"].rstrip("."))
    with pytest.raises(route53.ZoneNotFound, match=r"no hosted zone named nowhere-at-all\.test"):
        route53.find_zone("nowhere-at-all.test")
    with pytest.raises(route53.ZoneNotFound, match="ZDOESNOTEXIST was not found"):
        route53.find_zone("ZDOESNOTEXIST")


def test_upsert_update_delete_with_ownership_txt(route53_zone):
    zone_id, name = route53_zone["id"], host(route53_zone, "web")
    assert claim_of(zone_id, name, owner="me").state == FREE
    first = route53.change(zone_id, [[Change("UPSERT", cname(name)), Change("UPSERT", marker(name, 7, "me"))]])
    route53.wait_insync(first.change_ids)
    records = zone_records(zone_id)
    assert records[(name, "CNAME")].values == ("lb.example.net",)
    assert records[(ownership_name(name), "TXT")].values == ('"heritage=slipway,slipway/owner=me,'
                                                              'slipway/environment=7"',)
    claim = claim_of(zone_id, name, owner="me")
    assert (claim.state, claim.environment_id) == (OURS, 7)
    # Update: the same name to a new target, record and marker in one batch.
    route53.change(zone_id, [[Change("UPSERT", cname(name, "lb2.example.net")), Change("UPSERT", marker(name, 7, "me"))]])
    assert zone_records(zone_id)[(name, "CNAME")].values == ("lb2.example.net",)
    # Another instance sees the name as foreign, and its sweeper/destroy would delete nothing.
    from environments.hostnames.ownership import delete_group

    other = claim_of(zone_id, name, owner="other-instance")
    assert other.state == FOREIGN and other.owner == "me"
    assert delete_group(other, environment_id=None) == []
    # Delete: exactly the record and its marker.
    route53.change(zone_id, [delete_group(claim_of(zone_id, name, owner="me"), environment_id=7)])
    assert (name, "CNAME") not in zone_records(zone_id) and (ownership_name(name), "TXT") not in zone_records(zone_id)


def test_foreign_names_are_refused(route53_zone):
    zone_id = route53_zone["id"]
    unmanaged, other_owner = host(route53_zone, "legacy"), host(route53_zone, "theirs")
    route53.change(zone_id, [[Change("CREATE", RecordSet(name=unmanaged, type="A", ttl=300, values=("10.0.0.1",)))],
                             [Change("UPSERT", cname(other_owner)), Change("UPSERT", marker(other_owner, 3, "them"))]])
    with pytest.raises(HostnameTaken, match="already exists in the zone \\(A\\) and was not created by Slipway"):
        check_available(zone_id, unmanaged, environment_id=None, live_environment_ids=set())
    with pytest.raises(HostnameTaken, match="another Slipway instance \\(owner 'them'\\)"):
        check_available(zone_id, other_owner, environment_id=None, live_environment_ids=set())


def test_large_change_sets_are_split_within_route53_limits(route53_zone):
    zone_id = route53_zone["id"]
    groups = [[Change("UPSERT", cname(host(route53_zone, f"n{i}"))),
               Change("UPSERT", marker(host(route53_zone, f"n{i}"), i, "me"))] for i in range(600)]
    # One batch of 1,200 UPSERTs is beyond the limit: Route 53 (and moto) reject it outright.
    with pytest.raises(Exception, match="InvalidChangeBatch"):
        aws.client("route53").change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Changes": [c.to_api() for g in groups for c in g]})
    batches = route53.split_batches(groups)
    assert [len(b) for b in batches] == [500, 500, 200]  # UPSERT counts twice: 1,000 per batch
    result = route53.change(zone_id, groups)
    assert result.batches == 3 and len(result.change_ids) == 3
    route53.wait_insync(result.change_ids)
    records = zone_records(zone_id)
    assert sum(1 for (_, t) in records if t == "CNAME") == 600 and sum(1 for (_, t) in records if t == "TXT") == 600
    # Deleting counts once per record, but 32,000 characters of values per batch also bind: still two
    # batches, each within every limit, and each name's pair kept together.
    deletes = [[Change("DELETE", c.record) for c in g] for g in groups]
    batches = route53.split_batches(deletes)
    assert len(batches) == 2 and sum(map(len, batches)) == 1200
    for batch in batches:
        assert len(batch) <= 1000 and sum(c.weight() for c in batch) <= 1000
        assert sum(c.chars() for c in batch) <= 32000 and len(batch) % 2 == 0
        assert all(batch[i + 1].record.name == "_slipway." + batch[i].record.name for i in range(0, len(batch), 2))
    assert route53.change(zone_id, deletes).batches == 2
    assert not [k for k in zone_records(zone_id) if k[1] in ("CNAME", "TXT")]


@pytest.mark.parametrize("code", ["Throttling", "PriorRequestNotComplete"])
def test_throttling_is_retried_with_back_off(route53_zone, route53_proxy, code):
    name = host(route53_zone, "busy")
    route53_proxy.throttle("ChangeResourceRecordSets", 3, code=code)
    result = route53.change(route53_zone["id"], [[Change("UPSERT", cname(name)),
                                                  Change("UPSERT", marker(name, 1, "me"))]])
    assert route53_proxy.calls.count("ChangeResourceRecordSets") == 4 and route53_proxy.injected == 3
    route53.wait_insync(result.change_ids)
    assert (name, "CNAME") in zone_records(route53_zone["id"])


def test_throttling_that_never_stops_fails_clearly_with_nothing_written(route53_zone, route53_proxy, settings):
    settings.SLIPWAY_ROUTE53_RETRY_ATTEMPTS = 4
    name = host(route53_zone, "never")
    route53_proxy.throttle("ChangeResourceRecordSets", 100)
    with pytest.raises(route53.Route53Error, match="kept refusing change_resource_record_sets with Throttling "
                                                   "\\(Rate exceeded\\) after 4 attempts; nothing was changed"):
        route53.change(route53_zone["id"], [[Change("UPSERT", cname(name)), Change("UPSERT", marker(name, 1, "me"))]])
    assert route53_proxy.calls.count("ChangeResourceRecordSets") == 4
    route53_proxy.faults.clear()
    assert claim_of(route53_zone["id"], name).state == FREE


def test_wait_insync_polls_get_change_until_insync(route53_zone, route53_proxy):
    name = host(route53_zone, "slow")
    result = route53.change(route53_zone["id"], [[Change("UPSERT", cname(name))]])
    route53_proxy.pending(2)
    route53.wait_insync(result.change_ids, timeout=60)
    assert route53_proxy.calls.count("GetChange") == 3


def test_wait_insync_times_out_with_a_clear_message(route53_zone, route53_proxy):
    result = route53.change(route53_zone["id"], [[Change("UPSERT", cname(host(route53_zone, "stuck")))]])
    route53_proxy.pending(10_000)
    with pytest.raises(route53.ChangeTimeout, match=r"not INSYNC after 0s.*Re-running converges"):
        route53.wait_insync(result.change_ids, timeout=0)
