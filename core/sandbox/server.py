"""Run the sandbox in-process: ``with SandboxServer(config) as server: server.base_url``.

A threaded werkzeug server in one background thread; ``stop()`` closes open keep-alive
connections too and joins every thread it started, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from types import TracebackType
from typing import Any

from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.sandbox.app import SandboxApp
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.faults import Faults
from avatar_studio.core.sandbox.oauth import Endpoints, SandboxValidator
from avatar_studio.core.sandbox.processing import ImageProcessor
from avatar_studio.core.sandbox.ratelimit import RateLimiter
from avatar_studio.core.sandbox.state import DemoAccount, SandboxState
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

__all__ = ["DemoAccount", "SandboxConfig", "SandboxServer"]

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler, logging to our logger at DEBUG instead of stderr."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("sandbox %s: " + message, type, *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Method and path only: query strings may carry oauth_* values.
        log.debug("sandbox %s %s -> %s", self.command, self.path.split("?", 1)[0], code)

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


class SandboxServer:
    """The embeddable sandbox. Every collaborator is built from ``config``."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.state = SandboxState(self.config.state_dir)
        self.faults = Faults(self.state)
        self.limiter = RateLimiter(self.config.rate_limits, self.config.rate_window_s)
        self.processor = ImageProcessor(self.state, self.faults,
                                        delay_s=self.config.processing_delay,
                                        old_url_ttl_s=self.config.old_url_ttl_s)
        self.validator = SandboxValidator(self.state,
                                          timestamp_skew_s=self.config.timestamp_skew_s)
        self.app = SandboxApp(self.config, self.state, self.faults, self.processor,
                              self.limiter, Endpoints(self.validator))
        self.state.ensure_demo()
        self._server: _TrackingServer | None = None
        self._thread: threading.Thread | None = None
        self._base_url: str | None = None

    def start(self) -> str:
        """Bind, start serving in the background and return the base URL."""
        if self._server is not None:
            assert self._base_url is not None
            return self._base_url
        host = self.config.host
        if not is_loopback_host(host) and not self.config.allow_remote:
            raise ValueError(f"refusing to listen on non-loopback address {host!r} "
                             "(allow_remote is off)")
        try:
            server = _TrackingServer(host, self.config.port, self.app, handler=_QuietHandler)
        except _BindFailed as exc:
            raise exc.error from None
        self._server = server
        port = server.socket.getsockname()[1]
        shown = "127.0.0.1" if host in ("0.0.0.0", "localhost") else host  # noqa: S104
        if ":" in shown:
            shown = f"[{shown}]"
        self._base_url = f"http://{shown}:{port}"
        self.processor.start()
        self._thread = threading.Thread(target=server.serve_forever, name="sandbox-http",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        log.info("sandbox listening on %s", self._base_url)
        return self._base_url

    def stop(self) -> None:
        """Stop serving, close connections and join every thread."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()  # the accept loop has ended when this returns
        # werkzeug's serve_forever() then joins the request threads (server_close); idle
        # keep-alive connections would block that, so cut them first.
        server.close_connections()
        if thread is not None:
            thread.join()
        server.server_close()
        self.processor.stop()
        self._server = None
        self._thread = None
        self._base_url = None
        log.info("sandbox stopped")

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return self._base_url

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def demo(self) -> DemoAccount:
        app, user, token = self.state.ensure_demo()
        return DemoAccount(base_url=self.base_url, api_key=app.api_key,
                           api_secret=app.api_secret, access_token=token.token,
                           access_secret=token.secret, user_id=user.id_str,
                           screen_name=user.screen_name)
