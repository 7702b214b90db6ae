"""Class 4: parsing is bounded. Alias bombs, deep nesting, huge bodies and huge values sent to every
endpoint and form that parses YAML, kubeconfigs or JSON: a fast 4xx with a short message."""

import time

import pytest
import yaml
from django.test import Client

from clusters.models import Cluster
from environments.models import Blueprint, Component
from portal import safe_yaml


def _levels(n: int) -> list[str]:
    """``n`` levels of 9 aliases each: 9**n leaves once expanded."""
    return ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(n - 1)]


# Six levels (half a million leaves, a few MB quoted): enough to fail loudly without the fix while not
# eating the machine's memory if the fix is ever reverted; nine levels go to the loader only.
LEVELS = _levels(6)
ALIAS_BOMB = "\n".join(LEVELS) + "\napiVersion: *f\nkind: Environment\n"
DEEP_BOMB = "\n".join(_levels(9)) + "\nz: *i\n"
DEEP = "a: " + "[" * 5000 + "]" * 5000 + "\n"
KUBECONFIG_BOMB = ("apiVersion: v1\nkind: Config\n" + "\n".join(LEVELS)
                   + "\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
                   + "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: *f\n"
                   + "users: [{name: u, user: {token: t}}]\n")
MAX_REPLY = 4000


def _fast_and_short(response, started, *, status=400):
    assert time.monotonic() - started < 2, "parsing must not expand the document"
    assert response.status_code == status, response.content[:300]
    assert len(response.content) < MAX_REPLY if status != 200 else True
    return response


def _error(response):
    body = response.json()["error"]
    assert set(body) <= {"status", "code", "message", "fields"} and body["status"] == response.status_code
    return body


@pytest.fixture
def admin_api(users, api_for):
    return api_for(users["admin"])


@pytest.fixture
def developer_api(users, api_for):
    return api_for(users["developer"])


# --- the loader itself -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [ALIAS_BOMB, DEEP_BOMB, "a: &x 1\n", "a: *x\n", "- &anchor\n  - 1\n", DEEP,
                                  "[" * 100_000, "x" * (300 * 1024)])
def test_loader_refuses_anchors_depth_and_size_with_a_short_reason(text):
    started = time.monotonic()
    with pytest.raises(safe_yaml.YAMLRefused) as refused:
        safe_yaml.load(text)
    assert time.monotonic() - started < 2
    assert len(str(refused.value)) < 200


def test_loader_reads_ordinary_documents_and_streams():
    assert safe_yaml.load("a: [1, 2]\nb: {c: d}\n") == {"a": [1, 2], "b": {"c": "d"}}
    assert safe_yaml.load_all("a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]


def test_syntax_errors_name_the_position_not_the_text():
    secret_line = "token: " + "s3cr3t" * 50 + "\n  bad: indentation: here"
    with pytest.raises(safe_yaml.YAMLRefused) as refused:
        safe_yaml.load(secret_line, what="kubeconfig")
    assert "s3cr3t" not in str(refused.value) and "line" in str(refused.value)


# --- every API endpoint that takes YAML -------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/environments/apply/", "/api/v1/blueprints/apply/"])
@pytest.mark.parametrize("document", [ALIAS_BOMB, DEEP])
def test_apply_endpoints_refuse_bombs_fast_as_json(admin_api, url, document):
    started = time.monotonic()
    response = _fast_and_short(admin_api.post(url, {"document": document}, format="json"), started)
    assert "document" in _error(response)["message"]
    started = time.monotonic()
    response = _fast_and_short(admin_api.generic("POST", url, document.encode(), content_type="application/yaml"),
                               started)
    _error(response)


@pytest.mark.django_db
def test_messages_never_echo_a_huge_value(developer_api):
    huge = "x" * 50_000
    document = {"apiVersion": huge, "kind": huge, "metadata": {huge: 1, "name": huge, "cluster": huge, "team": huge,
                                                                "stage": huge},
                "spec": {"blueprint": {"name": huge, "version": huge}, "versions": {huge: [1]}, huge: 2}}
    started = time.monotonic()
    response = _fast_and_short(developer_api.post("/api/v1/environments/apply/", {"document": document},
                                                  format="json"), started)
    assert "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" not in response.content.decode()


@pytest.mark.django_db
def test_mixed_key_types_are_a_400_not_a_500(developer_api):
    document = "apiVersion: slipway.io/v1\nkind: Environment\nmetadata: {name: a, 1: b, null: c}\n" \
               "spec: {2020-01-01: x, b: y}\n3: z\n"
    response = developer_api.post("/api/v1/environments/apply/", {"document": document}, format="json")
    assert response.status_code == 400
    assert "Unknown keys" in str(_error(response))


@pytest.mark.django_db
def test_blueprint_definition_with_list_names_is_a_400(admin_api):
    document = ("apiVersion: slipway.io/v1\nkind: Blueprint\nmetadata: {name: bp}\n"
                "spec: {components: [web], backing_services: [{kind: redis, name: [a, b]}, {1: 2, name: c}]}\n")
    response = admin_api.post("/api/v1/blueprints/apply/", {"document": document}, format="json")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize("kubeconfig", [
    KUBECONFIG_BOMB,
    "apiVersion: v1\nclusters: abc\ncontexts: [x]\n",
    "clusters: [{name: c, cluster: [1]}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n",
    "clusters: [{name: c, cluster: {server: [1]}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n",
    "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
    "contexts: [{name: c, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: 'rm -rf /'}}]\n",
    "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
    "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: " + "y" * 100_000 + "\n",
    DEEP,
])
def test_register_refuses_malformed_kubeconfigs_with_a_400(admin_api, kubeconfig):
    started = time.monotonic()
    response = _fast_and_short(admin_api.post("/api/v1/clusters/register/", {"name": "hostile",
                                                                             "kubeconfig": kubeconfig}, format="json"),
                               started)
    assert "kubeconfig" in _error(response).get("fields", {})
    assert not Cluster.objects.filter(name="hostile").exists()


# --- forms that take YAML or kubeconfigs --------------------------------------------------------------------------

@pytest.fixture
def admin_browser(users):
    client = Client()
    client.force_login(users["admin"])
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "data"), [
    ("/environments/import/", {"document": ALIAS_BOMB}),
    ("/catalog/blueprints/import/", {"document": ALIAS_BOMB}),
    ("/catalog/components/new/", {"name": "web", "default_env": ALIAS_BOMB}),
    ("/clusters/register/", {"name": "hostile", "kubeconfig": KUBECONFIG_BOMB}),
])
def test_forms_refuse_bombs_fast_with_the_reason(admin_browser, url, data):
    started = time.monotonic()
    response = admin_browser.post(url, data)
    assert time.monotonic() - started < 3
    assert response.status_code in (200, 400)
    assert b"anchors and aliases" in response.content
    assert len(response.content) < 200_000
    assert not Component.objects.exists() and not Blueprint.objects.exists()
    assert not Cluster.objects.filter(name="hostile").exists()


