"""The Redis copier against real servers: the stack's shared Redis and a second redis-server with a
password on another port (so every copy here crosses servers, databases or prefixes)."""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

import pytest
import redis

from migrations_tool.contracts import CopyError, Endpoint, SnapshotSink, StoreOwner
from migrations_tool.redis_copy import REGISTRY_KEY, RedisCopier
from tests.migrations_tool.support import Progress

pytestmark = pytest.mark.integration


def shared_endpoint(namespace, *, prefix=None) -> Endpoint:
    url = urlparse(namespace["url"])
    return Endpoint(kind="redis", host=url.hostname, port=url.port, database=url.path.strip("/"),
                    prefix=namespace["prefix"] if prefix is None else prefix)


def other_endpoint(server, *, db=0, prefix="", password=None) -> Endpoint:
    return Endpoint(kind="redis", host=server["host"], port=server["port"], database=str(db), prefix=prefix,
                    password=server["password"] if password is None else password)


def client_for(ep: Endpoint) -> redis.Redis:
    return redis.Redis(host=ep.host, port=ep.port, password=str(ep.password) or None, db=int(ep.database or 0))


def fill_sample(client: redis.Redis, prefix: str) -> dict[bytes, tuple]:
    p = prefix.encode()
    client.set(p + b"str:plain", b"hello")
    client.set(p + b"str:ttl", b"expiring", ex=500)
    client.set(p + b"bin:\x00\xff", bytes(range(256)) * 40)
    client.hset(p + b"hash:user:1", mapping={"email": "a@example.com", "name": "Ada"})
    client.expire(p + b"hash:user:1", 900)
    client.rpush(p + b"list:q", *[f"job{i}" for i in range(300)])
    client.sadd(p + b"set:tags", "a", "b", "c")
    client.zadd(p + b"zset:rank", {"x": 1.5, "y": 2.0})
    client.xadd(p + b"stream:ev", {"k": "v"})
    return {k[len(p):]: logical(client, k) for k in client.scan_iter(match=prefix + "*")}


def logical(client: redis.Redis, key: bytes):
    kind = client.type(key)
    read = {b"string": client.get, b"hash": client.hgetall, b"list": lambda k: client.lrange(k, 0, -1),
            b"set": client.smembers, b"zset": lambda k: client.zrange(k, 0, -1, withscores=True),
            b"stream": lambda k: [fields for _, fields in client.xrange(k)]}[kind]
    return kind, read(key)


def test_copy_across_servers_keeps_values_types_ttls_and_maps_prefix_and_db(redis_namespace, other_redis):
    source = shared_endpoint(redis_namespace)
    target = other_endpoint(other_redis, db=3, prefix="qa-env:")
    src = client_for(source)
    expected = fill_sample(src, redis_namespace["prefix"])
    progress = Progress()

    report = RedisCopier().copy(source, target, {"batch_size": 3}, progress)

    dst = client_for(target)
    copied = {k[len(b"qa-env:"):]: logical(dst, k) for k in dst.scan_iter(match="qa-env:*")}
    assert copied == expected
    assert report.verified, report.verification
    assert report.counters["keys"] == len(expected) == report.verification["source_keys"]
    assert progress.last("keys_done") == len(expected) and progress.last("bytes_done") > 1_000
    assert 400_000 < dst.pttl(b"qa-env:str:ttl") <= 500_000
    assert 800_000 < dst.pttl(b"qa-env:hash:user:1") <= 900_000
    assert dst.pttl(b"qa-env:str:plain") == -1 and dst.pttl(b"qa-env:list:q") == -1
    assert client_for(other_endpoint(other_redis, db=0)).dbsize() == 0  # db mapping: nothing in db 0


def test_include_and_exclude_patterns_select_keys_by_name_without_prefix(redis_namespace, other_redis):
    source = shared_endpoint(redis_namespace)
    src = client_for(source)
    p = redis_namespace["prefix"]
    for name in ("user:1", "user:2", "sess:a", "sess:tmp1", "cache:x", "other"):
        src.set(p + name, name)
    target = other_endpoint(other_redis, db=2)

    report = RedisCopier().copy(source, target, {"include": ["user:*", "sess:*"], "exclude": ["sess:tmp*"]},
                                Progress())

    assert sorted(client_for(target).keys()) == [b"sess:a", b"user:1", b"user:2"]
    assert report.verified and report.verification["source_keys"] == 3


