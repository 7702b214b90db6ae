"""schemathesis over the API's OpenAPI schema, as each role: no 5xx, every 4xx in the one error shape.

The schema is drf-spectacular's, generated in-process; requests go through the WSGI application
in-process (werkzeug), inside the test's transaction: each case runs in a savepoint rolled back
afterwards, so every case sees the same seeded objects and nothing is left behind. Celery tasks are
enqueued ``on_commit``, which never comes inside the test transaction: no Terraform, copy or rollout
runs. Not excluded: every operation. Allowed beyond 4xx: 503 ``service_unavailable`` (documented) —
the seeded cluster's API server is unreachable on purpose (127.0.0.1:1), and saying so is the answer.
Stateful links are not used (drf-spectacular emits none).

Examples per operation and mode: 2 in the suite profile (~1–2 min for five roles), 25 under
``make test-security-deep`` (SLIPWAY_HYPOTHESIS_PROFILE=deep).
"""

import json
import os
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.generation import GenerationMode

from portal.wsgi import application

DEEP = os.environ.get("SLIPWAY_HYPOTHESIS_PROFILE") == "deep"
EXAMPLES = 25 if DEEP else 2
ROLES = [None, "qa", "developer", "manager", "admin"]
ALLOWED_5XX = {503: "service_unavailable"}


@pytest.fixture
def schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(json.dumps(raw, default=str))
    raw["components"].pop("securitySchemes", None)  # credentials are the test's, not generated
    for operation in (op for path in raw["paths"].values() for op in path.values() if isinstance(op, dict)):
        operation.pop("security", None)
    return schemathesis.openapi.from_dict(raw)


@pytest.fixture
def world(probe_world):
    return probe_world.users


@contextmanager
def in_process_requests():
    """Requests share the test's connection and transaction (as Django's test client arranges; its
    own requests reconnect the signals, hence a context around ours only)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _token(user) -> str:
    response = APIClient().post("/api/v1/auth/token/", {"username": user.username, "password": "pw-for-tests-1"},
                                format="json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _problem(response) -> str | None:
    """None when the answer is acceptable, else what is wrong with it."""
    status = response.status_code
    if status < 400:
        return None
    if status >= 500 and ALLOWED_5XX.get(status) is None:
        return f"{status} server error"
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"{status} with a body that is not JSON: {response.content[:120]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("status") != status or not isinstance(error.get("code"), str) \
            or not isinstance(error.get("message"), str) or not error["message"] \
            or set(error) - {"status", "code", "message", "fields"}:
        return f"{status} not in the error shape: {response.content[:200]!r}"
    if status >= 500 and error["code"] != ALLOWED_5XX[status]:
        return f"{status} {error['code']}"
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_every_operation_answers_in_the_documented_shape(schema, world, role):
    headers = {"Authorization": f"Token {_token(world[role])}"} if role else {}
    with in_process_requests():
        failures = _run(schema, headers)
    assert not failures, "\n".join(failures)


def _run(schema, headers: dict) -> list[str]:
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=not DEEP,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def check(case):
            with transaction.atomic():
                response = case.call(app=application, headers=headers)
                transaction.set_rollback(True)
            problem = _problem(response)
            assert problem is None, f"{case.method} {case.formatted_path} {case.query or ''}: {problem}"

        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
        except Exception as exc:  # the application raised (the WSGI client re-raises): a 500
            failures.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {exc}"[:300])
    return failures