# --- request bodies ----------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_huge_api_bodies_are_refused_with_413_before_parsing(developer_api, settings):
    body = b'{"document": "' + b"a" * (settings.SLIPWAY_MAX_REQUEST_BYTES + 10) + b'"}'
    response = developer_api.generic("POST", "/api/v1/environments/apply/", body, content_type="application/json")
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"


@pytest.mark.django_db
def test_huge_uploads_to_pages_are_refused_with_413(admin_browser, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("kubeconfig", b"a" * (settings.SLIPWAY_MAX_REQUEST_BYTES + 10))
    response = admin_browser.post("/clusters/register/", {"name": "big", "kubeconfig_file": upload})
    assert response.status_code == 413


@pytest.mark.django_db
def test_deeply_nested_json_is_a_400(developer_api):
    body = b'{"document": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = developer_api.generic("POST", "/api/v1/environments/apply/", body, content_type="application/json")
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


async def test_asgi_stops_reading_a_streamed_body_past_the_limit(settings):
    from portal.request_limits import BoundedBodyASGI

    settings.SLIPWAY_MAX_REQUEST_BYTES = 1000
    seen = {"read": 0}

    async def app(scope, receive, send):  # reads like Django's ASGI handler: until the end or a disconnect
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            seen["read"] += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = iter([{"type": "http.request", "body": b"x" * 600, "more_body": True}] * 1000)
    sent = []

    async def receive():
        return next(chunks)

    async def send(message):
        sent.append(message)

    await BoundedBodyASGI(app)({"type": "http", "path": "/api/v1/x/", "headers": []}, receive, send)
    assert sent[0]["status"] == 413 and seen["read"] <= 1200
    sent.clear()
    await BoundedBodyASGI(app)({"type": "http", "path": "/x/", "headers": [(b"content-length", b"5000")]},
                               receive, send)
    assert sent[0]["status"] == 413


@pytest.mark.django_db
def test_deeply_nested_node_groups_json_on_the_new_cluster_form(admin_browser):
    response = admin_browser.post("/clusters/new/", {"name": "deep", "kind": "local",
                                                      "node_groups": "[" * 100_000 + "]" * 100_000})
    assert response.status_code < 500
    assert b"nested too deeply" in response.content
    assert not Cluster.objects.filter(name="deep").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("exec_config", ["rm -rf /", {"command": "aws", "args": "eks get-token"},
                                         {"command": "aws", "args": ["eks", "get-token", ["--cluster-name"], "x"]},
                                         {"command": "aws", "args": {"eks": 1}}])
def test_register_refuses_odd_exec_shapes_with_a_400(admin_api, exec_config):
    kubeconfig = yaml.safe_dump({"clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                                 "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                                 "users": [{"name": "u", "user": {"exec": exec_config}}]})
    response = admin_api.post("/api/v1/clusters/register/", {"name": "hostile", "kubeconfig": kubeconfig},
                              format="json")
    assert "kubeconfig" in _error(response).get("fields", {})
