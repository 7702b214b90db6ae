"""Listing and watching pods by label, for callers that follow pods as they come and go."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubernetes import client, watch


def pods_list(api: client.ApiClient, namespace: str, *, selector: str) -> list[Any]:
    """The pods (``V1Pod``) of ``namespace`` matching the label ``selector``. Raises API errors."""
    return client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items


def pods_watch(api: client.ApiClient, *, selector: str, seconds: float) -> Iterator[tuple[str, Any]]:
    """(event type, ``V1Pod``) for pods of every namespace matching ``selector``, for about ``seconds``.

    The watch starts from now (ADDED events first for the pods that exist) and ends when the server
    closes it after ``seconds``. Raises API and connection errors.
    """
    core = client.CoreV1Api(api)
    for event in watch.Watch().stream(core.list_pod_for_all_namespaces, label_selector=selector,
                                      timeout_seconds=max(1, int(seconds))):
        yield event["type"], event["object"]
