"""The Redis snapshot file: a header line, then one binary record per key.

Record: key length (u32), absolute expiry in server milliseconds (u64, 0 = no TTL), payload length
(u32), the key, the DUMP payload. Streamed both ways, so a snapshot of any size is never held in memory.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO, Any

from migrations_tool.contracts import CopyError

MAGIC = b"SLIPWAY-REDIS-SNAPSHOT/1\n"
_RECORD = struct.Struct(">IQI")


def write_header(out: IO[bytes]) -> None:
    out.write(MAGIC)


def write_record(out: IO[bytes], key: bytes, payload: bytes, expires_at_ms: int) -> None:
    out.write(_RECORD.pack(len(key), expires_at_ms, len(payload)))
    out.write(key)
    out.write(payload)


def read_records(stream: Any) -> Iterator[tuple[bytes, bytes, int]]:
    """(key, payload, absolute expiry ms or 0) for each record of a snapshot stream."""
    if _read_exact(stream, len(MAGIC)) != MAGIC:
        raise CopyError("the object is not a Slipway Redis snapshot")
    while head := _read_exact(stream, _RECORD.size, eof_ok=True):
        key_len, expires_at, payload_len = _RECORD.unpack(head)
        key = _read_exact(stream, key_len)
        yield key, _read_exact(stream, payload_len), expires_at


def _read_exact(stream: Any, size: int, *, eof_ok: bool = False) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            if eof_ok and missing == size:
                return b""
            raise CopyError("the Redis snapshot is truncated")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
