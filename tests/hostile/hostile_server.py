"""A hostile HTTP server on loopback: every way a server (or a man in the middle) can
hurt a client. Paths choose the attack; ``/x/<anything>`` suffixes are ignored so the
same attack works wherever a client expects an API path.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DRIP_INTERVAL_S = 1.5
#: The first path segment names the attack; any other path gets the server's default.
ATTACKS = frozenset({
    "ok", "drip", "drip-headers", "gzip-bomb", "deflate-bomb", "brotli", "huge-json",
    "huge-chunked", "deep-json", "redirect-http", "redirect-downgrade", "redirect-same",
    "redirect-loop", "redirect-ftp", "huge-reset", "huge-retry-after"})


@cache
def gzip_bomb() -> bytes:
    """About 200 KB of gzip that inflates to 200 MB of zeros."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        block = bytes(1 << 20)
        for _ in range(200):
            gz.write(block)
    return buf.getvalue()


@cache
def deflate_bomb() -> bytes:
    comp = zlib.compressobj(9)
    block = bytes(1 << 20)
    return b"".join(comp.compress(block) for _ in range(100)) + comp.flush()


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _attack(self) -> str:
        first = self.path.split("?", 1)[0].strip("/").split("/", 1)[0]
        return first if first in ATTACKS else self.server.default_attack

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        attack = self._attack()
        stop = self.server.stopping
        if attack == "ok":
            self._send(200, b'{"ok": true}')
        elif attack == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            for _ in range(1000):
                if stop.wait(DRIP_INTERVAL_S):
                    return
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return
        elif attack == "drip-headers":
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(DRIP_INTERVAL_S):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
        elif attack == "gzip-bomb":
            self._send(200, gzip_bomb(), {"Content-Encoding": "gzip"})
        elif attack == "deflate-bomb":
            self._send(200, deflate_bomb(), {"Content-Encoding": "deflate"})
        elif attack == "brotli":
            self._send(200, b"\x00" * 10, {"Content-Encoding": "br"})
        elif attack == "huge-json":
            # 200 MB announced, then streamed until the client gives up.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(200 * 1024 * 1024))
            self.end_headers()
            self._stream_forever(b'["' + b"x" * 65536)
        elif attack == "huge-chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            self._stream_forever(b"%x\r\n%s\r\n" % (len(chunk), chunk), repeat=True)
        elif attack == "deep-json":
            self._send(200, b"[" * 200_000 + b"]" * 200_000)
        elif attack == "redirect-http":
            self._send(302, b"", {"Location": "http://198.51.100.7/stolen"})
        elif attack == "redirect-downgrade":
            self._send(302, b"", {"Location": "http://example.invalid/"})
        elif attack == "redirect-same":
            self._send(302, b"", {"Location": "/ok"})
        elif attack == "redirect-loop":
            self._send(302, b"", {"Location": "/redirect-loop"})
        elif attack == "redirect-ftp":
            self._send(302, b"", {"Location": "ftp://127.0.0.1/x"})
        elif attack == "huge-reset":
            self._send(429, b'{"errors": [{"code": 88, "message": "Rate limit exceeded"}]}',
                       {"x-rate-limit-reset": "10000000000000", "x-rate-limit-limit": "900",
                        "x-rate-limit-remaining": "0", "Retry-After": "10000000000000",
                        "ratelimit-reset": "10000000000000", "ratelimit-remaining": "0",
                        "x-ratelimit-reset": "99999-12-31T00:00:00Z",
                        "x-ratelimit-remaining": "0"})
        elif attack == "huge-retry-after":
            self._send(429, b'{"error": "Too many requests"}',
                       {"Retry-After": "9" * 400})
        else:
            self._send(404, b'{"errors": [{"code": 34, "message": "not found"}]}')

    do_POST = do_GET  # noqa: N815 - http.server's name

    def _stream_forever(self, first: bytes, *, repeat: bool = False) -> None:
        data = first
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            try:
                self.wfile.write(data)
            except OSError:
                return
            if not repeat:
                data = b"x" * 65536

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 10 * 1024 * 1024))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.hits: list[str] = []
        #: The attack for paths that name none (a client's own API paths).
        self.default_attack = "ok"
        self.stopping = threading.Event()
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients here hang up mid-answer on purpose (deadlines, caps): that is no error.
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


@contextmanager
def hostile_server(host: str = "127.0.0.1") -> Iterator[HostileServer]:
    server = HostileServer(host)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
