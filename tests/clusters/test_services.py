import pytest
import yaml
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from clusters.health import cluster_check_health
from clusters.models import Cluster
from clusters.services import cluster_register
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "ctx",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
    "users": [{"name": "u", "user": {"token": "very-secret-token-value"}}],
})


@pytest.mark.django_db
def test_register_encrypts_kubeconfig_and_is_idempotent(users, api_for):
    actor = Actor.for_user(users["admin"])
    cluster = cluster_register(actor=actor, name="qa-1", kind="existing", kubeconfig=KUBECONFIG, make_default=True)
    again = cluster_register(actor=actor, name="qa-1", kind="existing", kubeconfig=KUBECONFIG, make_default=True)
    assert cluster.pk == again.pk and Cluster.objects.count() == 1
    assert Cluster.objects.get().kubeconfig == KUBECONFIG
    with connection.cursor() as cur:
        cur.execute("SELECT kubeconfig FROM clusters_cluster")
        stored = cur.fetchone()[0]
    assert stored.startswith("fernet:") and "very-secret-token-value" not in stored
    body = api_for(users["developer"]).get("/api/v1/clusters/").content.decode()
    assert "qa-1" in body and "very-secret-token-value" not in body and "kubeconfig" not in body
    events = AuditEvent.objects.filter(action="cluster.register").order_by("id")
    assert events.count() == 2 and events[1].details["before"]["api_server"] == "https://127.0.0.1:1"
    assert "very-secret-token-value" not in str(list(events.values()))


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "message"), [
    ("{not yaml", "not valid YAML"),
    ("apiVersion: v1", "no clusters or contexts"),
])
def test_bad_kubeconfig_is_refused_and_audited(users, text, message):
    with pytest.raises(ValidationError, match=message):
        cluster_register(actor=Actor.for_user(users["admin"]), name="bad", kind="existing", kubeconfig=text)
    assert not Cluster.objects.exists()
    assert AuditEvent.objects.get(action="cluster.register").outcome == "failure"


@pytest.mark.django_db
def test_health_check_of_unreachable_cluster_records_reason(users):
    cluster = cluster_register(actor=Actor.system("test"), name="gone", kind="existing", kubeconfig=KUBECONFIG)
    cluster = cluster_check_health(actor=Actor.system("test"), cluster=cluster)
    assert cluster.status == Cluster.UNREACHABLE and cluster.status_message
    assert "very-secret-token-value" not in cluster.status_message


@pytest.mark.django_db
def test_rotate_secrets_reencrypts_with_the_new_primary_key(users):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(SLIPWAY_ENCRYPTION_KEYS=[old]):
        cluster_register(actor=Actor.system("test"), name="rot", kind="existing", kubeconfig=KUBECONFIG)
    with override_settings(SLIPWAY_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_secrets")
    with override_settings(SLIPWAY_ENCRYPTION_KEYS=[new]):
        assert Cluster.objects.get(name="rot").kubeconfig == KUBECONFIG
    assert AuditEvent.objects.get(action="secrets.rotate").details == {"re_encrypted": 1}
