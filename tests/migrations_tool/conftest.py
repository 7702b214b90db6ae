import uuid

import pytest
import redis

from tests.stack.spare_redis import spare_redis


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
