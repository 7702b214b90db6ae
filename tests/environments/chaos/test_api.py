"""The chaos API: settings, experiments, runs (filters, CSV), kill switches, statistics, badge,
comparison and the YAML document; clear 4xx in the API's error shape; the OpenAPI description."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from environments.chaos.models import ChaosExperiment, ChaosKillSwitch, ChaosRun, ChaosSettings
from tests.environments.chaos.schedule_support import make_environment, make_experiment, make_run, new_revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def env(users, team):
    return make_environment("ui-api", team=team, owner=users["developer"])


@pytest.fixture
def dev(api_for, users):
    return api_for(users["developer"])


def _base(env) -> str:
    return f"/api/v1/environments/{env.pk}/chaos"


def test_settings_get_and_patch_and_a_bad_value_is_a_400_naming_the_field(dev, env):
    assert dev.get(f"{_base(env)}/settings/").json()["enabled"] is False
    bad = dev.patch(f"{_base(env)}/settings/", {"slo_seconds": 0}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["slo_seconds"]
    ok = dev.patch(f"{_base(env)}/settings/", {"enabled": True, "badge_runs": 2}, format="json")
    assert ok.status_code == 200 and ok.json()["enabled"] is True and ok.json()["badge_runs"] == 2


def test_production_opt_in_is_refused_to_developers(api_for, users, team):
    prod = make_environment("ui-api-prod", team=team, owner=users["developer"], stage="prod")
    refused = api_for(users["developer"]).patch(f"{_base(prod)}/settings/", {"enabled": True}, format="json")
    assert refused.status_code == 403 and "production" in refused.json()["error"]["message"]
    admin = api_for(users["admin"])
    no_reason = admin.patch(f"{_base(prod)}/settings/", {"enabled": True}, format="json")
    assert no_reason.status_code == 400
    approved = admin.patch(f"{_base(prod)}/settings/", {"enabled": True, "approval_reason": "game day"}, format="json")
    assert approved.status_code == 200 and approved.json()["approved_by"] == "admin"


def test_experiments_crud_pause_and_run_refused_while_off(dev, env):
    created = dev.post(f"{_base(env)}/experiments/", {"name": "kill-web", "fault": "pod-kill", "target": "web",
                                                      "schedule": "interval", "interval_seconds": 3600}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["next_run_at"] is not None
    assert [e["name"] for e in dev.get(f"{_base(env)}/experiments/").json()] == ["kill-web"]
    assert dev.get("/api/v1/chaos/experiments/", {"environment": env.pk}).json()["count"] == 1
    patched = dev.patch(f"/api/v1/chaos/experiments/{pk}/", {"target": "api"}, format="json")
    assert patched.status_code == 200 and patched.json()["target"] == "api"
    assert dev.post(f"/api/v1/chaos/experiments/{pk}/pause/", {"paused": True}, format="json").json()["paused"]
    refused = dev.post(f"/api/v1/chaos/experiments/{pk}/run/")
    assert refused.status_code == 400 and "opt the environment in" in refused.json()["error"]["message"]
    assert not ChaosRun.objects.exists()
    assert dev.delete(f"/api/v1/chaos/experiments/{pk}/").status_code == 204
    assert not ChaosExperiment.objects.filter(pk=pk).exists()


def test_a_bad_experiment_is_a_400_with_a_sentence_per_field(dev, env):
    bad = dev.post(f"{_base(env)}/experiments/", {"name": "Bad Name", "fault": "meteor", "timezone": "Mars/Base"},
                   format="json")
    assert bad.status_code == 400
    fields = bad.json()["error"]["fields"]
    assert set(fields) >= {"name", "fault", "timezone"}
    unknown_target = dev.post(f"{_base(env)}/experiments/", {"name": "x", "fault": "pod-kill", "target": "nope"},
                              format="json")
    assert unknown_target.status_code == 400 and "target" in unknown_target.json()["error"]["fields"]


def test_runs_list_filters_detail_and_csv(dev, env):
    experiment = make_experiment(env, name="kill-web")
    old = make_run(experiment, seconds=2.0)
    new_revision(env)
    late = make_run(experiment, seconds=None, status=ChaosRun.UNRECOVERED)
    listed = dev.get("/api/v1/chaos/runs/", {"revision": old.revision_number}).json()
    assert [r["id"] for r in listed["results"]] == [old.pk]
    assert [r["id"] for r in dev.get("/api/v1/chaos/runs/", {"status": "unrecovered"}).json()["results"]] == [late.pk]
    assert dev.get("/api/v1/chaos/runs/", {"status": "exploded"}).status_code == 400
    ChaosRun.objects.filter(pk=old.pk).update(events=[{"at": "2026-12-05T06:00:00+00:00", "kind": "fault",
                                                       "message": "deleted pod web-1"}], unavailable={"web": 0.5})
    detail = dev.get(f"/api/v1/chaos/runs/{old.pk}/").json()
    assert detail["events"][0]["kind"] == "fault" and detail["unavailable"] == {"web": 0.5}
    csv = dev.get("/api/v1/chaos/runs/export/", {"status": "recovered"})
    assert csv["Content-Type"] == "text/csv"
    rows = b"".join(csv.streaming_content).decode().splitlines()
    assert len(rows) == 2 and rows[1].startswith(f"{old.pk},ui-api,kill-web,pod-kill,recovered")
    stop = dev.post(f"/api/v1/chaos/runs/{old.pk}/stop/")
    assert stop.status_code == 400  # it ended already: a sentence, not a 500


def test_stats_badge_and_comparison(dev, env):
    ChaosSettings.objects.create(environment=env, enabled=True, badge_runs=2)
    experiment = make_experiment(env, name="kill-web")
    first = env.current_revision
    make_run(experiment, seconds=2.0)
    make_run(experiment, seconds=4.0)
    stats = dev.get(f"{_base(env)}/stats/").json()
    assert stats["count"] == 2 and stats["max_seconds"] == 4.0 and "pod-kill" in stats["by_fault"]
    other = make_experiment(env, name="cut-web", fault="network-cut")
    make_run(other, seconds=9.0)
    assert dev.get(f"{_base(env)}/stats/").json()["count"] == 3
    own = dev.get(f"{_base(env)}/stats/", {"experiment": other.pk}).json()
    assert own["count"] == 1 and own["max_seconds"] == 9.0
    assert dev.get(f"{_base(env)}/stats/", {"experiment": "x"}).status_code == 400
    badge = dev.get(f"{_base(env)}/badge/").json()
    assert badge["ready"] is True and badge["revision_number"] == first.number
    second = new_revision(env)
    assert dev.get(f"{_base(env)}/badge/").json()["ready"] is False
    make_run(experiment, seconds=30.0, revision=second)
    compared = dev.get(f"{_base(env)}/comparison/", {"a": first.number, "b": second.number}).json()
    assert compared["verdict"] == "more fragile" and compared["sentence"].startswith(f"r{first.number} recovers")
    missing = dev.get(f"{_base(env)}/comparison/", {"a": 1})
    assert missing.status_code == 400 and "b" in missing.json()["error"]["fields"]


def test_kill_switches_environment_and_global(api_for, users, env):
    dev = api_for(users["developer"])
    engaged = dev.post(f"{_base(env)}/kill-switch/", {"engage": True}, format="json")
    assert engaged.status_code == 200 and engaged.json()["halted"] is True
    assert dev.post(f"{_base(env)}/kill-switch/", {}, format="json").status_code == 400
    assert dev.post("/api/v1/chaos/kill-switch/engage/").status_code == 403
    manager = api_for(users["manager"])
    assert manager.post("/api/v1/chaos/kill-switch/engage/", {"reason": "incident"}, format="json").json()["engaged"]
    refused = manager.post("/api/v1/chaos/kill-switch/release/")
    assert refused.status_code == 403 and "Only Platform admins" in refused.json()["error"]["message"]
    assert dev.get("/api/v1/chaos/kill-switch/").json()["reason"] == "incident"
    assert api_for(users["admin"]).post("/api/v1/chaos/kill-switch/release/").json()["engaged"] is False
    assert not ChaosKillSwitch.objects.get(pk=1).engaged


DOCUMENT = """apiVersion: slipway.io/v1
kind: ChaosExperiments
metadata:
  environment: ui-api
