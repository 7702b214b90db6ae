"""The input of rendering: an environment revision as plain, immutable data.

These dataclasses are the contract between the portal (which builds them from an
``EnvironmentRevision``) and the renderer. They hold no Django objects, so rendering stays a pure
function that can be golden-file tested and re-run for drift detection.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("dev", "qa", "staging", "prod")
COLOURS = ("", "blue", "green")
BACKING_KINDS = ("mariadb", "redis", "s3")


class RenderError(ValueError):
    """The spec cannot be rendered into valid Kubernetes objects; the message says which field and why."""


@dataclass(frozen=True)
class ComponentSpec:
    name: str  # DNS-1035 label (it names a Service), e.g. "web"
    image: str  # repository without tag, e.g. "registry.example.com/shop/web"
    tag: str  # e.g. "1.4.2"
    digest: str = ""  # "sha256:…"; when set the image is pinned as image@digest
    port: int | None = 8080  # container port; None = no Service/Ingress/probes
    health_path: str = "/healthz"  # HTTP readiness/liveness path (when port is set)
    env: tuple[tuple[str, str], ...] = ()  # plain config -> ConfigMap, envFrom
    secret_env: tuple[tuple[str, str], ...] = ()  # -> Secret (stringData), envFrom
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    replicas: int = 1
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "500m"
    memory_limit: str = "512Mi"
    autoscaling_min: int | None = None  # HPA when both min and max are set
    autoscaling_max: int | None = None
    autoscaling_cpu_percent: int = 70
    ingress_path: str | None = "/"  # None = not exposed through the Ingress

    @property
    def autoscaled(self) -> bool:
        return self.autoscaling_min is not None and self.autoscaling_max is not None


@dataclass(frozen=True)
class BackingServiceSpec:
    kind: str  # "mariadb" | "redis" | "s3"
    name: str  # e.g. "db"
    version: str = ""  # image tag for in-cluster servers, e.g. "11.4" / "7.2"
    storage: str = "1Gi"
    # Root password for an in-cluster MariaDB. Rendering is pure, so the caller generates and
    # stores it (encrypted); when empty, the "<name>-credentials" Secret is referenced but not
    # rendered, i.e. something else must create it.
    password: str = ""
    # The blueprint lets a sleeping environment scale this service's StatefulSet to zero too (the sleep job
    # reads it; the render keeps its volume claim when it is scaled down).
    may_sleep: bool = False


@dataclass(frozen=True)
class EnvironmentSpec:
    name: str
    namespace: str
    team: str
    owner: str
    stage: str  # dev|qa|staging|prod
    revision: int  # revision number (goes into an annotation, NOT into names)
    hostname: str = ""  # Ingress host; no Ingress when empty
    aliases: tuple[str, ...] = ()  # extra Ingress hosts (same paths), only with a hostname
    components: tuple[ComponentSpec, ...] = ()
    backing_services: tuple[BackingServiceSpec, ...] = ()
    colour: str = ""  # "" | "blue" | "green": the colour being rendered
    active_colour: str = ""  # the colour Services select; defaults to `colour` when that is set
    quota_cpu: str = "8"
    quota_memory: str = "16Gi"
    quota_pods: int = 50
    ingress_class: str = "nginx"
    # False on clusters without a storage provisioner (the local control plane): emptyDir data.
    persistent_backing: bool = True
    in_cluster_backing: bool = True  # render MariaDB/Redis StatefulSets (non-production); s3 never renders objects
    # Limits quotas; empty = same as the request quotas above. Separate because limits are
    # usually set well above requests (default components request 100m but may burst to 500m).
    quota_cpu_limit: str = ""
    quota_memory_limit: str = ""
    # Namespace of the ingress controller, the only other namespace allowed to reach the pods.
    ingress_controller_namespace: str = "ingress-nginx"
    # The environment's ownership marker (portal.derived_names.owner_marker), annotated on its
    # namespace; empty only in specs that are rendered but never applied (golden files, diffs).
    owner_marker: str = ""
    # Seconds a pod stays on a node that is NotReady or unreachable before it is evicted and
    # replaced elsewhere (Kubernetes' default, 300, is too long for a chaos experiment's node failure).
    node_eviction_seconds: int = 15

    @property
    def selected_colour(self) -> str:
        """The colour Services route to ("" when the environment is not blue/green)."""
        return self.active_colour or self.colour
