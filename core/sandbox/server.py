"""Run the sandbox in-process: ``with SandboxServer(config) as server: server.base_url``.

A threaded werkzeug server in one background thread (serving.py); ``stop()`` joins every
thread it started, so nothing is left running.
"""

from __future__ import annotations

import logging
from types import TracebackType

from avatar_studio.core.sandbox.app import SandboxApp
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.faults import Faults
from avatar_studio.core.sandbox.oauth import Endpoints, SandboxValidator
from avatar_studio.core.sandbox.processing import ImageProcessor
from avatar_studio.core.sandbox.ratelimit import RateLimiter
from avatar_studio.core.sandbox.serving import BackgroundServer
from avatar_studio.core.sandbox.state import DemoAccount, SandboxState

__all__ = ["DemoAccount", "SandboxConfig", "SandboxServer"]

log = logging.getLogger(__name__)


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
        self._http = BackgroundServer(self.app, self.config.host, self.config.port,
                                      allow_remote=self.config.allow_remote,
                                      pause=self.faults.pause)

    def start(self) -> str:
        """Bind, start serving in the background and return the base URL."""
        if self._http.base_url is not None:
            return self._http.base_url
        base_url = self._http.start()
        self.processor.start()
        log.info("sandbox listening on %s", base_url)
        return base_url

    def stop(self) -> None:
        """Stop serving, close connections and join every thread."""
        if self._http.base_url is None:
            return
        self._http.stop()
        self.processor.stop()
        log.info("sandbox stopped")

    def __enter__(self) -> SandboxServer:
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

    @property
    def demo(self) -> DemoAccount:
        app, user, token = self.state.ensure_demo()
        return DemoAccount(base_url=self.base_url, api_key=app.api_key,
                           api_secret=app.api_secret, access_token=token.token,
                           access_secret=token.secret, user_id=user.id_str,
                           screen_name=user.screen_name)
