"""What every rendered pod tolerates: how long it stays on a failed node before it is replaced."""

from __future__ import annotations

from .spec import EnvironmentSpec

# The taints the node lifecycle controller puts on a node that is NotReady or stopped reporting.
NODE_FAILURE_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def node_failure_tolerations(spec: EnvironmentSpec) -> list[dict]:
    """Tolerations that evict a pod ``spec.node_eviction_seconds`` after its node fails.

    Without them the DefaultTolerationSeconds admission plugin adds 300 s: five minutes of a
    replica missing before it is rescheduled on a healthy node.
    """
    return [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": spec.node_eviction_seconds}
            for key in NODE_FAILURE_TAINTS]
