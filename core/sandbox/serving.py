"""Serve a WSGI app on loopback from one background thread; shared by every sandbox.

``stop()`` closes open keep-alive connections too and joins every thread it started, so
nothing is left running.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.sandbox.guard import Pause
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

__all__ = ["BackgroundServer"]

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, logging to our logger at DEBUG instead of stderr."""

    # A request line that does not parse leaves http.server at HTTP/0.9, whose answers
    # have no status line and no headers: clients saw no HTTP answer at all to a TLS
    # hello, an HTTP/2 preface or HTTP/9.9. Errors are answered as HTTP/1.0 instead.
    default_request_version = "HTTP/1.0"

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("sandbox %s: " + message, type, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method and path only: query strings may carry oauth_* values. A request line
        # that did not parse (too long, HTTP/2 preface, TLS bytes) has neither: http.server
        # answers it with 400/414/505, and logging that must not fail.
        command = getattr(self, "command", None) or "-"
        path = getattr(self, "path", None) or "-"
        log.debug("sandbox %s %s -> %s", command, path.split("?", 1)[0][:200], code)

    def send_response(self, code: int, message: str | None = None) -> None:
        # http.server would add its own Date (and Server) header; the app sets Date itself
        # so every response has exactly one, whichever server runs it.
        self.log_request(code)
        self.send_response_only(code, message)


class _BindFailed(Exception):
    """Carries the bind error past werkzeug, which would print it and sys.exit(1)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _TrackingServer(ThreadedWSGIServer):
    """Joins its request threads on close and can cut idle keep-alive connections."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def server_bind(self) -> None:
        try:
            super().server_bind()
        except OSError as exc:
            raise _BindFailed(exc) from exc

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class BackgroundServer:
    """One WSGI app on ``host:port`` (0 = a free port) in a background thread."""

    def __init__(self, app: Callable[..., Any], host: str, port: int, *,
                 allow_remote: bool = False, name: str = "sandbox-http",
                 pause: Pause | None = None) -> None:
        self.app = app
        #: Interrupted on stop: a request sleeping on a latency fault ends at once.
        self.pause = pause
        self.host = host
        self.port = port
        self.allow_remote = allow_remote
        self.name = name
        self._server: _TrackingServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    def start(self) -> str:
        """Bind, start serving and return the base URL (raises OSError if it cannot bind)."""
        if self._server is not None:
            assert self._base_url is not None
            return self._base_url
        if not is_loopback_host(self.host) and not self.allow_remote:
            raise ValueError(f"refusing to listen on non-loopback address {self.host!r} "
                             "(allow_remote is off)")
        try:
            server = _TrackingServer(self.host, self.port, self.app, handler=_QuietHandler)
        except _BindFailed as exc:
            raise exc.error from None
        self._server = server
        port = server.socket.getsockname()[1]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "localhost") else self.host  # noqa: S104
        if ":" in shown:
            shown = f"[{shown}]"
        self._base_url = f"http://{shown}:{port}"
        if self.pause is not None:
            self.pause.rearm()
        self._thread = threading.Thread(target=server.serve_forever, name=self.name,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self._base_url

    def stop(self) -> None:
        """Stop serving, close connections and join every thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        if self.pause is not None:
            self.pause.interrupt()
        server.shutdown()  # the accept loop has ended when this returns
        # werkzeug's serve_forever() then joins the request threads (server_close); idle
        # keep-alive connections would block that, so cut them first.
        server.close_connections()
        if thread is not None:
            thread.join()
        server.server_close()
        self._server = None
        self._thread = None
        self._base_url = None

    @property
    def base_url(self) -> str | None:
        return self._base_url


class ServedSandbox:
    """start / stop / ``with`` / base_url / running, for a sandbox served by ``_http``.

    A sandbox sets ``_http`` and ``SERVED_AS`` (its name in the log) and overrides
    :meth:`_after_start` / :meth:`_before_stop_done` for what it runs besides the server.
    """

    SERVED_AS = "sandbox"
    _http: BackgroundServer

    def _after_start(self) -> None:
        """Start what else the sandbox runs (the server is up)."""

    def _after_stop(self) -> None:
        """Stop what else the sandbox runs (the server has stopped)."""

    def start(self) -> str:
        """Bind, start serving in the background and return the base URL."""
        if self._http.base_url is not None:
            return self._http.base_url
        base_url = self._http.start()
        self._after_start()
        logging.getLogger(type(self).__module__).info("%s listening on %s",
                                                      self.SERVED_AS, base_url)
        return base_url

    def stop(self) -> None:
        """Stop serving, close connections and join every thread."""
        if self._http.base_url is None:
            return
        self._http.stop()
        self._after_stop()
        logging.getLogger(type(self).__module__).info("%s stopped", self.SERVED_AS)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        base_url = self._http.base_url
        if base_url is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return base_url

    @property
    def running(self) -> bool:
        return self._http.base_url is not None