spec:
  settings:
    enabled: true
  experiments:
  - name: kill-web
    fault: pod-kill
    target: web
    schedule: cron
    cron: "*/30 10-15 * * 1-5"
    window_days: [1, 2, 3, 4, 5]
    window_start: "10:00"
    window_end: "16:00"
    timezone: Europe/Berlin
"""


def test_the_yaml_document_round_trips_and_errors_name_the_field_and_line(dev, env):
    url = f"{_base(env)}/document/"
    typo = dev.generic("PUT", url, DOCUMENT.replace("fault: pod-kill", "falt: pod-kill"),
                       content_type="application/yaml")
    assert typo.status_code == 400
    fields = typo.json()["error"]["fields"]
    assert fields["spec.experiments[0].falt"][0].startswith("line 10: unknown field")
    assert fields["spec.experiments[0].fault"][0].startswith("line 9:")  # required: the experiment's own line
    assert not ChaosExperiment.objects.exists()
    # A rule only the service knows (the component exists) is named with its line too, and nothing is kept.
    unknown = dev.generic("PUT", url, DOCUMENT.replace("target: web", "target: nope"), content_type="application/yaml")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fields"]["spec.experiments[0].target"][0].startswith("line 11: ")
    assert not ChaosExperiment.objects.exists() and not ChaosSettings.objects.filter(enabled=True).exists()
    broken = dev.generic("PUT", url, "spec: [unclosed", content_type="application/yaml")
    assert broken.status_code == 400 and "line 1" in broken.json()["error"]["message"]
    applied = dev.generic("PUT", url, DOCUMENT, content_type="application/yaml")
    assert applied.status_code == 200, applied.json()
    assert applied.json() == {"settings_changed": True, "created": ["kill-web"], "updated": [], "deleted": []}
    exported = dev.get(url, HTTP_ACCEPT="application/yaml")
    assert exported["Content-Type"].startswith("application/yaml")
    document = yaml.safe_load(exported.content)
    assert document["spec"]["experiments"][0]["window_days"] == [1, 2, 3, 4, 5]
    again = dev.put(url, {"document": exported.content.decode()}, format="json")
    assert again.json() == {"settings_changed": False, "created": [], "updated": [], "deleted": []}
    other = dev.generic("PUT", url, DOCUMENT.replace("environment: ui-api", "environment: elsewhere"),
                        content_type="application/yaml")
    assert other.status_code == 400 and "metadata.environment" in other.json()["error"]["fields"]


def test_the_openapi_description_documents_every_chaos_endpoint(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    paths = yaml.safe_load(out.read_text())["paths"]
    chaos = sorted(p for p in paths if "chaos" in p)
    assert "/api/v1/environments/{id}/chaos/document/" in chaos
    assert "/api/v1/chaos/runs/export/" in chaos and "/api/v1/chaos/kill-switch/engage/" in chaos
    assert len(chaos) >= 16


def test_the_runs_list_costs_the_same_queries_for_one_or_many_runs(dev, env):
    experiment = make_experiment(env, name="kill-web")
    make_run(experiment, seconds=1.0)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert dev.get("/api/v1/chaos/runs/").status_code == 200
        return len(captured)

    queries()  # the first request also reads the caller's roles
    one = queries()
    for seconds in (2.0, 3.0, 4.0, 5.0):
        make_run(make_experiment(env), seconds=seconds)
    assert queries() == one
