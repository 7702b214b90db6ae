"""A tiny HTTP server in front of the moto server that misbehaves like Route 53 under load.

The Route 53 adapter is pointed at it purely by configuration (``AWS_ENDPOINT_URLS["route53"]``):
it answers the first N matching requests with a throttling error, or rewrites GetChange answers to
PENDING, and forwards everything else to moto unchanged. Nothing in Slipway is patched.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERROR = ('<?xml version="1.0"?>\n<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
         "<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
         "<RequestId>00000000-proxy</RequestId></ErrorResponse>")


def operation_of(method: str, path: str) -> str:
    path = path.split("?")[0].rstrip("/")
    if path.endswith("/rrset"):
        return "ChangeResourceRecordSets" if method == "POST" else "ListResourceRecordSets"
    if "/change/" in path:
        return "GetChange"
    return f"{method} {path}"


@dataclass
class Fault:
    operation: str
    remaining: int
    code: str = "Throttling"
    message: str = "Rate exceeded"
    pending: bool = False  # rewrite INSYNC -> PENDING instead of failing


@dataclass
class Route53Proxy:
    upstream: str
    faults: list[Fault] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # operation names, in order
    injected: int = 0

    def throttle(self, operation: str, times: int, *, code: str = "Throttling", message: str = "Rate exceeded"):
        self.faults.append(Fault(operation, times, code, message))

    def pending(self, times: int) -> None:
        self.faults.append(Fault("GetChange", times, pending=True))

    def _take(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operation == operation and fault.remaining > 0:
                fault.remaining -= 1
                self.injected += 1
                return fault
        return None

    def start(self) -> str:
        proxy = self
        upstream = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = operation_of(self.command, self.path)
                proxy.calls.append(operation)
                fault = proxy._take(operation)
                if fault is not None and not fault.pending:
                    payload = ERROR.format(code=fault.code, message=fault.message).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                conn.request(self.command, self.path, body=body or None,
                             headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                answer = conn.getresponse()
                payload = answer.read()
                if fault is not None:
                    payload = payload.replace(b"INSYNC", b"PENDING")
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                conn.close()

            do_GET = do_POST = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
