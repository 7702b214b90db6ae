import uuid

import pymysql
import pytest
import redis

from devstack.spare_redis import spare_redis
from migrations_tool.contracts import Endpoint


@pytest.fixture(scope="session")
def spare_redis_server():
    """A second Redis server with a password, shared by this package's tests (each test flushes it)."""
    with spare_redis(password=f"pw-{uuid.uuid4().hex}") as server:
        yield server


@pytest.fixture
def other_redis(spare_redis_server):
    client = redis.Redis(host=spare_redis_server["host"], port=spare_redis_server["port"],
                         password=spare_redis_server["password"])
    client.flushall()
    yield spare_redis_server
    client.flushall()
    client.close()


@pytest.fixture
def mariadb_pair(mariadb_database):
    """A source database (the stack fixture's) and a second, empty target database on the same server."""
    facts = {k: mariadb_database[k] for k in ("host", "port", "user", "password")}
    target = f"{mariadb_database['database']}_to"
    conn = pymysql.connect(**facts, autocommit=True)
    conn.cursor().execute(f"CREATE DATABASE `{target}`")
    source_ep = Endpoint(kind="mysql", host=facts["host"], port=facts["port"], user=facts["user"],
                         password=facts["password"], database=mariadb_database["database"])
    target_ep = Endpoint(kind="mysql", host=facts["host"], port=facts["port"], user=facts["user"],
                         password=facts["password"], database=target)
    yield source_ep, target_ep
    conn.cursor().execute(f"DROP DATABASE IF EXISTS `{target}`")
    conn.close()


SCHEMA = [
    """CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL,
       name VARCHAR(80), phone VARCHAR(30), created_at DATETIME NOT NULL, avatar BLOB, flags BIT(3),
       score DOUBLE, UNIQUE KEY email_u (email), KEY created_idx (created_at)) ENGINE=InnoDB""",
    """CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, customer_email VARCHAR(120),
       amount DECIMAL(10,2), note TEXT, KEY cust (customer_id),
       CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)) ENGINE=InnoDB""",
    """CREATE TABLE order_tags (order_id BIGINT NOT NULL, tag VARCHAR(20) NOT NULL,
       PRIMARY KEY (order_id, tag)) ENGINE=InnoDB""",
    "CREATE TABLE audit_log (at DATETIME, line VARCHAR(200)) ENGINE=InnoDB",
    """CREATE TABLE odd_types (id INT PRIMARY KEY, l1 VARCHAR(20) CHARACTER SET latin1,
       u VARCHAR(20) COLLATE utf8mb4_unicode_ci, j JSON, t TIME(3), y YEAR, f FLOAT, e ENUM('a','b'),
       s SET('x','y'), ts TIMESTAMP NULL, vb VARBINARY(8)) ENGINE=InnoDB""",
    """CREATE VIEW customer_totals AS SELECT c.id, c.email, SUM(o.amount) AS total
       FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email""",
    "CREATE VIEW big_customers AS SELECT id FROM customer_totals WHERE total > 100",
    """CREATE TRIGGER orders_log AFTER INSERT ON orders FOR EACH ROW
       INSERT INTO audit_log VALUES (NOW(), CONCAT('order ', NEW.id))""",
    "CREATE FUNCTION double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
]


def fill(endpoint: Endpoint, customers: int = 60) -> None:
    """A small realistic dataset: customers, their orders (FK, joined by e-mail too), tags, a log, views."""
    conn = pymysql.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user,
                           password=str(endpoint.password), database=endpoint.database, autocommit=True)
    cur = conn.cursor()
    for ddl in SCHEMA:
        cur.execute(ddl)
    for i in range(1, customers + 1):
        cur.execute("INSERT INTO customers (email, name, phone, created_at, avatar, flags, score) "
                    "VALUES (%s, %s, %s, %s, %s, b'101', %s)",
                    (f"user{i}@corp.example", f"Person {i} O'Hara", f"+44 20 {i:04d}",
                     f"2026-{1 + i % 12:02d}-{1 + i % 27:02d} 10:00:00", bytes([i % 256, 0, 92, 39, 10]) if i % 3
                     else None, i / 7))
    cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s, %s)",
                    [(o, 1 + o % customers, f"user{1 + o % customers}@corp.example", o * 1.25,
                      None if o % 4 else f"note\t{o}\n\\ 'x'") for o in range(1, customers * 3)])
    cur.executemany("INSERT INTO order_tags VALUES (%s, %s)", [(o, t) for o in range(1, 40) for t in ("a", "b")])
    cur.executemany("INSERT INTO odd_types VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", [
        (1, "café crème", "日本語 😀 émoji", '{"a": [1, "x\\"y"]}', "12:34:56.789", 2024, 1.1, "b", "x,y",
         "2026-03-29 01:30:00", b"\x00\xff'\\"),
        (2, None, "", None, "-01:00:00", None, -0.0, None, "", None, b""),
        (0, "zero id", "z", "[]", "00:00:00", 1999, 3.4e38, "a", "y", "1970-01-02 00:00:00", None)])
    cur.execute("ANALYZE TABLE customers, orders, order_tags, audit_log, odd_types")
    conn.close()


