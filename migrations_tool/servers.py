"""The embedded default's shared data servers: the local MariaDB, Redis and moto servers `make run` started."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from urllib.parse import urlparse

from portal.audit.actor import Actor

from .services import data_server_set


def _reachable(host: str | None, port: int | None) -> bool:
    try:
        with socket.create_connection((host or "127.0.0.1", port or 0), timeout=1):
            return True
    except OSError:
        return False


def data_servers_register_local(*, actor: Actor, cluster, facts: Mapping[str, str]) -> list[str]:
    """Make the servers named in ``facts`` the cluster's shared servers (idempotent); returns the kinds set.

    Only a server that is named and answers is registered: an environment built on a server that is
    not there fails its first rollout, which is worse than the in-cluster StatefulSet it gets otherwise.
    """
    kinds = []
    if facts.get("MARIADB_URL"):
        mysql = urlparse(facts["MARIADB_URL"])
        if _reachable(mysql.hostname, mysql.port or 3306):
            data_server_set(actor=actor, user=None, cluster=cluster, kind="mysql", host=mysql.hostname or "127.0.0.1",
                            port=mysql.port or 3306, user_name=mysql.username or "root", password=mysql.password or "")
            kinds.append("mysql")
    if facts.get("REDIS_URL"):
        redis = urlparse(facts["REDIS_URL"])
        if _reachable(redis.hostname, redis.port or 6379):
            data_server_set(actor=actor, user=None, cluster=cluster, kind="redis", host=redis.hostname or "127.0.0.1",
                            port=redis.port or 6379, password=redis.password or "", mode="db")
            kinds.append("redis")
    if facts.get("AWS_ENDPOINT_URL"):
        s3 = urlparse(facts["AWS_ENDPOINT_URL"])
        if _reachable(s3.hostname, s3.port or 80):
            data_server_set(actor=actor, user=None, cluster=cluster, kind="s3", endpoint_url=facts["AWS_ENDPOINT_URL"],
                            user_name=facts.get("AWS_ACCESS_KEY_ID", ""),
                            password=facts.get("AWS_SECRET_ACCESS_KEY", ""),
                            region=facts.get("AWS_DEFAULT_REGION", "us-east-1"))
            kinds.append("s3")
    return kinds
