"""The embedded sandboxes the window can start with one click (plain Python, no Qt)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    # The sandbox (werkzeug, oauthlib's server side) loads when it starts, not with the
    # window: its first paint does not wait for it.
    from avatar_studio.core.sandbox.bluesky.server import BlueskyDemo, BlueskySandbox
    from avatar_studio.core.sandbox.config import SandboxConfig
    from avatar_studio.core.sandbox.mastodon.server import MastodonDemo, MastodonSandbox
    from avatar_studio.core.sandbox.server import SandboxServer
    from avatar_studio.core.sandbox.serving import ServedSandbox
    from avatar_studio.core.sandbox.state import DemoAccount

S = TypeVar("S", bound="ServedSandbox")
T = TypeVar("T")


class _LazyHost(Generic[S]):
    """One sandbox, started on first use (from any thread) and stopped at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.server: S | None = None

    def _make(self) -> S:
        raise NotImplementedError

    def _with_started(self, read: Callable[[S], T]) -> T:
        with self._lock:
            if self.server is None:
                server = self._make()
                server.start()
                self.server = server
            return read(self.server)

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    def stop(self) -> None:
        with self._lock:
            if self.server is not None:
                self.server.stop()
                self.server = None


class SandboxHost(_LazyHost["SandboxServer"]):
    """The embedded X sandbox."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        super().__init__()
        self._config = config

    def _make(self) -> SandboxServer:
        from avatar_studio.core.sandbox.config import SandboxConfig
        from avatar_studio.core.sandbox.server import SandboxServer

        return SandboxServer(self._config or SandboxConfig())

    def ensure_started(self) -> DemoAccount:
        return self._with_started(lambda server: server.demo)


class MastodonSandboxHost(_LazyHost["MastodonSandbox"]):
    """The embedded Mastodon sandbox."""

    def _make(self) -> MastodonSandbox:
        from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox

        return MastodonSandbox()

    def ensure_started(self) -> MastodonDemo:
        return self._with_started(lambda server: server.demo)


class BlueskySandboxHost(_LazyHost["BlueskySandbox"]):
    """The embedded Bluesky PDS sandbox."""

    def _make(self) -> BlueskySandbox:
        from avatar_studio.core.sandbox.bluesky.server import BlueskySandbox

        return BlueskySandbox()

    def ensure_started(self) -> BlueskyDemo:
        return self._with_started(lambda server: server.demo)
