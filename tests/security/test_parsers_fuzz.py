"""Fuzzing (hypothesis) of YAML documents and kubeconfigs sent by a signed-in user: every refusal is
a 4xx with a reason in the error shape, and a refusal leaves nothing behind (no rows)."""

import pytest
import yaml
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusters.models import Cluster
from environments.models import Blueprint, Component, Environment, EnvironmentRevision
from portal.jobs.models import Job

DOCUMENT_KEYS = ["apiVersion", "kind", "metadata", "spec", "name", "team", "stage", "cluster", "blueprint",
                 "version", "versions", "ttl_hours", "components", "backing_services", "stage_overrides",
                 "description", "web", "api", "worker", "kind", "image_repository", "replicas", "prod", "qa"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70), st.floats(),
                    st.text(max_size=30), st.dates(), st.sampled_from(["slipway.io/v1", "Environment", "Blueprint",
                                                                       "shop", "payments", "qa", "prod", "local",
                                                                       "1.5.0", "mariadb", "redis", "100m"]))
KEYS = st.one_of(st.sampled_from(DOCUMENT_KEYS), st.text(max_size=12), st.integers(), st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)
DOCUMENTS = st.one_of(
    st.fixed_dictionaries({"apiVersion": st.sampled_from(["slipway.io/v1", "v1", 1]),
                           "kind": st.sampled_from(["Environment", "Blueprint", "Other", None])},
                          optional={"metadata": VALUES, "spec": VALUES, "extra": VALUES}),
    VALUES,
)
# Text that is YAML-ish but broken or hostile: anchors, tags, flow collections, control characters.
RAW_YAML = st.one_of(st.text(max_size=200), st.text(alphabet="[]{}&*!:- ,\n'\"#|>%@`\t\x00\x85ab", max_size=120))

SERVERS = st.sampled_from(["https://127.0.0.1:1", "http://127.0.0.1:1", "", "not a url", "https://", 5, None,
                           ["https://127.0.0.1:1"], {"url": "x"}])
NAMED = st.text(alphabet="abc-_.", max_size=6)
KUBECONFIGS = st.fixed_dictionaries({
    "apiVersion": st.sampled_from(["v1", 1]),
    "clusters": st.one_of(VALUES, st.lists(st.fixed_dictionaries(
        {"name": NAMED, "cluster": st.one_of(VALUES, st.fixed_dictionaries(
            {"server": SERVERS}, optional={"certificate-authority-data": st.text(max_size=20),
                                           "certificate-authority": st.text(max_size=10),
                                           "insecure-skip-tls-verify": st.booleans()}))}), max_size=3)),
    "contexts": st.one_of(VALUES, st.lists(st.fixed_dictionaries(
        {"name": NAMED, "context": st.one_of(VALUES, st.fixed_dictionaries({"cluster": NAMED, "user": NAMED}))}),
        max_size=3)),
    "users": st.one_of(VALUES, st.lists(st.fixed_dictionaries(
        {"name": NAMED, "user": st.one_of(VALUES, st.fixed_dictionaries({}, optional={
            "token": st.text(max_size=10), "exec": VALUES, "auth-provider": VALUES, "tokenFile": st.text(max_size=5),
            "client-key-data": st.text(max_size=10)}))}), max_size=3)),
}, optional={"current-context": st.one_of(NAMED, VALUES)})


def _rows() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Environment, EnvironmentRevision, Blueprint, Component, Cluster, Job)}


def _dump(value) -> str:
    try:
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return str(value)


def _refused_cleanly(client, url, payload, before):
    with transaction.atomic():
        response = client.post(url, payload, format="json")
        after = _rows()
        transaction.set_rollback(True)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["status"] == response.status_code and error["message"], error
        assert len(response.content) < 20_000
        assert after == before, f"a refused request left rows behind: {before} -> {after}"


@pytest.fixture
def seeded(users):
    call_command("seed_demo_blueprint", verbosity=0)
    Cluster.objects.create(name="local", kind="existing", api_server="https://127.0.0.1:1",
                           kubeconfig=yaml.safe_dump({"clusters": [], "contexts": []}))
    return users


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "url"), [("developer", "/api/v1/environments/apply/"),
                                           ("admin", "/api/v1/blueprints/apply/")])
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # rolled back per example
@given(document=st.one_of(DOCUMENTS.map(_dump), RAW_YAML), confirm=st.booleans())
def test_documents_are_refused_with_a_reason_and_leave_nothing(seeded, api_for, role, url, document, confirm):
    client = api_for(seeded[role])
    _refused_cleanly(client, url, {"document": document, "confirm": confirm}, _rows())


@pytest.mark.django_db
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kubeconfig=st.one_of(KUBECONFIGS.map(_dump), RAW_YAML))
def test_kubeconfigs_are_refused_with_a_reason_and_leave_nothing(seeded, api_for, kubeconfig):
    client = api_for(seeded["admin"])
    _refused_cleanly(client, "/api/v1/clusters/register/", {"name": "fuzzed", "kubeconfig": kubeconfig}, _rows())