def test_mirror_removes_extra_target_keys_and_plain_copy_keeps_them(other_redis):
    source, target = other_endpoint(other_redis, db=1), other_endpoint(other_redis, db=2)
    client_for(source).mset({f"k{i}": i for i in range(50)})
    dst = client_for(target)
    dst.mset({"k1": "old", "stale": "x"})

    report = RedisCopier().copy(source, target, {}, Progress())
    assert report.verified and report.verification["extra_target_keys"] == 1
    assert dst.get("k1") == b"1" and dst.get("stale") == b"x"

    report = RedisCopier().copy(source, target, {"mirror": True}, Progress())
    assert report.verified and report.counters["keys_removed"] == 1
    assert dst.get("stale") is None and dst.dbsize() == 50

    dst.set("k7", "tampered")
    ok, details = RedisCopier().verify(source, target, {})
    assert not ok and details["mismatched"] == ["k7"]
    dst.delete("k7")
    ok, details = RedisCopier().verify(source, target, {})
    assert not ok and (details["source_keys"], details["target_keys"]) == (50, 49)
    RedisCopier().copy(source, target, {}, Progress())
    assert RedisCopier().verify(source, target, {"verify_sample": 10})[0]  # 50 keys > 10: DBSIZE + RANDOMKEY path
    dst.delete("k8")
    assert not RedisCopier().verify(source, target, {"verify_sample": 10})[0]


def test_keys_expiring_mid_copy_are_never_resurrected_without_ttl(other_redis):
    source, target = other_endpoint(other_redis, db=4), other_endpoint(other_redis, db=5)
    src = client_for(source)
    pipe = src.pipeline()
    for i in range(3000):
        pipe.set(f"short:{i}", "v", px=30)
        pipe.set(f"keep:{i}", "v")
    pipe.execute()

    report = RedisCopier().copy(source, target, {"batch_size": 100, "include": ["keep:*", "short:*"]}, Progress())

    dst = client_for(target)
    assert all(dst.exists(f"keep:{i}") for i in range(0, 3000, 97))
    assert report.counters["keys"] >= 3000
    pipe = dst.pipeline()
    for key in dst.scan_iter(match="short:*"):
        pipe.pttl(key)
    assert all(ttl != -1 for ttl in pipe.execute())  # a short-lived key never comes back persistent


def test_verification_catches_tampered_and_missing_target_keys(redis_namespace, other_redis):
    source = shared_endpoint(redis_namespace)
    fill_sample(client_for(source), redis_namespace["prefix"])
    target = other_endpoint(other_redis, db=6, prefix="t:")
    copier = RedisCopier()
    assert copier.copy(source, target, {}, Progress()).verified
    dst = client_for(target)

    dst.hset("t:hash:user:1", "email", "tampered@example.com")
    ok, details = copier.verify(source, target, {})
    assert not ok and details["mismatched"] == ["t:hash:user:1"]

    copier.copy(source, target, {}, Progress())
    dst.persist("t:str:ttl")  # same value, lost its TTL
    assert not copier.verify(source, target, {})[0]

    copier.copy(source, target, {}, Progress())
    dst.delete("t:list:q")
    ok, details = copier.verify(source, target, {})
    assert not ok and details["target_keys"] == details["source_keys"] - 1


def test_snapshot_then_copy_then_restore_gives_back_the_exact_target(redis_namespace, other_redis, s3_bucket):
    source = shared_endpoint(redis_namespace)
    fill_sample(client_for(source), redis_namespace["prefix"])
    target = other_endpoint(other_redis, db=7, prefix="env:")
    dst = client_for(target)
    dst.set("env:str:plain", "target's own value", ex=1000)  # will be overwritten by the copy
    dst.hset("env:only-in-target", mapping={"a": "1"})
    dst.set("env:gone-soon", "x", px=200)
    dst.set("outside-scope", "untouched")
    before = {k: (dst.dump(k), dst.pttl(k) > 0) for k in dst.scan_iter(match="env:*") if k != b"env:gone-soon"}
    copier = RedisCopier()

    ref = copier.snapshot(target, SnapshotSink(bucket=s3_bucket, prefix=f"snap/{uuid.uuid4().hex}/"), Progress())
    copier.copy(source, target, {}, Progress())
    assert dst.get("env:str:plain") == b"hello"
    import time

    time.sleep(0.3)  # let env:gone-soon expire: a restore must not bring it back
    dst.set("env:created-after", "x")
    copier.restore(target, ref, Progress())

    after = {k: (dst.dump(k), dst.pttl(k) > 0) for k in dst.scan_iter(match="env:*")}
    assert after == before
    assert 900_000 < dst.pttl("env:str:plain") <= 1_000_000
    assert dst.get("outside-scope") == b"untouched"
    assert ref["keys"] == 3

    with pytest.raises(CopyError, match="another Redis store"):
        copier.restore(other_endpoint(other_redis, db=8, prefix="env:"), ref, Progress())


