"""The one place that talks to Kubernetes (ruff bans ``kubernetes`` imports anywhere else).

Connecting: ``client`` (API clients from a stored kubeconfig, ``probe``, the asyncio endpoint),
``kubeconfig_policy`` (where a kubeconfig may send credentials), ``eks_auth`` (EKS tokens minted
in-process), ``permissions`` (what Slipway must be allowed to do), ``errors`` (what callers catch).
The engine: ``apply`` (server-side apply, prune), ``wait`` (rollout watches, failure reasons),
``readiness`` (when a workload counts as ready), ``namespace``, ``live_diff`` (drift of live objects),
``workloads`` (status for the environment page), ``pods`` and ``pod_logs`` (following pods and
their logs), ``labels`` (the ownership labels and their selector).
Chaos experiments: ``chaos_faults`` (the faults and their undo, all idempotent), ``steady_state``
(when an environment counts as healthy, and ``RecoveryWatch`` measuring how long it took to get
back there), ``list_watch`` (list-then-watch threads that survive the server closing a watch).

No models here: every function takes a ``kubernetes.client.ApiClient`` (or a kubeconfig's text)
and plain data, so the engine runs the same in a Celery task, a shell or a test; and nothing here
imports ``environments``.
"""
