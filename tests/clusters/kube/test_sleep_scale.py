"""Sleep and wake on the stack's control plane: Deployments to zero and back (an HPA-scaled count
included), HPAs saved, deleted and re-created, Ingresses routed to the waker and back, and the
StatefulSets of backing services that may sleep to zero and back."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.kube.sleep_scale import (
    autoscalers_restore,
    autoscalers_suspend,
    deployments_restore,
    deployments_scale_to_zero,
    deployments_wait,
    statefulsets_replicas,
    statefulsets_restore,
    statefulsets_scale_to_zero,
    statefulsets_wait,
)
from clusters.kube.wake_route import (
    WAKER,
    ingress_routes,
    ingresses_restore,
    ingresses_route_to_waker,
    wake_address,
    wake_address_reachable,
    waker_ensure,
    waker_manifests,
    waker_remove,
)

from .conftest import SELECTOR, component_create, labels

pytestmark = [pytest.mark.integration]


def _hpa(namespace: str, name: str, minimum: int = 1) -> dict:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name)},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": minimum, "maxReplicas": 5,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}]}}


def _ingress(namespace: str) -> dict:
    paths = [{"path": p, "pathType": "Prefix", "backend": {"service": {"name": n, "port": {"number": 80}}}}
             for p, n in (("/api", "api"), ("/", "web"))]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "shop", "namespace": namespace, "labels": labels("shop")},
            "spec": {"rules": [{"host": "shop.sleep.test", "http": {"paths": paths}}]}}


def _replicas(api, namespace):
    return {d.metadata.name: d.spec.replicas for d in k8s.AppsV1Api(api).list_namespaced_deployment(namespace).items}


def test_sleep_and_wake_restore_counts_autoscalers_and_routes(kube_client, kube_namespace):
    ns = kube_namespace
    component_create(kube_client, ns, "web", replicas=3)  # as if its HPA (min 1) had scaled it to 3
    component_create(kube_client, ns, "api", replicas=2)
    k8s.AutoscalingV2Api(kube_client).create_namespaced_horizontal_pod_autoscaler(ns, _hpa(ns, "web"))
    k8s.NetworkingV1Api(kube_client).create_namespaced_ingress(ns, _ingress(ns))
    deployments_wait(kube_client, ns, ["web", "api"], timeout=60)
    original_rules = ingress_routes(kube_client, ns, selector=SELECTOR)

    # Sleep: route first, then autoscalers, then scale.
    waker_ensure(kube_client, ns, address="10.0.0.5:8000", labels=labels(WAKER))
    assert ingresses_route_to_waker(kube_client, ns, original_rules, address="10.0.0.5:8000") == ["shop"]
    saved_hpas = autoscalers_suspend(kube_client, ns, selector=SELECTOR)
    saved = deployments_scale_to_zero(kube_client, ns, selector=SELECTOR)
    assert saved == {"web": 3, "api": 2}
    assert set(saved_hpas) == {"web"} and saved_hpas["web"]["spec"]["minReplicas"] == 1
    deployments_wait(kube_client, ns, saved, timeout=60)
    assert _replicas(kube_client, ns) == {"web": 0, "api": 0}
    assert not k8s.CoreV1Api(kube_client).list_namespaced_pod(ns).items
    assert not k8s.AutoscalingV2Api(kube_client).list_namespaced_horizontal_pod_autoscaler(ns).items
    live = k8s.NetworkingV1Api(kube_client).read_namespaced_ingress("shop", ns)
    backends = {p.backend.service.name for r in live.spec.rules for p in r.http.paths}
    assert backends == {WAKER} and live.spec.rules[0].host == "shop.sleep.test"
    service = k8s.CoreV1Api(kube_client).read_namespaced_service(WAKER, ns)
    assert service.spec.selector is None and service.spec.ports[0].port == 8000
    endpoints = k8s.DiscoveryV1Api(kube_client).read_namespaced_endpoint_slice(WAKER, ns)
    assert endpoints.endpoints[0].addresses == ["10.0.0.5"]

    # A re-run after a crash (everything already asleep) saves the same, never zeros or the waker's rules.
    assert deployments_scale_to_zero(kube_client, ns, selector=SELECTOR, saved=saved) == saved
    assert autoscalers_suspend(kube_client, ns, selector=SELECTOR, saved=saved_hpas) == saved_hpas
    assert ingress_routes(kube_client, ns, selector=SELECTOR, saved=original_rules) == original_rules
    assert ingress_routes(kube_client, ns, selector=SELECTOR) == {}  # nothing saved: the waker's rules are not

    # Wake.
    assert deployments_restore(kube_client, ns, saved) == ["api", "web"]
    assert autoscalers_restore(kube_client, ns, saved_hpas) == ["web"]
    deployments_wait(kube_client, ns, saved, timeout=60)
    assert ingresses_restore(kube_client, ns, original_rules) == ["shop"]
    waker_remove(kube_client, ns)
    assert _replicas(kube_client, ns) == {"web": 3, "api": 2}
    hpa = k8s.AutoscalingV2Api(kube_client).read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert hpa.spec.min_replicas == 1 and hpa.spec.max_replicas == 5
    assert ingress_routes(kube_client, ns, selector=SELECTOR) == original_rules
    with pytest.raises(ApiException) as gone:
        k8s.CoreV1Api(kube_client).read_namespaced_service(WAKER, ns)
    assert gone.value.status == 404
    # Idempotent: a second wake changes nothing (nothing at zero any more).
    assert deployments_restore(kube_client, ns, saved) == []
    waker_remove(kube_client, ns)


def _statefulsets(api, namespace):
    return {s.metadata.name: s.spec.replicas for s in k8s.AppsV1Api(api).list_namespaced_stateful_set(namespace).items}


def test_only_the_named_statefulsets_sleep_and_wake_ready(kube_client, kube_namespace):
    ns = kube_namespace
    component_create(kube_client, ns, "db", kind="StatefulSet", replicas=1)  # stays up
    component_create(kube_client, ns, "cache", kind="StatefulSet", replicas=1)  # may sleep
    statefulsets_wait(kube_client, ns, ["db", "cache"], timeout=60)
    # Named but absent (an s3 store has no StatefulSet): left out.
    saved = statefulsets_replicas(kube_client, ns, ["cache", "media"], selector=SELECTOR)
    assert saved == {"cache": 1}

    statefulsets_scale_to_zero(kube_client, ns, saved)
    statefulsets_wait(kube_client, ns, saved, timeout=60)
    assert _statefulsets(kube_client, ns) == {"db": 1, "cache": 0}
    # A re-run after a crash finds cache at zero and keeps its saved count, never 0.
    assert statefulsets_replicas(kube_client, ns, ["cache"], selector=SELECTOR, saved=saved) == saved
    assert statefulsets_replicas(kube_client, ns, ["cache"], selector=SELECTOR) == {"cache": 0}

    assert statefulsets_restore(kube_client, ns, saved) == ["cache"]
    statefulsets_wait(kube_client, ns, saved, timeout=60)
    cache = k8s.AppsV1Api(kube_client).read_namespaced_stateful_set("cache", ns)
    assert cache.spec.replicas == 1 and cache.status.ready_replicas == 1
    assert statefulsets_restore(kube_client, ns, saved) == []  # idempotent: nothing at zero any more
    assert statefulsets_restore(kube_client, ns, {"gone": 1}) == []  # removed meanwhile: skipped


def test_a_dns_name_gives_an_external_name_service():
    service, = waker_manifests("ns", address="slipway.internal.example:8443", labels={})
    assert service["spec"] == {"type": "ExternalName", "externalName": "slipway.internal.example",
                               "ports": [{"name": "http", "port": 8443, "targetPort": 8443, "protocol": "TCP"}]}
    assert waker_manifests("ns", address="[fd00::5]:8000", labels={})[1]["addressType"] == "IPv6"
    # Loopback (the development default) cannot be an endpoint: the Service alone, and it says so.
    assert [m["kind"] for m in waker_manifests("ns", address="127.0.0.1:8000", labels={})] == ["Service"]
    assert not wake_address_reachable("127.0.0.1:8000") and wake_address_reachable("10.1.2.3:80")


@pytest.mark.parametrize("address", ["127.0.0.1", "host:", ":80", "host:99999", "host:http"])
def test_a_wake_address_without_a_port_is_refused_with_a_sentence(address):
    with pytest.raises(ValueError, match="is not host:port"):
        wake_address(address)
