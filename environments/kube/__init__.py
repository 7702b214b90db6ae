"""The Kubernetes rollout engine: server-side apply, prune, readiness watches, namespace deletion.

No Django here: every function takes a ``kubernetes.client.ApiClient`` (built by
``clusters.kubeclient``) and plain manifests, so the engine runs the same in a Celery task, a
shell or a test.
"""
