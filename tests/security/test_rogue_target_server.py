"""A copy's target server runs in an environment its users control. A rogue MySQL server answers any
query with a LOAD DATA LOCAL request for a file of its choosing; pymysql would send it (the worker's
``/proc/self/environ`` holds its secrets). The copier's connections send only the file they offer."""

import socket
import struct
import threading

import pymysql
import pytest

from migrations_tool.contracts import Endpoint
from migrations_tool.mariadb_connection import connect
from migrations_tool.mariadb_load import Spool, load_format, local_infile_allowed
from migrations_tool.mariadb_schema import Column, Table

SECRET = b"worker-secret-7f3a9c-do-not-send"
NATIVE = b"mysql_native_password"
# PROTOCOL_41 | CONNECT_WITH_DB | LOCAL_FILES | TRANSACTIONS | SECURE_CONNECTION | PLUGIN_AUTH
CAPABILITIES = 512 | 8 | 128 | 8192 | 32768 | (1 << 19)
AUTOCOMMIT = 2


def _packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload


def _ok() -> bytes:
    return b"\x00\x00\x00" + struct.pack("<HH", AUTOCOMMIT, 0)


class RogueServer:
    """Speaks just enough of the MySQL protocol: a handshake that accepts anyone, then every query is
    answered with a LOCAL INFILE request for ``wanted``; what the client sends back is recorded."""

    def __init__(self, wanted: bytes | None) -> None:
        self.wanted = wanted
        self.received = b""
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _read(self, conn: socket.socket) -> tuple[int, bytes]:
        head = self._exactly(conn, 4)
        length = int.from_bytes(head[:3], "little")
        return head[3], self._exactly(conn, length)

    @staticmethod
    def _exactly(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client went away")
            data += chunk
        return data

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        salt = b"abcdefgh" + b"ijklmnopqrst"
        handshake = (b"\x0a" + b"10.11.0-MariaDB\x00" + struct.pack("<I", 7) + salt[:8] + b"\x00"
                     + struct.pack("<H", CAPABILITIES & 0xFFFF) + b"\x21" + struct.pack("<H", AUTOCOMMIT)
                     + struct.pack("<H", CAPABILITIES >> 16) + bytes([len(salt) + 1]) + b"\x00" * 10
                     + salt[8:] + b"\x00" + NATIVE + b"\x00")
        try:
            conn.sendall(_packet(0, handshake))
            seq, _ = self._read(conn)  # the client's handshake response
            conn.sendall(_packet(seq + 1, _ok()))
            while True:
                seq, command = self._read(conn)
                if command[:1] == b"\x01":  # COM_QUIT
                    return
                if command[:1] != b"\x03" or self.wanted is None:  # not a query, or a well-behaved server
                    conn.sendall(_packet(seq + 1, _ok()))
                    continue
                self.requests.append(command[1:])
                wanted = self.wanted if b"LOAD DATA" not in command else command.split(b"'")[1]
                conn.sendall(_packet(seq + 1, b"\xfb" + wanted))
                while True:  # the file's contents, then an empty packet
                    seq, chunk = self._read(conn)
                    if not chunk:
                        break
                    self.received += chunk
                conn.sendall(_packet(seq + 1, _ok()))
        except (ConnectionError, OSError):
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "environ"
    path.write_bytes(SECRET)
    return path


def _endpoint(server: RogueServer) -> Endpoint:
    return Endpoint(kind="mysql", host="127.0.0.1", port=server.port, user="slipway", password="pw", database="app")


def test_a_query_answered_with_a_file_request_sends_nothing(secret_file):
    """Any query (here the copier's own ``SELECT @@local_infile``) may be answered with a request for
    another file: refused, nothing of it sent. (pymysql's ``SET NAMES`` at connect ignores such an
    answer, so the first query after connecting is the first chance.)"""
    server = RogueServer(None)
    try:
        conn = connect(_endpoint(server), side="target", local_infile=True)
        server.wanted = str(secret_file).encode()
        with pytest.raises(pymysql.err.OperationalError, match="which Slipway did not offer"):
            local_infile_allowed(conn)
        assert server.requests and SECRET not in server.received
    finally:
        server.close()


def test_the_offered_file_is_sent(secret_file):
    """A LOAD DATA LOCAL of a batch still sends the batch's own in-memory file, byte for byte."""
    server = RogueServer(None)
    try:
        conn = connect(_endpoint(server), side="target", local_infile=True)
        server.wanted = str(secret_file).encode()  # the LOAD statement asks for the file it names
        table = Table(name="t", columns=[Column(name="id", data_type="int", max_length=None, auto_increment=False)],
                      primary_key=["id"])
        spool = Spool()
        try:
            spool.write(conn.cursor(), load_format(table), "t", b"'1'\n'2'\n")
        finally:
            spool.close()
        assert server.received == b"'1'\n'2'\n"
    finally:
        server.close()
