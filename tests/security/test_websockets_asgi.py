"""Websockets through the FULL ASGI application, as in production (issue 14, class 5).

``portal.asgi.application`` with AllowedHostsOriginValidator + AuthMiddlewareStack: the user comes
from a real session cookie obtained by signing in on /login/, never from ``scope["user"]`` set by
hand. Every websocket route of ``permission_table`` is checked for every role and scope, plus a
foreign Origin and a signed-out browser.
"""

from __future__ import annotations

import re

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from clusters.models import TerraformRun
from portal.asgi import application
from portal.jobs.models import Job
from portal.streaming import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND
from tests.factories import JobFactory

from .permission_table import POLICIES, ROLES, SCOPES, TABLE
from .test_permission_matrix import websocket_routes, world  # noqa: F401  (the shared world fixture)

pytestmark = pytest.mark.django_db(transaction=True)
GOOD_ORIGIN = b"http://testserver"
PASSWORD = "pw-for-tests-1"  # tests.factories.UserFactory's


def session_cookie(user) -> str | None:
    """Sign in through the real login page; the session cookie the browser would then hold."""
    if user is None:
        return None
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def connect(path: str, cookie: str | None, *, origin: bytes = GOOD_ORIGIN) -> tuple[bool, int | None]:
    """(accepted, close code) for one websocket connection through the production ASGI stack."""
    headers = [(b"host", b"testserver"), (b"origin", origin)]
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))

    async def attempt() -> tuple[bool, int | None]:
        communicator = WebsocketCommunicator(application, path, headers=headers)
        connected, code = await communicator.connect(timeout=10)
        if connected:
            await communicator.disconnect()
        return connected, code

    return async_to_sync(attempt)()


def ws_path(key: str, objects: dict, scope: str) -> str:
    """The route's path with its one object argument filled from the world's objects."""
    obj = objects[TABLE[key].kind][scope]
    return "/" + re.sub(r"<[^>]+>", str(obj.pk), key.removeprefix("ws:"))


@pytest.mark.parametrize("key", websocket_routes())
def test_websocket_route_obeys_the_permission_table(world, key):  # noqa: F811
    policy = POLICIES[TABLE[key].methods["GET"]]
    cookies = {role: session_cookie(world["people"][role]) for role in ROLES}
    wrong = []
    for scope in SCOPES:
        path = ws_path(key, world["objects"], scope)
        for role in ROLES:
            accepted, code = connect(path, cookies[role])
            if accepted != policy[scope][role]:
                wrong.append(f"{role:9} {scope:5} → accepted={accepted} code={code}")
            elif not accepted:
                assert code in (CLOSE_FORBIDDEN, CLOSE_NOT_FOUND), (role, scope, code)
    assert not wrong, f"{key}:\n" + "\n".join(wrong)


def test_a_foreign_origin_is_refused_even_with_a_valid_session(world):  # noqa: F811
    own = world["objects"]["env"]["own"]
    cookie = session_cookie(world["people"]["developer"])
    assert connect(f"/ws/environments/{own.pk}/logs/", cookie)[0]  # the same request from the portal's own page
    for origin in (b"http://evil.example", b"https://testserver.evil.example", b"null"):
        assert not connect(f"/ws/environments/{own.pk}/logs/", cookie, origin=origin)[0], origin
        assert not connect(f"/ws/jobs/{world['objects']['job']['own'].pk}/", cookie, origin=origin)[0], origin


def test_signed_out_and_forged_sessions_are_refused(world):  # noqa: F811
    own = world["objects"]["env"]["own"]
    job = world["objects"]["job"]["own"]
    for cookie in (None, "not-a-session", "x" * 40):
        assert connect(f"/ws/environments/{own.pk}/logs/", cookie) == (False, CLOSE_FORBIDDEN)
        assert connect(f"/ws/jobs/{job.pk}/", cookie) == (False, CLOSE_FORBIDDEN)
    developer = world["people"]["developer"]
    cookie = session_cookie(developer)
    developer.is_active = False
    developer.save()  # a deactivated account's session no longer authenticates
    assert connect(f"/ws/environments/{own.pk}/logs/", cookie) == (False, CLOSE_FORBIDDEN)


def test_terraform_run_job_stream_follows_the_run_page(world):  # noqa: F811
    """The run page and the run's job stream answer alike: Managers and admins, nobody else."""
    admin = world["people"]["admin"]
    job = JobFactory(kind="terraform.plan", started_by=admin, team=None, state=Job.RUNNING)
    TerraformRun.objects.filter(pk=world["objects"]["run"].pk).update(plan_job=job)
    for role in ROLES:
        cookie = session_cookie(world["people"][role])
        client = Client()
        if world["people"][role] is not None:
            client.force_login(world["people"][role])
        page = client.get(f"/clusters/runs/{world['objects']['run'].pk}/")
        stream_open = connect(f"/ws/jobs/{job.pk}/", cookie)[0]
        assert (page.status_code == 200) == stream_open == (role in ("manager", "admin")), (role, page.status_code)