def test_snapshot_with_the_copy_options_saves_only_the_selected_keys_and_restores_exactly(other_redis, s3_bucket):
    source, target = other_endpoint(other_redis, db=1), other_endpoint(other_redis, db=2)
    src, dst = client_for(source), client_for(target)
    src.set("user:1", "new")
    src.set("user:2", "new", ex=300)
    src.set("user:tmp", "skipped by exclude")
    dst.set("user:1", "old", ex=900)
    dst.set("user:9", "mirrored away")
    dst.set("user:tmp", "excluded: untouched")
    dst.set("order:1", "outside the include: untouched")
    before = {k: (dst.dump(k), dst.pttl(k) > 0) for k in dst.scan_iter()}
    options = {"include": ["user:*"], "exclude": ["user:tmp"], "mirror": True}
    copier = RedisCopier()

    ref = copier.snapshot(target, SnapshotSink(bucket=s3_bucket, prefix=f"snap/{uuid.uuid4().hex}/"), Progress(),
                          options=options)
    assert ref["keys"] == 2  # user:1 and user:9, what the copy may overwrite or delete
    assert copier.copy(source, target, options, Progress()).verified
    assert dst.get("user:1") == b"new" and not dst.exists("user:9") and dst.get("user:tmp") == b"excluded: untouched"
    dst.set("order:1", "changed by the app meanwhile")  # outside the copy's scope: the undo leaves it alone
    copier.restore(target, ref, Progress())
    after = {k: (dst.dump(k), dst.pttl(k) > 0) for k in dst.scan_iter()}
    assert after.pop(b"order:1")[0] != before.pop(b"order:1")[0] and after == before


def test_wrong_password_and_unreachable_server_are_clear_errors_without_the_password(redis_namespace, other_redis):
    source = shared_endpoint(redis_namespace)
    wrong = other_endpoint(other_redis, password="hunter2-not-it")
    with pytest.raises(CopyError) as caught:
        RedisCopier().copy(source, wrong, {}, Progress())
    assert "rejected the credentials" in str(caught.value) and "target" in str(caught.value)
    assert "hunter2" not in str(caught.value) and other_redis["password"] not in str(caught.value)

    none = other_endpoint(other_redis, password="")
    with pytest.raises(CopyError, match="rejected the credentials"):
        RedisCopier().copy(none, source, {}, Progress())

    from devstack.process import free_port

    closed = Endpoint(kind="redis", host="127.0.0.1", port=free_port(), password="hunter2")
    with pytest.raises(CopyError, match=r"source Redis at 127\.0\.0\.1.*unreachable") as caught:
        RedisCopier().copy(closed, source, {}, Progress())
    assert "hunter2" not in str(caught.value)


def test_source_server_going_away_midway_fails_with_a_clear_error(other_redis):
    from devstack.spare_redis import spare_redis

    with spare_redis() as server:
        source = other_endpoint(server, db=0)
        src = client_for(source)
        src.mset({f"k{i}": "v" * 100 for i in range(20_000)})
        target = other_endpoint(other_redis, db=1)

        def kill_source(counters):
            if counters.get("keys_done"):
                server["process"].kill()

        with pytest.raises(CopyError, match=r"source Redis .* unreachable or went away"):
            RedisCopier().copy(source, target, {"batch_size": 100}, Progress(kill_source))


