"""POST /api/v1/environments/{id}/sleep/ and /wake/: 202 with the job, 409 with a sentence when not now,
documented in the OpenAPI description; and the page buttons behind the same use cases."""

import pytest

from environments.lifecycle import environment_transition
from environments.models import Environment
from environments.services import environment_update_versions
from portal.audit.actor import Actor
from portal.jobs.models import Job
from tests.environments.chaos.conftest import ready_environment
from tests.factories import TeamFactory, UserFactory

SYSTEM = Actor.system("test")


@pytest.fixture
def env(users, team, offline_cluster):
    environment = ready_environment(users["qa"], team, offline_cluster, "api-sleep")
    Job.objects.filter(pk=environment.rollouts.get().job_id).update(state=Job.SUCCEEDED)
    return environment


def _post(client, env, what, body=None):
    return client.post(f"/api/v1/environments/{env.pk}/{what}/", body or {}, format="json")


def test_sleep_answers_202_with_the_job_then_409_with_a_sentence(users, api_for, env):
    client = api_for(users["qa"])
    answer = _post(client, env, "sleep")
    assert answer.status_code == 202, answer.content
    assert answer.json()["kind"] == "sleep" and answer.json()["state"] == "queued"
    again = _post(client, env, "sleep")
    assert again.status_code == 409
    assert again.json()["error"] == {"status": 409, "code": "conflict",
                                     "message": "This environment is already going to sleep."}
    state = client.get(f"/api/v1/environments/{env.pk}/sleep-state/").json()
    assert state["status"] == "sleeping" and state["reason"] == "api"


def test_sleep_during_a_rollout_is_a_409_saying_so(users, api_for, env):
    environment_update_versions(actor=SYSTEM, user=users["qa"], environment=env, versions={"web": "1.6.0-rc1"})
    answer = _post(api_for(users["qa"]), env, "sleep")
    assert answer.status_code == 409
    assert answer.json()["error"]["message"] == "A rollout is in progress; try again when it ends."


def test_a_bad_reason_is_a_400_naming_the_field(users, api_for, env):
    answer = _post(api_for(users["qa"]), env, "sleep", {"reason": "bedtime"})
    assert answer.status_code == 400 and "reason" in answer.json()["error"]["fields"]
    assert env.rollouts.count() == 1  # nothing queued


def test_other_teams_cannot_and_managers_only_look(users, api_for, env):
    stranger = UserFactory(username="api-sleep-stranger", roles=["Developer"], teams=[TeamFactory(slug="elsewhere")])
    assert _post(api_for(stranger), env, "sleep").status_code in (403, 404)
    manager = _post(api_for(users["manager"]), env, "sleep")
    assert manager.status_code == 403 and "own teams" in manager.json()["error"]["message"]
    assert api_for(users["manager"]).get(f"/api/v1/environments/{env.pk}/sleep-state/").status_code == 200


def test_wake_is_200_when_awake_and_202_with_the_one_wake_job(users, api_for, env):
    client = api_for(users["qa"])
    awake = _post(client, env, "wake")
    assert awake.status_code == 200 and "not asleep: nothing to wake" in awake.json()["message"]
    for status in (Environment.SLEEPING, Environment.ASLEEP):
        environment_transition(env, status, actor=SYSTEM)
    first, second = _post(client, env, "wake"), _post(client, env, "wake")
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"] and first.json()["kind"] == "wake"


def test_the_openapi_description_documents_both_actions(users, api_for):
    schema = api_for(users["qa"]).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    sleep = schema["paths"]["/api/v1/environments/{id}/sleep/"]["post"]
    wake = schema["paths"]["/api/v1/environments/{id}/wake/"]["post"]
    assert {"202", "409", "403"} <= set(sleep["responses"]) and {"200", "202"} <= set(wake["responses"])
    assert "rollout" in sleep["description"]


def test_the_page_buttons_sleep_and_wake(users, client, env):
    client.force_login(users["qa"])
    page = client.get(f"/environments/{env.pk}/").content.decode()
    assert f'action="/environments/{env.pk}/sleep/"' in page and "Sleep now" in page
    answer = client.post(f"/environments/{env.pk}/sleep/", follow=True)
    assert "Going to sleep" in answer.content.decode()
    answer = client.post(f"/environments/{env.pk}/sleep/", follow=True)
    assert "already going to sleep" in answer.content.decode()
    env.refresh_from_db()
    assert env.status == Environment.SLEEPING
    environment_transition(env, Environment.ASLEEP, actor=SYSTEM)
    Job.objects.filter(kind="sleep").update(state=Job.SUCCEEDED)
    page = client.get(f"/environments/{env.pk}/").content.decode()
    assert "Wake now" in page and "Sleep now" not in page and "badge-asleep" in page
    answer = client.post(f"/environments/{env.pk}/wake/", follow=True)
    assert "Waking up" in answer.content.decode()
