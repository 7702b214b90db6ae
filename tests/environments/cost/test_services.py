"""Price table edits: Platform admins only, every amount validated (nothing written on a refusal), audited
with before/after; the next sample uses the new prices."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clusters.models import Cluster
from environments.cost.prices import prices_for
from environments.cost.services import price_table_update
from environments.models import PriceTable
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

GOOD = {"currency": "usd", "vcpu_hour": "0.05", "gib_hour": "0.006", "storage_gib_month": "0.02",
        "node_hours": {"m5.large": "0.1", "kwok.fake": 0.5}, "default_instance_type": "m5.large", "source": "contract"}


@pytest.fixture
def cluster(db):
    return Cluster.objects.create(name="cost-services", kind="local")


def update(user, cluster, **changes):
    return price_table_update(actor=Actor.for_user(user), user=user, cluster=cluster, **(GOOD | changes))


def test_an_admin_sets_prices_audited_with_before_and_after(users, cluster):
    update(users["admin"], cluster)
    prices = prices_for(cluster)
    assert (prices.currency, prices.vcpu_hour, prices.node_hour("kwok.fake")) == ("USD", Decimal("0.05"), Decimal("0.5"))
    event = AuditEvent.objects.get(action="cost.prices_updated")
    assert event.details["before"]["vcpu_hour"] == "0.04048" and event.details["before"]["source"] == "defaults"
    assert event.details["after"]["vcpu_hour"] == "0.05"
    assert event.details["after"]["node_hours"] == {"kwok.fake": "0.5", "m5.large": "0.1"}
    assert event.details["changes"]["gib_hour"] == {"before": "0.004445", "after": "0.006"}
    update(users["admin"], cluster, vcpu_hour="0.07")
    assert AuditEvent.objects.filter(action="cost.prices_updated").latest("id").details["changes"]["vcpu_hour"] == {
        "before": "0.05", "after": "0.07"}


def test_others_are_refused_and_the_refusal_is_audited(users, cluster):
    for role in ("manager", "developer", "qa"):
        with pytest.raises(PermissionDenied, match="Only Platform admins"):
            update(users[role], cluster)
    assert not PriceTable.objects.exists()
    assert AuditEvent.objects.filter(action="cost.prices_updated", outcome="failure").count() == 3


def test_every_bad_field_is_named_and_nothing_is_written(users, cluster):
    with pytest.raises(ValidationError) as caught:
        update(users["admin"], cluster, vcpu_hour="cheap", gib_hour="-1", storage_gib_month="0.0000001",
               node_hours={"M5 LARGE": "1", "m5.xlarge": "NaN"}, currency="dollars", default_instance_type="x y")
    errors = caught.value.message_dict
    assert errors["vcpu_hour"] == ["Price per vCPU-hour: 'cheap' is not a number; write it like 0.0405."]
    assert errors["gib_hour"] == ["Price per GiB-hour: use a number of zero or more, not '-1'."]
    assert "at most 6 decimal places" in errors["storage_gib_month"][0]
    assert errors["node_hours"][0] == "Node prices: 'M5 LARGE' is not an instance type name (like m5.large)."
    assert "m5.xlarge" in errors["node_hours"][1]
    assert "three-letter code" in errors["currency"][0] and "default_instance_type" in errors
    assert not PriceTable.objects.exists()
