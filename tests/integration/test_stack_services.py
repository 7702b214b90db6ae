"""The local stack's services are real: each answers a real round-trip."""

import shutil
import subprocess
import time

import psycopg
import pymysql
import pytest

from portal import aws

pytestmark = pytest.mark.integration

TERRAFORM_VERSION = "1.11.4"


def test_postgresql_answers(pg_database):
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE t (n int)")
        conn.execute("INSERT INTO t VALUES (41), (1)")
        assert conn.execute("SELECT sum(n) FROM t").fetchone()[0] == 42
        assert conn.execute("SHOW server_version").fetchone()[0].startswith("15")


def test_redis_answers_in_its_own_namespace(redis_namespace):
    client, prefix = redis_namespace["client"], redis_namespace["prefix"]
    client.set(f"{prefix}k", "v", px=60000)
    assert client.get(f"{prefix}k") == b"v"
    assert 0 < client.pttl(f"{prefix}k") <= 60000


def test_mariadb_answers(mariadb_database):
    conn = pymysql.connect(**mariadb_database)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB")
        cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
        cur.execute("SELECT COUNT(*), VERSION() FROM t")
        count, version = cur.fetchone()
    conn.close()
    assert count == 2
    assert "MariaDB" in version


def test_s3_round_trip_on_moto(s3_bucket):
    s3 = aws.client("s3")
    s3.put_object(Bucket=s3_bucket, Key="dir/a.txt", Body=b"hello")
    assert s3.get_object(Bucket=s3_bucket, Key="dir/a.txt")["Body"].read() == b"hello"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]] == ["dir/a.txt"]


def test_route53_round_trip_on_moto(route53_zone):
    r53 = aws.client("route53")
    change = r53.change_resource_record_sets(HostedZoneId=route53_zone["id"], ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": f"qa-1.{route53_zone['name']}", "Type": "CNAME", "TTL": 60,
            "ResourceRecords": [{"Value": "lb.example.com"}]}}]})["ChangeInfo"]
    assert r53.get_change(Id=change["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    records = r53.list_resource_record_sets(HostedZoneId=route53_zone["id"])["ResourceRecordSets"]
    assert {"qa-1." + route53_zone["name"]} == {r["Name"] for r in records if r["Type"] == "CNAME"}


def test_terraform_is_the_pinned_version():
    binary = shutil.which("terraform")
    assert binary, "terraform is not on PATH (make test installs it; see README)"
    out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, check=True).stdout
    import json

    assert json.loads(out)["terraform_version"] == TERRAFORM_VERSION


def test_other_aws_services_answer_on_moto(aws_settings):
    """ECR, CloudWatch Logs, DynamoDB and STS, through the one AWS adapter."""
    assert aws.client("sts").get_caller_identity()["Account"]
    ecr = aws.client("ecr")
    repo = ecr.create_repository(repositoryName="slipway-stack-check")["repository"]
    try:
        assert ecr.describe_repositories(repositoryNames=["slipway-stack-check"])["repositories"][0]["repositoryUri"] \
            == repo["repositoryUri"]
    finally:
        ecr.delete_repository(repositoryName="slipway-stack-check", force=True)
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/slipway/stack-check")
    try:
        logs.create_log_stream(logGroupName="/slipway/stack-check", logStreamName="s")
        logs.put_log_events(logGroupName="/slipway/stack-check", logStreamName="s",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello stack"}])
        found = logs.filter_log_events(logGroupName="/slipway/stack-check", filterPattern="hello")["events"]
        assert [e["message"] for e in found] == ["hello stack"]
    finally:
        logs.delete_log_group(logGroupName="/slipway/stack-check")
    ddb = aws.client("dynamodb")
    ddb.create_table(TableName="stack-check", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    try:
        ddb.put_item(TableName="stack-check", Item={"k": {"S": "a"}})
        assert ddb.get_item(TableName="stack-check", Key={"k": {"S": "a"}})["Item"] == {"k": {"S": "a"}}
    finally:
        ddb.delete_table(TableName="stack-check")


def test_a_port_taken_by_another_program_is_refused_not_adopted(tmp_path):
    """A server this stack did not start must never be taken for its own (its data is not ours)."""
    import socket

    from devstack.daemons import Redis
    from devstack.process import Context, StackError

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(StackError, match=f"port {port} on 127.0.0.1 is in use by a program this stack did not"):
            Redis(port).up(Context(root=tmp_path))


def test_only_named_servers_that_answer_are_registered(users, mariadb_url, redis_url, aws_settings):
    """`make run` registers exactly what it started: a named server that does not answer is left out."""
    import socket

    from clusters.models import Cluster
    from migrations_tool.models import DataServer
    from migrations_tool.servers import data_servers_register_local
    from portal.audit.actor import Actor

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    cluster = Cluster.objects.create(name="local", kind="local")
    kinds = data_servers_register_local(actor=Actor.system("test"), cluster=cluster, facts={
        "MARIADB_URL": mariadb_url, "REDIS_URL": f"redis://127.0.0.1:{closed}", **aws_settings})
    assert kinds == ["mysql", "s3"]
    assert sorted(DataServer.objects.filter(cluster=cluster).values_list("kind", flat=True)) == ["mysql", "s3"]
    assert data_servers_register_local(actor=Actor.system("test"), cluster=cluster, facts={}) == []
