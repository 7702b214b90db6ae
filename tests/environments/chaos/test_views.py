"""The chaos pages: an environment's chaos page (settings, kill switch, experiments, runs, statistics,
chart, comparison), experiment forms, the run report, the global page and kill switch, the YAML
document page, CSV exports and the badge on the environment page and list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from environments.chaos.models import ChaosExperiment, ChaosKillSwitch, ChaosRun, ChaosSettings
from portal.audit.models import AuditEvent
from tests.environments.chaos.schedule_support import (
    SNAPSHOT,
    make_environment,
    make_experiment,
    make_run,
    new_revision,
)
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


# The environment page reads each component's image and tag from the revision.
PAGE_SNAPSHOT = {**SNAPSHOT, "components": [{**c, "image": f"registry.test/{c['name']}", "tag": "1.0.0"}
                                            for c in SNAPSHOT["components"]]}


@pytest.fixture
def env(users, team):
    return make_environment("ui-qa", team=team, owner=users["developer"], snapshot=PAGE_SNAPSHOT)


@pytest.fixture
def dev(client, users):
    client.force_login(users["developer"])
    return client


def _opt_in(environment, **fields):
    return ChaosSettings.objects.update_or_create(environment=environment, defaults={"enabled": True, **fields})[0]


def test_the_chaos_page_shows_experiments_in_words_statistics_chart_and_runs(dev, env):
    _opt_in(env)
    experiment = make_experiment(env, name="kill-web", schedule=ChaosExperiment.INTERVAL, interval_seconds=600,
                                 window_days=[1, 2, 3, 4, 5])
    for seconds in (2.0, 4.0, 40.0):
        make_run(experiment, seconds=seconds)
    make_run(experiment, seconds=None, status=ChaosRun.UNRECOVERED)
    page = dev.get(reverse("environment-chaos", args=[env.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "every 10 minutes" in html and "Mon–Fri" in html
    assert 'role="img"' in html and "SLO 30 s" in html  # the chart and its SLO line
    assert 'data-stat="outside-slo">2<' in html  # the late run and the one that never recovered
    assert "The chart as a table" in html
    assert html.count("data-chaos-runs") == 1 and "#" in html
    # Each experiment's own numbers in its row; one never run says so.
    make_experiment(env, name="cut-api", fault=ChaosExperiment.NETWORK_CUT)
    html = dev.get(reverse("environment-chaos", args=[env.pk])).content.decode()
    rows = {name: html.split(f'data-experiment="{name}"')[1].split("</tr>")[0] for name in ("kill-web", "cut-api")}
    assert "40" in rows["kill-web"].split("data-experiment-stats>")[1] and "4 runs, 2 outside the SLO" in rows["kill-web"]
    assert "not measured yet" in rows["cut-api"]


def test_runs_filter_by_status_and_the_csv_export_has_the_same_rows(dev, env):
    experiment = make_experiment(env, name="kill-web")
    good = make_run(experiment, seconds=2.0)
    bad = make_run(experiment, seconds=None, status=ChaosRun.UNRECOVERED)
    # The engine's target holds lists and numbers too.
    ChaosRun.objects.filter(pk=bad.pk).update(target={"component": "web", "pods": ["web-1", "web-2"], "desired": 4})
    page = dev.get(reverse("environment-chaos", args=[env.pk]), {"status": "unrecovered"})
    html = page.content.decode()
    assert reverse("chaos-run-detail", args=[bad.pk]) in html
    assert reverse("chaos-run-detail", args=[good.pk]) not in html
    export = dev.get(reverse("environment-chaos-runs-export", args=[env.pk]), {"status": "unrecovered"})
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,environment,experiment,fault,status")
    assert [line.split(",")[0] for line in lines[1:]] == [str(bad.pk)]
    assert '"component=web desired=4 pods=web-1,web-2"' in lines[1]


def test_a_developer_opts_in_and_bad_input_is_a_sentence_with_nothing_changed(dev, env):
    url = reverse("environment-chaos-settings", args=[env.pk])
    refused = dev.post(url, {"enabled": "on", "slo_seconds": "0", "availability_target": "99", "badge_runs": "3"})
    assert refused.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()
    assert not ChaosSettings.objects.filter(environment=env, enabled=True).exists()
    saved = dev.post(url, {"enabled": "on", "slo_seconds": "20", "availability_target": "99.5", "badge_runs": "2"})
    assert saved.status_code == 302
    settings_ = ChaosSettings.objects.get(environment=env)
    assert (settings_.enabled, settings_.slo_seconds, settings_.badge_runs) == (True, 20, 2)


def test_production_settings_need_an_admin_and_show_the_approval_reason(client, users, team):
    prod = make_environment("ui-prod", team=team, owner=users["developer"], stage="prod")
    client.force_login(users["developer"])
    assert client.post(reverse("environment-chaos-settings", args=[prod.pk]), {"enabled": "on"}).status_code == 403
    assert "Approval reason" not in client.get(reverse("environment-chaos", args=[prod.pk])).content.decode()
    client.force_login(users["admin"])
    page = client.get(reverse("environment-chaos", args=[prod.pk])).content.decode()
    assert "Approval reason (production)" in page
    refused = client.post(reverse("environment-chaos-settings", args=[prod.pk]),
                          {"enabled": "on", "slo_seconds": "30", "availability_target": "99", "badge_runs": "3"})
    assert refused.status_code == 400 and "approval" in refused.content.decode().lower()
    assert not ChaosSettings.objects.filter(environment=prod, enabled=True).exists()
    approved = client.post(reverse("environment-chaos-settings", args=[prod.pk]),
                           {"enabled": "on", "slo_seconds": "30", "availability_target": "99", "badge_runs": "3",
                            "approval_reason": "quarterly game day"}, follow=True)
    assert "Approved by admin" in approved.content.decode() and "quarterly game day" in approved.content.decode()
    assert ChaosSettings.objects.get(environment=prod).approved_by == users["admin"]


def _experiment_form(**fields):
    return {"name": "kill-web", "fault": "pod-kill", "target": "web", "percent": "50", "duration_seconds": "30",
            "schedule": "once", "interval_seconds": "", "cron": "", "window_start": "", "window_end": "",
            "timezone": "UTC", "max_down_percent": "100", **fields}


def test_create_edit_pause_and_delete_an_experiment_from_the_pages(dev, env):
    created = dev.post(reverse("environment-chaos-experiment-new", args=[env.pk]), _experiment_form())
    assert created.status_code == 302
    experiment = ChaosExperiment.objects.get(environment=env, name="kill-web")
    edit = reverse("chaos-experiment-edit", args=[experiment.pk])
    assert 'value="kill-web"' in dev.get(edit).content.decode()
    assert dev.post(edit, _experiment_form(schedule="cron", cron="*/30 10-15 * * 1-5",
                                           window_days=["1", "5"])).status_code == 302
    experiment.refresh_from_db()
    assert (experiment.cron, experiment.window_days) == ("*/30 10-15 * * 1-5", [1, 5])
    dev.post(reverse("chaos-experiment-pause", args=[experiment.pk]), {"paused": "1"})
    experiment.refresh_from_db()
    assert experiment.paused
    dev.post(reverse("chaos-experiment-delete", args=[experiment.pk]))
    assert not ChaosExperiment.objects.filter(pk=experiment.pk).exists()
    assert AuditEvent.objects.filter(action__startswith="chaos.experiment_").count() >= 3


def test_a_refused_experiment_shows_the_service_sentence_on_its_field(dev, env):
    page = dev.post(reverse("environment-chaos-experiment-new", args=[env.pk]),
                    _experiment_form(target="nope", schedule="cron", cron="every tuesday", timezone="Mars/Base"))
    assert page.status_code == 400
    html = page.content.decode()
    assert "Unknown time zone" in html
    assert not ChaosExperiment.objects.filter(environment=env).exists()
    page = dev.post(reverse("environment-chaos-experiment-new", args=[env.pk]),
                    _experiment_form(target="nope", schedule="cron", cron="every tuesday"))
    assert page.status_code == 400
    assert 'id="id_cron_error"' in page.content.decode() and 'id="id_target_error"' in page.content.decode()
    assert not ChaosExperiment.objects.filter(environment=env).exists()


def test_run_now_refused_while_not_opted_in_says_why_and_starts_nothing(dev, env):
    experiment = make_experiment(env, name="kill-web")
    response = dev.post(reverse("chaos-experiment-run", args=[experiment.pk]), follow=True)
    assert "opt the environment in first" in response.content.decode()
    assert not ChaosRun.objects.filter(experiment=experiment).exists()


def test_the_run_report_shows_target_timeline_unavailability_and_the_chart(dev, env):
    experiment = make_experiment(env, name="kill-web")
    earlier = make_run(experiment, seconds=3.0)
    run = make_run(experiment, seconds=5.5, availability=97.5)
    ChaosRun.objects.filter(pk=run.pk).update(
        target={"component": "web", "pods": ["web-1", "web-2"]}, unavailable={"web": 1.25},
        events=[{"at": "2026-12-05T06:00:00.100000+00:00", "kind": "fault", "message": "deleted pod web-1"},
                {"at": "2026-12-05T06:00:05.600000+00:00", "kind": "recovered", "message": "steady state holds"}])
    html = dev.get(reverse("chaos-run-detail", args=[run.pk])).content.decode()
    assert "web-1, web-2" in html and "deleted pod web-1" in html and "steady state holds" in html
    assert html.index('data-kind="fault"') < html.index('data-kind="recovered"')
    assert "1.2 s" in html  # the Service's seconds without an endpoint
    assert 'stroke="#0b5fb4"' in html  # this run is outlined in the chart
    assert reverse("chaos-run-detail", args=[earlier.pk]) in html


def test_the_environment_kill_switch_engages_and_releases(dev, env):
    _opt_in(env)
    url = reverse("environment-chaos-kill-switch", args=[env.pk])
    dev.post(url, {"engage": "1"})
    assert ChaosSettings.objects.get(environment=env).halted
    page = dev.get(reverse("environment-chaos", args=[env.pk])).content.decode()
    assert 'data-kill-switch-state="engaged"' in page and "Release the kill switch" in page
    dev.post(url, {"engage": "0"})
    assert not ChaosSettings.objects.get(environment=env).halted


def test_the_global_kill_switch_managers_engage_only_admins_release(client, users):
    client.force_login(users["developer"])
    assert client.post(reverse("chaos-kill-switch-engage")).status_code == 403
    assert "Stop all chaos everywhere" not in client.get(reverse("chaos-index")).content.decode()
    client.force_login(users["manager"])
    assert client.post(reverse("chaos-kill-switch-engage"), {"reason": "game day over"}).status_code == 302
    assert ChaosKillSwitch.objects.get(pk=1).engaged
    assert client.post(reverse("chaos-kill-switch-release")).status_code == 403
    page = client.get(reverse("chaos-index")).content.decode()
    assert "game day over" in page and "Release the global kill switch" not in page
    client.force_login(users["admin"])
    assert client.post(reverse("chaos-kill-switch-release")).status_code == 302
    assert not ChaosKillSwitch.objects.get(pk=1).engaged


def test_the_global_page_lists_only_runs_the_user_may_see(client, users, team):
    mine = make_run(make_experiment(make_environment("ui-mine", team=team), name="kill-web"), seconds=1.0)
    theirs_env = make_environment("ui-theirs", team=TeamFactory(slug="search", name="Search"))
    theirs = make_run(make_experiment(theirs_env, name="kill-web"), seconds=1.0)
    client.force_login(users["developer"])
    html = client.get(reverse("chaos-index")).content.decode()
    assert reverse("chaos-run-detail", args=[mine.pk]) in html
    assert reverse("chaos-run-detail", args=[theirs.pk]) not in html
    export = b"".join(client.get(reverse("chaos-runs-export")).streaming_content).decode()
    assert "ui-mine" in export and "ui-theirs" not in export
    assert client.get(reverse("chaos-run-detail", args=[theirs.pk])).status_code == 404


def test_the_badge_shows_on_the_environment_page_and_list_and_a_new_revision_resets_it(dev, env):
    _opt_in(env, badge_runs=2)
    experiment = make_experiment(env, name="kill-web")
    make_run(experiment, seconds=2.0)
    make_run(experiment, seconds=3.0)
    badge = f"chaos-ready · r{env.current_revision.number}"
    assert badge in dev.get(reverse("environment-detail", args=[env.pk])).content.decode()
    assert badge in dev.get(reverse("environment-list")).content.decode()
    assert badge in dev.get(reverse("environment-chaos", args=[env.pk])).content.decode()
    new_revision(env, PAGE_SNAPSHOT)
    assert "chaos-ready" not in dev.get(reverse("environment-list")).content.decode()


def test_the_list_badges_cost_the_same_queries_for_one_or_many_environments(dev, users, team):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert dev.get(reverse("environment-list")).status_code == 200
        return len(captured)

    first = make_environment("ui-list-0", team=team, owner=users["developer"])
    make_run(make_experiment(first, name="kill-web"), seconds=1.0)
    one = queries()
    for i in range(1, 5):
        environment = make_environment(f"ui-list-{i}", team=team, owner=users["developer"])
        make_run(make_experiment(environment, name="kill-web"), seconds=1.0)
    assert queries() == one


def test_the_revision_comparison_says_which_got_more_fragile(dev, env):
    experiment = make_experiment(env, name="kill-web")
    first = env.current_revision
    for seconds in (2.0, 3.0):
        make_run(experiment, seconds=seconds, revision=first)
    second = new_revision(env, PAGE_SNAPSHOT)
    for seconds in (12.0, 19.0):
        make_run(experiment, seconds=seconds, revision=second)
    html = dev.get(reverse("environment-chaos", args=[env.pk]),
                   {"a": first.number, "b": second.number}).content.decode()
    assert f"r{first.number} recovers in 3 s p95, r{second.number} in 19 s — more fragile" in html
    assert dev.get(reverse("environment-chaos", args=[env.pk]), {"a": "x", "b": "1"}).status_code == 400


DOCUMENT = """apiVersion: slipway.io/v1
kind: ChaosExperiments
metadata:
  environment: ui-qa
