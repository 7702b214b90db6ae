"""pytest fixtures that bring up the local stack and hand out fresh, isolated resources.

A missing service skips the test on a laptop, but fails it when ``CI`` is set: in CI a skip for
a missing service would hide a broken install step.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from .process import Context, StackError
from .registry import COMPONENTS, load_facts, save_facts

_started: dict[str, dict[str, str]] = {}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def stack_up(name: str) -> dict[str, str]:
    """Ensure one stack component is up (once per session) and return its connection facts."""
    if name not in _started:
        ctx = Context.default()
        try:
            facts = COMPONENTS[name].up(ctx)
        except (StackError, subprocess.CalledProcessError, OSError) as exc:
            message = f"stack component {name!r} is not available: {exc}"
            if in_ci():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        merged = load_facts(ctx)
        merged.update(facts)
        save_facts(ctx, merged)
        _started[name] = facts
    return _started[name]


def _unique(prefix: str) -> str:
    import uuid

    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return stack_up("postgres")["POSTGRES_URL"]


@pytest.fixture(scope="session")
def redis_url() -> str:
    return stack_up("redis")["REDIS_URL"]


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    return stack_up("mariadb")["MARIADB_URL"]


@pytest.fixture(scope="session")
def aws_endpoint() -> dict[str, str]:
    return stack_up("moto")


@pytest.fixture
def pg_database(postgres_url):
    """A fresh PostgreSQL database for one test; its URL."""
    import psycopg

    name = _unique("t")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_namespace(redis_url):
    """A Redis db index and key prefix for one test; keys under the prefix are removed afterwards."""
    import redis

    prefix = _unique("t") + ":"
    client = redis.Redis.from_url(f"{redis_url}/1")
    yield {"url": f"{redis_url}/1", "prefix": prefix, "client": client}
    keys = list(client.scan_iter(f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def mariadb_database(mariadb_url):
    """A fresh MariaDB database for one test: dict(host, port, user, password, database)."""
    from urllib.parse import urlparse

    import pymysql

    url = urlparse(mariadb_url)
    facts = {"host": url.hostname, "port": url.port, "user": url.username, "password": url.password}
    name = _unique("t")
    conn = pymysql.connect(**facts, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield {**facts, "database": name}
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@pytest.fixture
def aws_settings(aws_endpoint, settings, monkeypatch):
    """Point the AWS adapter at the stack's moto server for one test."""
    settings.AWS_ENDPOINT_URL = aws_endpoint["AWS_ENDPOINT_URL"]
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, aws_endpoint[key])
    return aws_endpoint


@pytest.fixture
def s3_bucket(aws_settings):
    """A fresh S3 bucket on the moto server, emptied and removed afterwards."""
    from portal import aws

    s3 = aws.client("s3")
    name = _unique("t").replace("_", "-")
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def route53_zone(aws_settings):
    """A fresh hosted zone on the moto server; its id and name."""
    from portal import aws

    r53 = aws.client("route53")
    name = f"{_unique('t').replace('_', '-')}.test."
    zone = r53.create_hosted_zone(Name=name, CallerReference=name)["HostedZone"]
    yield {"id": zone["Id"], "name": name}
    records = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in records if r["Type"] not in ("NS", "SOA")]
    if changes:
        r53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={"Changes": changes})
    r53.delete_hosted_zone(Id=zone["Id"])
