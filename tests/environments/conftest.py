import pytest

from tests.environments.route53_proxy import Route53Proxy
from tests.fixtures.kube_cluster import namespaces_delete


@pytest.fixture
def cleanup_namespaces(kube_client):
    """Namespaces a test appends here are deleted afterwards."""
    names: list[str] = []
    yield names
    namespaces_delete(kube_client, names)


@pytest.fixture
def route53_proxy(aws_settings, settings):
    """Route 53 calls go through a fault-injecting proxy in front of moto; retries back off in milliseconds."""
    proxy = Route53Proxy(upstream=aws_settings["AWS_ENDPOINT_URL"])
    settings.AWS_ENDPOINT_URLS = {"route53": proxy.start()}
    settings.SLIPWAY_ROUTE53_RETRY_BASE_SECONDS = 0.001
    settings.SLIPWAY_ROUTE53_RETRY_MAX_SECONDS = 0.01
    settings.SLIPWAY_DNS_CHANGE_POLL_SECONDS = 0.001
    yield proxy
    proxy.stop()


@pytest.fixture
def dns_cluster(db, route53_zone, users):
    """The demo blueprint and a cluster whose environments get names in a fresh moto hosted zone."""
    from django.core.management import call_command

    from clusters.models import Cluster
    from environments.hostnames.services import cluster_dns_set
    from portal.audit.actor import Actor

    call_command("seed_demo_blueprint", verbosity=0)
    cluster = Cluster.objects.create(name="dns-local", kind="local", is_default=True)
    cluster_dns_set(actor=Actor.for_user(users["admin"]), user=users["admin"], cluster=cluster,
                    zone=route53_zone["name"], hostname_pattern="{environment}.{team}.{zone}",
                    record_type="CNAME", target="ingress-lb.elb.example.net", ttl=60)
    return cluster


@pytest.fixture
def admin_api(users, api_for):
    return api_for(users["admin"])