spec:
  settings:
    enabled: true
    slo_seconds: 20
  experiments:
  - name: kill-web
    fault: pod-kill
    target: web
  - name: cut-api
    fault: network-cut
    target: api
    duration_seconds: 0
"""


def test_the_document_page_applies_all_or_nothing_and_names_the_line(dev, env):
    url = reverse("environment-chaos-document", args=[env.pk])
    refused = dev.post(url, {"document": DOCUMENT})
    assert refused.status_code == 400
    assert "spec.experiments[1].duration_seconds: line 16:" in refused.content.decode()
    assert not ChaosExperiment.objects.filter(environment=env).exists()
    assert not ChaosSettings.objects.filter(environment=env, enabled=True).exists()
    assert dev.post(url, {"document": DOCUMENT.replace("duration_seconds: 0", "duration_seconds: 20")}).status_code == 302
    assert set(ChaosExperiment.objects.filter(environment=env).values_list("name", flat=True)) == {"kill-web", "cut-api"}
    assert ChaosSettings.objects.get(environment=env).slo_seconds == 20
    download = dev.get(url, {"download": "1"})
    assert download["Content-Type"] == "application/yaml" and b"name: cut-api" in download.content


def test_a_queued_run_is_stopped_from_its_report(dev, users, env):
    experiment = make_experiment(env, name="kill-web")
    run = ChaosRun.objects.create(experiment=experiment, environment=env, fault=experiment.fault,
                                  revision_number=env.current_revision.number)
    report = dev.get(reverse("chaos-run-detail", args=[run.pk])).content.decode()
    assert "Stop this run" in report and "data-live-transitional" in report  # the page keeps itself current
    dev.force_login(users["manager"])  # Managers read; they do not stop a team's run
    assert dev.post(reverse("chaos-run-stop", args=[run.pk])).status_code == 403
    dev.force_login(users["developer"])
    dev.post(reverse("chaos-run-stop", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == ChaosRun.STOPPED
    assert "Stop this run" not in dev.get(reverse("chaos-run-detail", args=[run.pk])).content.decode()
