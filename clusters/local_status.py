"""What `make run` is doing with the local Kubernetes cluster, told to the web pages through a small file.

`make run` builds the local control plane in a background thread (the first start compiles it, ~12-15
minutes) and registers it when it is up. The web server is another process, so the runner writes its
progress to ``settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE`` (JSON: state, started_at, pid, message) and
"New environment" reads it to say why the cluster list is empty and when it will fill.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import Cluster

BUILDING = "building"
UP = "up"
FAILED = "failed"
STATES = (BUILDING, UP, FAILED)
# A first build takes ~12-15 minutes; past this a "building" file is taken for a leftover of a killed run.
BUILD_GIVE_UP_SECONDS = 2 * 3600


@dataclass(frozen=True)
class LocalClusterStatus:
    state: str
    started_at: datetime
    message: str = ""

    @property
    def minutes_since_start(self) -> int:
        return max(0, int((timezone.now() - self.started_at).total_seconds() // 60))


def _path() -> Path:
    return Path(settings.SLIPWAY_LOCAL_CLUSTER_STATUS_FILE)


def local_cluster_status_write(*, state: str, message: str = "", started_at: datetime | None = None,
                               pid: int | None = None) -> None:
    """Record the local cluster's state (atomically: a reader never sees half a file)."""
    if state not in STATES:
        raise ValueError(f"unknown local cluster state {state!r}")
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"state": state, "started_at": (started_at or timezone.now()).isoformat(),
                "pid": pid if pid is not None else os.getpid(), "message": message[:500]}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document))
    temporary.replace(path)


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def local_cluster_status() -> LocalClusterStatus | None:
    """The local cluster's state as `make run` last wrote it, or None when there is none worth telling.

    A record whose writer has exited (Ctrl-C during the build; the web server then runs without `make run`)
    or a "building" one that is hours old says nothing true any more, so it reads as None; so does a
    missing or unreadable file.
    """
    try:
        document = json.loads(_path().read_text())
        state = document["state"]
        started_at = datetime.fromisoformat(document["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if state not in STATES:
        return None
    if not _alive(document.get("pid")):
        return None
    if state == BUILDING and (timezone.now() - started_at).total_seconds() > BUILD_GIVE_UP_SECONDS:
        return None
    return LocalClusterStatus(state=state, started_at=started_at, message=str(document.get("message") or ""))


def local_cluster_start_tracked(start: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `make run`'s local-cluster starter so the pages know: "building" while it runs, then "up"
    when a local cluster got registered, else "failed" (the runner's terminal output says why)."""

    @functools.wraps(start)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        started_at = timezone.now()
        local_cluster_status_write(state=BUILDING, started_at=started_at)
        try:
            result = start(*args, **kwargs)
        except BaseException:
            local_cluster_status_write(state=FAILED, started_at=started_at,
                                       message="`make run` stopped while starting it")
            raise
        # Registered by this start (a cluster left from an earlier run does not make this one a success).
        registered = Cluster.objects.filter(kind=Cluster.LOCAL, updated_at__gte=started_at).exclude(
            kubeconfig="").exclude(status__in=[Cluster.DESTROYED, Cluster.DESTROYING]).exists()
        local_cluster_status_write(state=UP if registered else FAILED, started_at=started_at,
                                   message="" if registered else "the output of `make run` says why")
        return result

    return tracked