def query(endpoint: Endpoint, sql: str, args=None):
    conn = pymysql.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user,
                           password=str(endpoint.password), database=endpoint.database, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute(sql, args)
        return cur.fetchall()
    finally:
        conn.close()


def unique_name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def copy_world(db, users, team, mariadb_pair, s3_bucket, settings):
    """Two environments of the shop blueprint with MariaDB stores on the stack's server; snapshots go to a
    fresh bucket on moto."""
    from django.core.management import call_command

    from clusters.models import Cluster
    from environments.models import Blueprint, Environment
    from migrations_tool.models import DataStore

    settings.SLIPWAY_SNAPSHOT_BUCKET = s3_bucket
    settings.SLIPWAY_DATA_COPY_WORKERS = 2
    call_command("seed_demo_blueprint", verbosity=0)
    blueprint = Blueprint.objects.get(name="shop")
    blueprint.personal_data = ["customers.email", "customers.name", "customers.phone", "orders.customer_email"]
    blueprint.save()
    cluster = Cluster.objects.create(name=unique_name("c-"), kind="local", kubeconfig="{}")
    source_ep, target_ep = mariadb_pair

    def environment(name, stage, endpoint):
        env = Environment.objects.create(name=name, cluster=cluster, namespace=f"slw-{name}", blueprint=blueprint,
                                         stage=stage, team=team, owner=users["qa"], status="ready")
        DataStore.objects.create(environment=env, kind="mysql", name="db", host=endpoint.host, port=endpoint.port,
                                 user=endpoint.user, password=str(endpoint.password), database=endpoint.database)
        return env

    return {"source": environment("qa-source", "qa", source_ep), "target": environment("qa-target", "qa", target_ep),
            "source_ep": source_ep, "target_ep": target_ep, "environment": environment, "users": users,
            "bucket": s3_bucket}


@pytest.fixture
def three_store_world(copy_world, redis_namespace, other_redis, aws_settings):
    """``copy_world`` plus Redis and S3 stores on both environments: the source's Redis is a key prefix on
    the stack's server, the target's a whole logical db on the spare server (a copy across servers with
    prefix mapping); each environment has its own bucket on moto, the target's being where the undo
    snapshots of every store go."""
    from migrations_tool.models import DataStore
    from portal import aws

    s3 = aws.client("s3")
    source_bucket = f"{copy_world['bucket']}-src"
    s3.create_bucket(Bucket=source_bucket)
    stack_redis = redis_namespace["client"].connection_pool.connection_kwargs
    DataStore.objects.create(environment=copy_world["source"], kind="redis", name="cache", host=stack_redis["host"],
                             port=stack_redis["port"], database="1", prefix=redis_namespace["prefix"])
    DataStore.objects.create(environment=copy_world["target"], kind="redis", name="cache", host=other_redis["host"],
                             port=other_redis["port"], password=other_redis["password"], database="3")
    for environment, bucket in ((copy_world["source"], source_bucket), (copy_world["target"], copy_world["bucket"])):
        DataStore.objects.create(environment=environment, kind="s3", name="files", database=bucket,
                                 endpoint_url=aws_settings["AWS_ENDPOINT_URL"])
    target_redis = redis.Redis(host=other_redis["host"], port=other_redis["port"], password=other_redis["password"],
                               db=3)
    yield {**copy_world, "source_redis": redis_namespace["client"], "source_prefix": redis_namespace["prefix"],
           "target_redis": target_redis, "source_bucket": source_bucket, "s3": s3}
    target_redis.close()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=source_bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=source_bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=source_bucket)
