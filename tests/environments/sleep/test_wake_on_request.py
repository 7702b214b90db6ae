"""Wake on request: a request whose Host is a sleeping environment's hostname (as its Ingress forwards it
while it sleeps) gets the public waking page and asks for one wake however many requests come; the JSON
status tells only name, status, percent, a sentence and the wake-up time; unknown hosts get Slipway's usual
answer; and on the control plane, the Ingress of an asleep environment points at slipway-waker until the
wake the page asked for brings the application back."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from kubernetes import client as k8s

from clusters.kube.wake_route import WAKER
from environments.models import Environment, Rollout
from environments.sleep.models import SleepState
from environments.sleep.services import environment_sleep
from environments.sleep.wake_on_request import STATUS_PATH, WakeStatus
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.environments.sleep.wake_support import job_done

HOST = "wk-shop.payments.apps.example.test"


@pytest.fixture
def asleep(make_ready):
    environment = make_ready("wk-shop", hostname=HOST)
    environment_sleep(actor=Actor.system("test"), user=None, environment=environment)
    job_done(environment, Environment.ASLEEP)
    return environment


def wake_jobs(environment) -> int:
    return Rollout.objects.filter(environment=environment, job__kind="wake").count()


@pytest.mark.django_db
def test_the_first_request_gets_the_waking_page_and_many_requests_make_one_wake(asleep):
    visitor = Client()
    response = visitor.get("/some/page?x=1", HTTP_HOST=HOST)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "Waking up <span class=\"waking-name\">wk-shop</span>" in page and 'data-ready="false"' in page
    asleep.refresh_from_db()
    assert asleep.status == Environment.WAKING and wake_jobs(asleep) == 1
    for _ in range(5):
        assert visitor.get("/", HTTP_HOST=f"{HOST}:8080").status_code == 503  # the port as an ingress keeps it
    assert wake_jobs(asleep) == 1
    state = SleepState.objects.get(environment=asleep)
    assert state.last_activity_kind == "request" and state.reason == "request"
    assert not visitor.cookies  # no Slipway session or CSRF cookie on the application's domain


@pytest.mark.django_db
def test_the_status_says_only_what_a_visitor_may_know(asleep):
    Environment.objects.filter(pk=asleep.pk).update(backing_passwords=json.dumps({"db": "s3cr3t-pass"}),
                                                    status_message="secret internal detail")
    visitor = Client()
    visitor.get("/", HTTP_HOST=HOST)
    Job.objects.filter(rollout__environment=asleep, kind="wake").update(progress=40, message="web 2/3 at node-7")
    response = visitor.get(STATUS_PATH, HTTP_HOST=HOST)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(WakeStatus.__dataclass_fields__)
    assert body["name"] == "wk-shop" and body["status"] == "waking" and body["percent"] == 40
    assert body["ready"] is False and body["elapsed_seconds"] is not None
    text = response.content.decode() + visitor.get("/", HTTP_HOST=HOST).content.decode()
    for secret in ("s3cr3t-pass", "secret internal detail", "node-7", asleep.namespace, asleep.cluster.name,
                   "1.5.0", "csrf"):
        assert secret not in text


@pytest.mark.django_db
def test_when_ready_the_page_tells_the_browser_to_reload_and_shows_the_wake_time(asleep):
    visitor = Client()
    visitor.get("/", HTTP_HOST=HOST)
    job_done(asleep, Environment.READY, last_wake_seconds=12.34)
    body = visitor.get(STATUS_PATH, HTTP_HOST=HOST).json()
    assert body["ready"] is True and body["percent"] == 100 and body["wake_seconds"] == 12.34
    page = visitor.get("/", HTTP_HOST=HOST).content.decode()
    assert 'data-ready="true"' in page and "Woke up in 12.3 s." in page and "location.reload()" in page
    assert "wk-shop</span> is awake" in page
    assert wake_jobs(asleep) == 1  # a ready environment is not woken again


@pytest.mark.django_db
def test_unknown_and_destroyed_hostnames_get_slipways_usual_answer(asleep, make_ready):
    visitor = Client()
    unknown = visitor.get("/", HTTP_HOST="nothing-here.apps.example.test")
    assert unknown.status_code == 400 and b"Bad request" in unknown.content  # DisallowedHost, as before
    Environment.objects.filter(pk=asleep.pk).update(status=Environment.DESTROYED)
    gone = visitor.get("/", HTTP_HOST=HOST)
    assert gone.status_code == 400 and b"Bad request" in gone.content and b"Waking" not in gone.content
    assert visitor.get(STATUS_PATH, HTTP_HOST=HOST).status_code == 400
    # Slipway's own host is untouched.
    assert visitor.get("/healthz").status_code == 200


# --- on the control plane ---------------------------------------------------------------------------------

def _backends(api, env) -> set[str]:
    ingress = k8s.NetworkingV1Api(api).read_namespaced_ingress(env.name, env.namespace)
    return {p.backend.service.name for r in ingress.spec.rules for p in r.http.paths}


@pytest.mark.integration
def test_asleep_on_the_plane_routes_to_the_waker_and_a_request_wakes_it(awake, users, kube_client,
                                                                        django_capture_on_commit_callbacks):
    environment = awake("req")
    with django_capture_on_commit_callbacks(execute=True):
        environment_sleep(actor=Actor.for_user(users["qa"]), user=users["qa"], environment=environment)
    environment.refresh_from_db()
    assert environment.status == Environment.ASLEEP
    assert _backends(kube_client, environment) == {WAKER}
    visitor = Client()
    with django_capture_on_commit_callbacks(execute=True):  # the wake job runs (eagerly) after the response
        response = visitor.get("/", HTTP_HOST=f"{environment.hostname}:80")
    assert response.status_code == 503 and "Waking up" in response.content.decode()
    environment.refresh_from_db()
    assert environment.status == Environment.READY, environment.status_message
    assert _backends(kube_client, environment) == {"web", "api"}
    body = visitor.get(STATUS_PATH, HTTP_HOST=environment.hostname).json()
    assert body["ready"] is True and body["wake_seconds"] > 0
    assert wake_jobs(environment) == 1
