"""Registering an existing cluster against the stack's real control plane: accepted, refused with
exactly the missing permissions, and refused with a clear message for unusable credentials."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from clusters.kube import rbac as access
from clusters.models import Cluster
from clusters.services import cluster_register_existing
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

from .conftest import granted, stack_cluster, wait_until_rbac_sees_the_binding

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

def test_full_kubeconfig_is_accepted_and_health_recorded(users, kubeconfig_path,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cluster = cluster_register_existing(actor=Actor.for_user(users["admin"]), name="stack",
                                            kubeconfig=Path(kubeconfig_path).read_text())
    cluster.refresh_from_db()
    assert cluster.kind == Cluster.EXISTING and cluster.server_version.startswith("v1.33")
    assert cluster.status == Cluster.READY and cluster.node_count and cluster.nodes_ready == cluster.node_count
    assert cluster.allocatable_cpu_millicores > 0 and cluster.allocatable_memory_bytes > 0


def test_endpoint_and_token_with_missing_permissions_is_refused_listing_them(users, kubeconfig_path,
                                                                              restricted_token):
    target = stack_cluster(kubeconfig_path)
    wait_until_rbac_sees_the_binding(target["server"], target["ca_data"], restricted_token)
    with pytest.raises(ValidationError) as refused:
        cluster_register_existing(actor=Actor.for_user(users["admin"]), name="restricted",
                                  server=target["server"], ca_data=target["ca_data"], token=restricted_token)
    errors = refused.value.message_dict
    expected = [str(p) for p in access.REQUIRED if not granted(p)]
    assert errors["missing_permissions"] == expected
    assert "create namespaces" in expected and "get pods/log" not in expected and "delete apps/deployments" \
        not in expected
    assert "namespaces: create, update, patch, delete" in errors["token"][0]
    assert not Cluster.objects.exists()
    event = AuditEvent.objects.get(action="cluster.register")
    assert event.outcome == "failure" and restricted_token not in str(event.__dict__)
    assert restricted_token not in str(errors)


def _self_signed_ca() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not-the-cluster-ca")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.PEM)).decode()


def _kubeconfig_with_user(user: dict) -> str:
    import yaml

    return yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": "c",
                           "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:56443"}}],
                           "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                           "users": [{"name": "u", "user": user}]})


@pytest.mark.parametrize(("case", "field", "message"), [
    ("garbage", "kubeconfig", "not valid YAML"),
    ("no-context", "kubeconfig", "no clusters or contexts"),
    ("unreachable", "token", "cannot be reached: connection refused"),
    ("wrong-ca", "token", "TLS certificate that the given CA does not trust"),
    ("bad-token", "token", "rejected the credentials (401 Unauthorized)"),
    ("plain-http", "server", "must be an https:// URL"),
    ("exec-command", "kubeconfig", "Slipway does not run commands from kubeconfigs"),
    ("file-reference", "kubeconfig", "refers to a local file (client-key)"),
    ("missing-token", "token", "Required without a kubeconfig"),
])
def test_unusable_credentials_are_refused_with_a_clear_message(users, kubeconfig_path, case, field, message):
    target = stack_cluster(kubeconfig_path)
    inputs = {
        "garbage": {"kubeconfig": "{{{ not: a kubeconfig"},
        "no-context": {"kubeconfig": "apiVersion: v1\nkind: Config\n"},
        "unreachable": {"server": "https://127.0.0.1:1", "token": "abc.def"},
        "wrong-ca": {"server": target["server"], "ca_data": _self_signed_ca(), "token": "abc.def"},
        "bad-token": {"server": target["server"], "ca_data": target["ca_data"], "token": "not-a-valid-token"},
        "plain-http": {"server": "http://127.0.0.1:56443", "token": "abc.def"},
        "missing-token": {"server": target["server"]},
        "exec-command": {"kubeconfig": _kubeconfig_with_user({"exec": {"command": "/bin/sh", "args": ["-c", "id"]}})},
        "file-reference": {"kubeconfig": _kubeconfig_with_user({"client-certificate-data": "eA==",
                                                                "client-key": "/etc/ssl/private/key.pem"})},
    }[case]
    with pytest.raises(ValidationError) as refused:
        cluster_register_existing(actor=Actor.for_user(users["admin"]), name="bad", **inputs)
    assert message in " ".join(refused.value.message_dict[field])
    assert not Cluster.objects.exists()


def test_a_name_taken_by_another_kind_of_cluster_is_refused(users, kubeconfig_path):
    Cluster.objects.create(name="local", kind=Cluster.LOCAL)
    with pytest.raises(ValidationError, match="already named 'local'"):
        cluster_register_existing(actor=Actor.for_user(users["admin"]), name="local",
                                  kubeconfig=Path(kubeconfig_path).read_text())
    assert Cluster.objects.get(name="local").kind == Cluster.LOCAL
