"""The embedded sandbox the window can start with one click (plain Python, no Qt)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The sandbox (werkzeug, oauthlib's server side) loads when it starts, not with the
    # window: its first paint does not wait for it.
    from avatar_studio.core.sandbox.bluesky.server import BlueskyDemo, BlueskySandbox
    from avatar_studio.core.sandbox.config import SandboxConfig
    from avatar_studio.core.sandbox.mastodon.server import MastodonDemo, MastodonSandbox
    from avatar_studio.core.sandbox.server import SandboxServer
    from avatar_studio.core.sandbox.state import DemoAccount


class SandboxHost:
    """Starts the sandbox on first use (from any thread) and stops it at exit."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self._config = config
        self._lock = threading.Lock()
        self.server: SandboxServer | None = None

    def ensure_started(self) -> DemoAccount:
        with self._lock:
            if self.server is None:
                from avatar_studio.core.sandbox.config import SandboxConfig
                from avatar_studio.core.sandbox.server import SandboxServer

                server = SandboxServer(self._config or SandboxConfig())
                server.start()
                self.server = server
            return self.server.demo

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    def stop(self) -> None:
        with self._lock:
            if self.server is not None:
                self.server.stop()
                self.server = None


class MastodonSandboxHost:
    """The embedded Mastodon sandbox: started on first use, stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server: MastodonSandbox | None = None

    def ensure_started(self) -> MastodonDemo:
        with self._lock:
            if self.server is None:
                from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox

                server = MastodonSandbox()
                server.start()
                self.server = server
            return self.server.demo

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    def stop(self) -> None:
        with self._lock:
            if self.server is not None:
                self.server.stop()
                self.server = None


class BlueskySandboxHost:
    """The embedded Bluesky PDS sandbox: started on first use, stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server: BlueskySandbox | None = None

    def ensure_started(self) -> BlueskyDemo:
        with self._lock:
            if self.server is None:
                from avatar_studio.core.sandbox.bluesky.server import BlueskySandbox

                server = BlueskySandbox()
                server.start()
                self.server = server
            return self.server.demo

    @property
    def running(self) -> bool:
        return self.server is not None

    def stop(self) -> None:
        with self._lock:
            if self.server is not None:
                self.server.stop()
                self.server = None
