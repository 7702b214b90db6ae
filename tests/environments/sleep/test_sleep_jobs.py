"""The sleep and wake jobs on the stack's control plane: what they change, what they restore, and how
they meet rollouts, drift checks and destroys."""

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from clusters.kube.wake_route import WAKER
from environments.drift_checks import environment_drift_check
from environments.models import Environment, SleepState
from environments.services import environment_destroy, environment_update_versions
from environments.sleep.services import environment_sleep, environment_wake
from portal.audit.actor import Actor
from portal.audit.models import AuditEvent

from .conftest import deployments, run_use_case

pytestmark = [pytest.mark.integration]


def _sleep(env, user, capture):
    return run_use_case(environment_sleep, env, user, capture, Environment.ASLEEP)


def _wake(env, user, capture):
    return run_use_case(environment_wake, env, user, capture, Environment.READY)


def _backends(api, env) -> set[str]:
    ingress = k8s.NetworkingV1Api(api).read_namespaced_ingress(env.name, env.namespace)
    return {p.backend.service.name for r in ingress.spec.rules for p in r.http.paths}


def test_sleep_then_wake_restores_counts_autoscalers_and_routes(awake, users, kube_client,
                                                                django_capture_on_commit_callbacks):
    env, qa = awake("cycle"), users["qa"]
    ns = env.namespace
    # The HPA had scaled web to 3 (the blueprint says 1): the wake must bring back 3.
    k8s.AppsV1Api(kube_client).patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    assert _backends(kube_client, env) == {"web", "api"}

    rollout = _sleep(env, qa, django_capture_on_commit_callbacks)
    assert rollout.job.kind == "sleep" and rollout.revision == env.current_revision
    assert rollout.job.state == "succeeded" and rollout.job.progress == 100
    assert rollout.job.message == "asleep: every Deployment at zero"
    assert deployments(kube_client, ns) == {"web": 0, "api": 0, "worker": 0}
    pods = k8s.CoreV1Api(kube_client).list_namespaced_pod(ns).items
    assert sorted(p.metadata.name.rsplit("-", 1)[0] for p in pods) == ["cache", "db"]  # backing services stay up
    assert not k8s.AutoscalingV2Api(kube_client).list_namespaced_horizontal_pod_autoscaler(ns).items
    assert _backends(kube_client, env) == {WAKER}
    state = SleepState.objects.get(environment=env)
    assert state.replicas == {"web": 3, "api": 1, "worker": 1} and set(state.autoscalers) == {"web"}
    assert set(state.routes) == {env.name} and state.slept_at and state.reason == "manual"
    # Drift checks do not call what the sleep did drift.
    assert environment_drift_check(actor=Actor.system("test"), environment=env) == []
    assert AuditEvent.objects.filter(action="environment.sleep", object_id=str(env.pk), outcome="success").exists()
    assert AuditEvent.objects.filter(action="environment.asleep", object_id=str(env.pk)).exists()

    rollout = _wake(env, qa, django_capture_on_commit_callbacks)
    assert rollout.job.kind == "wake" and rollout.job.state == "succeeded"
    assert deployments(kube_client, ns) == {"web": 3, "api": 1, "worker": 1}
    hpa = k8s.AutoscalingV2Api(kube_client).read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert (hpa.spec.min_replicas, hpa.spec.max_replicas) == (1, 5)
    assert _backends(kube_client, env) == {"web", "api"}
    with pytest.raises(ApiException):
        k8s.CoreV1Api(kube_client).read_namespaced_service(WAKER, ns)
    state.refresh_from_db()
    assert state.replicas == {} and state.routes == {} and state.autoscalers == {}
    assert state.woke_at and state.last_wake_seconds is not None and state.wake_requested_at is None
    assert environment_drift_check(actor=Actor.system("test"), environment=env) == []
    assert AuditEvent.objects.filter(action="environment.awake", object_id=str(env.pk)).exists()


def test_a_rollout_of_an_asleep_environment_wakes_it(awake, users, kube_client, django_capture_on_commit_callbacks):
    env, qa = awake("rollout"), users["qa"]
    k8s.AppsV1Api(kube_client).patch_namespaced_deployment_scale("web", env.namespace, {"spec": {"replicas": 2}})
    _sleep(env, qa, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        rollout = environment_update_versions(actor=Actor.for_user(qa), user=qa, environment=env,
                                              versions={"web": "1.6.0-rc1"})
    env.refresh_from_db()
    assert env.status == Environment.READY, (env.status_message, rollout.job.error)
    # web has an HPA, so the render has no count for it: the saved one comes back; the others are rendered.
    assert deployments(kube_client, env.namespace) == {"web": 2, "api": 1, "worker": 1}
    assert k8s.AutoscalingV2Api(kube_client).read_namespaced_horizontal_pod_autoscaler("web", env.namespace)
    assert _backends(kube_client, env) == {"web", "api"}
    state = SleepState.objects.get(environment=env)
    assert state.replicas == {} and state.reason == "rollout" and state.woke_at
    assert "woken by this rollout: web 0→2" in "\n".join(rollout.job.events.values_list("text", flat=True))


def test_an_asleep_environment_can_be_destroyed(awake, users, kube_client, django_capture_on_commit_callbacks):
    env, qa = awake("destroy"), users["qa"]
    _sleep(env, qa, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        job = environment_destroy(actor=Actor.for_user(qa), user=qa, environment=env)
    env.refresh_from_db()
    job.refresh_from_db()
    assert env.status == Environment.DESTROYED, (env.status_message, job.error)
    with pytest.raises(ApiException) as gone:
        k8s.CoreV1Api(kube_client).read_namespace(env.namespace)
    assert gone.value.status == 404
