"""The embedded default's shared data servers: the local MariaDB, Redis and moto servers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

from portal.audit.actor import Actor

from .services import data_server_set

LOCAL_DEFAULTS = {
    "MARIADB_URL": "mysql://root:slipway@127.0.0.1:53306/mysql",
    "REDIS_URL": "redis://127.0.0.1:56379",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:55000",
}


def data_servers_register_local(*, actor: Actor, cluster, facts: Mapping[str, str] | None = None) -> list[str]:
    """Make the local servers the cluster's shared servers (idempotent); returns the kinds configured."""
    facts = {**LOCAL_DEFAULTS, **{k: v for k, v in (facts or {}).items() if v}}
    mysql = urlparse(facts["MARIADB_URL"])
    data_server_set(actor=actor, user=None, cluster=cluster, kind="mysql", host=mysql.hostname or "127.0.0.1",
                    port=mysql.port or 3306, user_name=mysql.username or "root", password=mysql.password or "")
    redis = urlparse(facts["REDIS_URL"])
    data_server_set(actor=actor, user=None, cluster=cluster, kind="redis", host=redis.hostname or "127.0.0.1",
                    port=redis.port or 6379, password=redis.password or "", mode="db")
    data_server_set(actor=actor, user=None, cluster=cluster, kind="s3", endpoint_url=facts["AWS_ENDPOINT_URL"],
                    user_name=facts.get("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID", "")),
                    password=facts.get("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY", "")),
                    region=facts.get("AWS_DEFAULT_REGION", "us-east-1"))
    return ["mysql", "redis", "s3"]
