"""The websocket channel layer's settings: one function, so portal/settings.py and the tests that run a real
worker or web process build the same Redis channel layer."""

from __future__ import annotations


def redis_channel_layer(url: str) -> dict:
    """The Redis channel layer's settings for ``url``."""
    # redis-py 8 gives up on a read after 5 s by default, exactly as long as channels_redis
    # blocks in BZPOPMIN waiting for a message: a websocket idle for 5 s then lost the race, its
    # receive raised "Timeout reading from ..." and the consumer died without a word. Reads must
    # outlast the block; a dead server is still noticed within the longer timeout.
    host = {"address": url, "socket_timeout": 30, "socket_connect_timeout": 5}
    return {"BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [host], "capacity": 500, "expiry": 30}}