def test_provision_db_index_is_idempotent_skips_foreign_dbs_and_deprovision_frees_it(other_redis):
    server = other_endpoint(other_redis, db=0)
    client_for(other_endpoint(other_redis, db=1)).set("someone-elses", "1")
    copier = RedisCopier()

    alpha, beta = StoreOwner("qa-alpha", "i/environment/1"), StoreOwner("qa-beta", "i/environment/2")
    a = copier.provision(server, alpha)
    b = copier.provision(server, beta)
    assert a.database == "2" and b.database == "3" and a.prefix == ""
    assert copier.provision(server, alpha) == a
    assert a.password == other_redis["password"]
    client_for(a).set("data", "1")

    copier.deprovision(a, server, alpha.marker)
    copier.deprovision(a, server, alpha.marker)  # idempotent
    assert client_for(a).dbsize() == 0
    assert client_for(other_endpoint(other_redis, db=1)).get("someone-elses") == b"1"
    assert client_for(server).hgetall(REGISTRY_KEY) == {b"i/environment/2": b"db:3"}
    assert copier.provision(server, StoreOwner("qa-gamma", "i/environment/3")).database == "2"  # freed db reused


def test_provision_key_prefix_on_a_shared_db(other_redis):
    server = other_endpoint(other_redis, db=9, prefix="envs:")
    copier = RedisCopier()
    owner = StoreOwner("QA env/1", "i/environment/1")
    store = copier.provision(server, owner)
    assert store.database == "9" and store.prefix.startswith("envs:qa-env-1-") and store.prefix.endswith(":")
    assert copier.provision(server, owner) == store
    shared = client_for(server)
    shared.set(f"{store.prefix}a", "1")
    shared.set("envs:other:a", "1")

    copier.deprovision(store, server, owner.marker)
    assert shared.keys("envs:*") == [b"envs:other:a"]
    assert shared.hgetall(REGISTRY_KEY) == {}


def test_server_refusing_scripts_falls_back_to_pipelines(redis_namespace, other_redis):
    admin = client_for(other_endpoint(other_redis))
    admin.acl_setuser("copier", enabled=True, passwords=["+copier-pw"], keys=["*"],
                      commands=["+@all", "-eval", "-evalsha", "-script"])
    source = shared_endpoint(redis_namespace)
    expected = fill_sample(client_for(source), redis_namespace["prefix"])
    target = Endpoint(kind="redis", host=other_redis["host"], port=other_redis["port"], user="copier",
                      password="copier-pw", database="2")
    copier = RedisCopier()

    report = copier.copy(source, target, {}, Progress())
    dst = client_for(other_endpoint(other_redis, db=2))
    assert {k: logical(dst, k) for k in dst.scan_iter()} == expected and report.verified
    with pytest.raises(redis.exceptions.NoPermissionError):
        redis.Redis(host=target.host, port=target.port, username="copier", password="copier-pw").eval("return 1", 0)
    admin.acl_deluser("copier")


def test_overlapping_source_and_target_are_refused(other_redis):
    with pytest.raises(CopyError, match="overlap"):
        RedisCopier().copy(other_endpoint(other_redis, db=1), other_endpoint(other_redis, db=1, prefix="copy:"), {},
                           Progress())


def test_a_target_refusing_writes_midway_fails_the_copy_with_the_servers_reason(redis_namespace, other_redis):
    # A real refusal among acknowledged writes: the target runs out of memory (noeviction) partway.
    source = shared_endpoint(redis_namespace)
    target = other_endpoint(other_redis, db=1)
    src, dst = client_for(source), client_for(target)
    prefix = redis_namespace["prefix"]
    for start in range(0, 3000, 500):
        src.mset({f"{prefix}big:{i:05d}": b"v" * 2000 for i in range(start, start + 500)})
    used = dst.info("memory")["used_memory"]
    dst.config_set("maxmemory-policy", "noeviction")
    dst.config_set("maxmemory", used + 1_000_000)  # room for ~400 of the 3,000 values
    try:
        with pytest.raises(CopyError, match=r"target Redis .* refused a command: RESTORE .*OOM command not allowed"):
            RedisCopier().copy(source, target, {"batch_size": 250}, Progress())
        assert 0 < dst.dbsize() < 3000  # the batches before the refusal were written, and acknowledged
    finally:
        dst.config_set("maxmemory", 0)
