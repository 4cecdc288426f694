"""Run the Bluesky sandbox in-process: ``with BlueskySandbox(config) as pds: pds.base_url``."""

from __future__ import annotations

from dataclasses import dataclass

from avatar_studio.core.sandbox.bluesky.app import BlueskyApp
from avatar_studio.core.sandbox.bluesky.config import BlueskySandboxConfig
from avatar_studio.core.sandbox.bluesky.faults import BlueskyFaults
from avatar_studio.core.sandbox.bluesky.state import BlueskyState
from avatar_studio.core.sandbox.bluesky.tokens import TokenIssuer
from avatar_studio.core.sandbox.serving import BackgroundServer, ServedSandbox

__all__ = ["BlueskyDemo", "BlueskySandbox", "BlueskySandboxConfig"]


@dataclass(frozen=True)
class BlueskyDemo:
    base_url: str
    handle: str
    did: str
    app_password: str
    email: str

    def as_dict(self) -> dict[str, str]:
        """The first ``--json`` line of ``sandbox --service bluesky``."""
        return {"service": "bluesky", "base_url": self.base_url, "handle": self.handle,
                "did": self.did, "app_password": self.app_password}


class BlueskySandbox(ServedSandbox):
    """The embeddable PDS sandbox. Every collaborator is built from ``config``."""

    SERVED_AS = "bluesky sandbox"

    def __init__(self, config: BlueskySandboxConfig | None = None) -> None:
        self.config = config or BlueskySandboxConfig()
        self.state = BlueskyState(self.config)
        self.faults = BlueskyFaults()
        host = self.config.host
        self.issuer = TokenIssuer(f"did:web:{host}",
                                  access_lifetime_s=self.config.access_lifetime_s,
                                  refresh_lifetime_s=self.config.refresh_lifetime_s)
        self.app = BlueskyApp(self.config, self.state, self.faults, self.issuer)
        self._http = BackgroundServer(self.app, host, self.config.port,
                                      allow_remote=self.config.allow_remote,
                                      name="bluesky-sandbox-http", pause=self.faults.pause)

    @property
    def demo(self) -> BlueskyDemo:
        with self.state.lock:
            account = self.state.demo
            return BlueskyDemo(base_url=self.base_url, handle=account.handle,
                               did=account.did, app_password=self.state.demo_app_password,
                               email=account.email)

    def control(self, action: str, **values: str) -> None:
        """A /_sandbox/ action, in-process."""
        self.app.control(action, values)
