import pytest

from tests.environments.route53_proxy import Route53Proxy


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
