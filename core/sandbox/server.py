"""Run the sandbox in-process: ``with SandboxServer(config) as server: server.base_url``.

A threaded werkzeug server in one background thread (serving.py); ``stop()`` joins every
thread it started, so nothing is left running.
"""

from __future__ import annotations

from avatar_studio.core.sandbox.app import SandboxApp
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.faults import Faults
from avatar_studio.core.sandbox.oauth import Endpoints, SandboxValidator
from avatar_studio.core.sandbox.processing import ImageProcessor
from avatar_studio.core.sandbox.ratelimit import RateLimiter
from avatar_studio.core.sandbox.serving import BackgroundServer, ServedSandbox
from avatar_studio.core.sandbox.state import DemoAccount, SandboxState

__all__ = ["DemoAccount", "SandboxConfig", "SandboxServer"]


class SandboxServer(ServedSandbox):
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

    def _after_start(self) -> None:
        self.processor.start()

    def _after_stop(self) -> None:
        self.processor.stop()

    @property
    def demo(self) -> DemoAccount:
        app, user, token = self.state.ensure_demo()
        return DemoAccount(base_url=self.base_url, api_key=app.api_key,
                           api_secret=app.api_secret, access_token=token.token,
                           access_secret=token.secret, user_id=user.id_str,
                           screen_name=user.screen_name)
