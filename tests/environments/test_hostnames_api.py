"""The hostname API and pages: permissions, error envelope, audit, and what each role sees."""

import pytest
from django.test import Client

from environments.hostnames.models import ClusterDns, DnsSweep
from environments.models import Blueprint
from environments.services import environment_create
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent
from portal.jobs.models import Job

pytestmark = [pytest.mark.integration]
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


def settings_body(route53_zone, **changes):
    return {"zone": route53_zone["name"], "hostname_pattern": "{environment}.{zone}", "record_type": "CNAME",
            "target": "lb.example.net", "ttl": 120} | changes


def test_cluster_dns_api(users, api_for, dns_cluster, route53_zone):
    url = f"/api/v1/dns/clusters/{dns_cluster.name}/"
    assert api_for(users["qa"]).put(url, settings_body(route53_zone), format="json").status_code == 403
    bad = api_for(users["admin"]).put(url, settings_body(route53_zone, zone="missing.test"), format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["zone"] == ["Route 53 has no hosted zone named missing.test."]
    bad = api_for(users["admin"]).put(url, settings_body(route53_zone, hostname_pattern="{zone}"), format="json")
    assert bad.status_code == 400 and "must contain {environment}" in bad.json()["error"]["message"]
    ok = api_for(users["admin"]).put(url, settings_body(route53_zone), format="json")
    assert ok.status_code == 200 and ok.json()["hostname_pattern"] == "{environment}.{zone}"
    assert ClusterDns.objects.get(cluster=dns_cluster).ttl == 120
    listed = api_for(users["qa"]).get("/api/v1/dns/clusters/").json()
    assert [c["cluster"] for c in listed["results"]] == [dns_cluster.name]
    assert api_for(users["admin"]).put("/api/v1/dns/clusters/nope/", settings_body(route53_zone),
                                       format="json").status_code == 404


def test_environment_hostnames_api(users, team, api_for, dns_cluster, route53_zone):
    qa = users["qa"]
    environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=dns_cluster, name="api-1",
                                     stage="qa", team=team, blueprint=Blueprint.objects.get(name="shop"),
                                     versions=dict(VERSIONS))
    url = f"/api/v1/environments/{environment.pk}/hostnames/"
    rows = api_for(qa).get(url).json()
    assert [(r["name"], r["state"], r["owned"]) for r in rows] == [(environment.hostname, "pending", True)]
    zone = route53_zone["name"].rstrip(".")
    answer = api_for(qa).put(url, {"names": [f"extra.{zone}"]}, format="json")
    assert answer.status_code == 202 and answer.json()["kind"] == "rollout"
    bad = api_for(qa).put(url, {"names": ["elsewhere.example.org"]}, format="json")
    assert bad.status_code == 400 and "not inside the hosted zone" in bad.json()["error"]["message"]
    assert api_for(qa).put(url, {"names": [], "adopted": ["legacy.example.org"]}, format="json").status_code == 403
    answer = api_for(qa).post(url, {"hostname": f"renamed.{zone}"}, format="json")
    assert answer.status_code == 202
    environment.refresh_from_db()
    assert environment.hostname == f"renamed.{zone}"
    assert api_for(users["outsider"]).get(url).status_code == 403  # no role: refused
    assert api_for(users["manager"]).post(url, {"hostname": ""}, format="json").status_code == 403


def test_sweep_api_and_page(users, api_for, dns_cluster, route53_zone, django_capture_on_commit_callbacks):
    assert api_for(users["qa"]).post("/api/v1/dns/sweeps/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        answer = api_for(users["admin"]).post("/api/v1/dns/sweeps/")
    assert answer.status_code == 202
    job = Job.objects.get(pk=answer.json()["id"])
    assert job.state == "succeeded", job.error
    sweep = DnsSweep.objects.get()
    assert sweep.job_id == job.pk and sweep.zone_name == route53_zone["name"].rstrip(".")
    assert AuditEvent.objects.filter(action="dns.sweep", outcome="success").exists()
    assert api_for(users["manager"]).get("/api/v1/dns/sweeps/").json()["count"] == 1
    assert api_for(users["qa"]).get("/api/v1/dns/sweeps/").status_code == 403
    browser = Client()
    browser.force_login(users["admin"])
    page = browser.get("/environments/hostnames/").content.decode()
    assert 'data-sweeps' in page and sweep.zone_name in page and "Sweep now" in page
    browser.force_login(users["qa"])
    page = browser.get("/environments/hostnames/").content.decode()
    assert "Sweep now" not in page and browser.get(f"/environments/hostnames/clusters/{dns_cluster.pk}/").status_code == 403


def test_cluster_settings_page(users, dns_cluster, route53_zone):
    browser = Client()
    browser.force_login(users["admin"])
    url = f"/environments/hostnames/clusters/{dns_cluster.pk}/"
    assert route53_zone["name"].rstrip(".") in browser.get(url).content.decode()
    page = browser.post(url, settings_body(route53_zone, zone="nowhere.test")).content.decode()
    assert "Route 53 has no hosted zone named nowhere.test." in page
    answer = browser.post(url, settings_body(route53_zone, hostname_pattern="{environment}-web.{zone}"))
    assert answer.status_code == 302
    assert ClusterDns.objects.get(cluster=dns_cluster).hostname_pattern == "{environment}-web.{zone}"
    assert "Hostnames" in browser.get("/clusters/").content.decode()


def test_beat_runs_the_sweeper(settings):
    assert settings.CELERY_BEAT_SCHEDULE["environments-dns-sweep"]["task"] == "environments.dns_sweep"
    from portal.celery import app

    assert "environments.dns_sweep" in app.tasks and "environments.dns_sweep_job" in app.tasks
