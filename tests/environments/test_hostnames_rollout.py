"""Hostnames end to end on the real local control plane and the moto server: create → the rollout writes
the record and its ownership TXT and puts the name on the Ingress; extra names join the Ingress; destroy
removes exactly Slipway's records."""

from pathlib import Path

import pytest
from django.core.management import call_command
from kubernetes import client as k8s

from clusters.services import cluster_register
from environments.hostnames import route53
from environments.hostnames.names import owner_id, ownership_name
from environments.hostnames.route53 import Change, RecordSet
from environments.hostnames.services import cluster_dns_set, environment_extra_hostnames_set
from environments.models import Blueprint, Environment
from environments.services import environment_create, environment_destroy
from portal.audit.actor import Actor

pytestmark = [pytest.mark.integration]
VERSIONS = {"web": "1.5.0", "api": "2.1.0", "worker": "2.0.1"}


@pytest.fixture
def named_cluster(db, kubeconfig_path, settings, users, route53_zone):
    settings.SLIPWAY_ROLLOUT_TIMEOUT_SECONDS = 90
    call_command("seed_demo_blueprint", verbosity=0)
    cluster = cluster_register(actor=Actor.system("test"), name="local", kind="local",
                               kubeconfig=Path(kubeconfig_path).read_text(), make_default=True)
    cluster_dns_set(actor=Actor.for_user(users["admin"]), user=users["admin"], cluster=cluster,
                    zone=route53_zone["name"], hostname_pattern="{environment}.{team}.{zone}", record_type="CNAME",
                    target="ingress.elb.example.net", ttl=60)
    return cluster


def zone_records(route53_zone):
    return {(r.name, r.type): r for r in route53.iter_records(route53_zone["id"])}


def ingress_hosts(kube_client, namespace):
    ingress = k8s.NetworkingV1Api(kube_client).read_namespaced_ingress(namespace.removeprefix("slw-"), namespace)
    return [rule.host for rule in ingress.spec.rules]


def test_hostname_reaches_route53_and_the_ingress_and_goes_away_on_destroy(
        users, team, named_cluster, kube_client, cleanup_namespaces, route53_zone, django_capture_on_commit_callbacks):
    qa, actor = users["qa"], Actor.for_user(users["qa"])
    cleanup_namespaces.append("slw-it-dns")
    zone = route53_zone["name"].rstrip(".")
    with django_capture_on_commit_callbacks(execute=True):
        environment = environment_create(actor=actor, user=qa, cluster=named_cluster, name="it-dns", stage="qa",
                                         team=team, blueprint=Blueprint.objects.get(name="shop"),
                                         versions=dict(VERSIONS))
    environment.refresh_from_db()
    job = environment.rollouts.get().job
    assert environment.status == "ready", (environment.status_message, job.error)
    name = f"it-dns.payments.{zone}"
    assert environment.hostname == name
    assert ingress_hosts(kube_client, "slw-it-dns") == [name]
    records = zone_records(route53_zone)
    assert records[(name, "CNAME")].values == ("ingress.elb.example.net",)
    assert f"slipway/owner={owner_id()}" in records[(ownership_name(name), "TXT")].values[0]
    log = "\n".join(job.events.filter(kind="log").values_list("text", flat=True))
    assert f"dns {name}: CNAME → ingress.elb.example.net" in log and "INSYNC" in log

    extra = f"shop.{zone}"
    with django_capture_on_commit_callbacks(execute=True):
        rollout = environment_extra_hostnames_set(actor=actor, user=qa, environment=environment, names=[extra])
    rollout.job.refresh_from_db()
    assert rollout.job.state == "succeeded", rollout.job.error
    assert ingress_hosts(kube_client, "slw-it-dns") == [name, extra]
    assert (extra, "CNAME") in zone_records(route53_zone)

    # The environment page shows the names.
    from django.test import Client

    browser = Client()
    browser.force_login(qa)
    page = browser.get(f"/environments/{environment.pk}/").content.decode()
    assert f'data-hostname href="http://{name}/"' in page and f'data-record="{extra}"' in page

    unrelated = f"keep-me.{zone}"
    route53.change(route53_zone["id"], [[Change("CREATE", RecordSet(name=unrelated, type="CNAME", ttl=60,
                                                                    values=("x.example.org",)))]])
    with django_capture_on_commit_callbacks(execute=True):
        destroy_job = environment_destroy(actor=actor, user=qa, environment=environment)
    destroy_job.refresh_from_db()
    environment.refresh_from_db()
    assert (environment.status, destroy_job.state) == (Environment.DESTROYED, "succeeded"), destroy_job.error
    records = zone_records(route53_zone)
    assert [k for k in records if k[1] in ("CNAME", "TXT")] == [(unrelated, "CNAME")]
    route53.change(route53_zone["id"], [[Change("DELETE", records[(unrelated, "CNAME")])]])


def test_a_name_taken_before_the_rollout_fails_it_with_nothing_applied(
        users, team, named_cluster, kube_client, cleanup_namespaces, route53_zone, django_capture_on_commit_callbacks):
    qa = users["qa"]
    cleanup_namespaces.append("slw-it-taken")
    environment = environment_create(actor=Actor.for_user(qa), user=qa, cluster=named_cluster, name="it-taken",
                                     stage="qa", team=team, blueprint=Blueprint.objects.get(name="shop"),
                                     versions=dict(VERSIONS))
    # Between the create (name was free) and the rollout, someone else takes the name.
    taken = RecordSet(name=environment.hostname, type="CNAME", ttl=60, values=("elsewhere.example.org",))
    route53.change(route53_zone["id"], [[Change("CREATE", taken)]])
    from environments.rollout import run_rollout
    from portal.jobs.runner import execute_job

    job = environment.rollouts.get().job
    assert execute_job(str(job.pk), Actor.for_user(qa), run_rollout) == "failed"
    environment.refresh_from_db()
    assert environment.status == "failed" and "was not created by Slipway" in environment.status_message
    assert zone_records(route53_zone)[(environment.hostname, "CNAME")] == taken
    names = [n.metadata.name for n in k8s.CoreV1Api(kube_client).list_namespace().items]
    assert "slw-it-taken" not in names  # nothing applied
    route53.change(route53_zone["id"], [[Change("DELETE", taken)]])
