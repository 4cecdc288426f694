"""Run the Mastodon sandbox in-process: ``with MastodonSandbox(config) as sb: sb.base_url``.

The loopback server every sandbox shares (core/sandbox/serving.py): one background
thread, ``stop()`` cuts keep-alive connections and joins every thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from avatar_studio.core.sandbox.mastodon.app import MastodonApp
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.faults import Faults
from avatar_studio.core.sandbox.mastodon.oauth import Endpoints, Validator
from avatar_studio.core.sandbox.mastodon.ratelimit import RateLimiter
from avatar_studio.core.sandbox.mastodon.state import Account, Avatar, MastodonState
from avatar_studio.core.sandbox.serving import BackgroundServer, ServedSandbox

__all__ = ["MastodonDemo", "MastodonSandbox", "MastodonSandboxConfig"]

#: The demo app's and token's scopes: everything a profile editor could need.
DEMO_SCOPES = ["read", "write", "follow", "push", "profile"]


@dataclass(frozen=True)
class MastodonDemo:
    """The first ``--json`` line: a demo account with a ready token and a registered app."""

    service: str
    base_url: str
    access_token: str
    account_id: str
    username: str
    client_id: str
    client_secret: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class MastodonSandbox(ServedSandbox):
    SERVED_AS = "mastodon sandbox"

    def __init__(self, config: MastodonSandboxConfig | None = None) -> None:
        self.config = config or MastodonSandboxConfig()
        self.state = MastodonState()
        scopes = [s for s in DEMO_SCOPES
                  if s != "profile" or self.config.has_oauth_metadata]
        self.state.ensure_demo(self.config.demo_username, scopes)
        self.faults = Faults(self.state)
        self.limiter = RateLimiter(self.config.rate_limit, self.config.rate_window_s)
        self.validator = Validator(self.state, self.config)
        self.app = MastodonApp(self.config, self.state, self.faults, self.limiter,
                               Endpoints(self.validator))
        self._http = BackgroundServer(self.app, self.config.host, self.config.port,
                                      allow_remote=self.config.allow_remote,
                                      name="mastodon-sandbox-http", pause=self.faults.pause)

    @property
    def demo(self) -> MastodonDemo:
        app, account, token = self.state.ensure_demo(self.config.demo_username, DEMO_SCOPES)
        return MastodonDemo(service="mastodon", base_url=self.base_url,
                            access_token=token.token, account_id=account.id,
                            username=account.username, client_id=app.client_id,
                            client_secret=app.client_secret)

    def account(self, account_id: str | None = None) -> Account:
        """An account as stored (tests read the avatar the sandbox holds)."""
        with self.state.lock:
            return self.state.accounts[account_id or self.demo.account_id]

    def stored_avatar(self, account_id: str | None = None) -> Avatar | None:
        return self.account(account_id).avatar
