"""What the Mastodon sandbox knows: apps, accounts, codes, tokens and avatar files.

Kept in memory only (a sandbox run starts afresh); every access goes through ``lock``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

#: The demo app and account every sandbox starts with (ready token, registered app).
DEMO_APP_NAME = "Avatar Studio Demo"
DEMO_REDIRECT = "urn:ietf:wg:oauth:2.0:oob"
#: Mastodon ids are snowflakes; the demo account's is fixed so URLs are predictable.
DEMO_ACCOUNT_ID = "110357222516183152"


def new_secret(nbytes: int = 32) -> str:
    # Doorkeeper's tokens and client credentials: URL-safe base64, 43 characters.
    return secrets.token_urlsafe(nbytes)


@dataclass
class App:
    id: str
    name: str
    website: str | None
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]
    scopes: list[str]


@dataclass
class Avatar:
    """One uploaded avatar: the stored original and, for animations, its static twin."""

    key: str
    ext: str
    mime: str
    data: bytes = field(repr=False)
    static_ext: str
    static_data: bytes | None = field(default=None, repr=False)
    frames: int = 1

    @property
    def animated(self) -> bool:
        return self.static_data is not None


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    created_at: float
    note: str = ""
    avatar: Avatar | None = None
    avatar_description: str = ""
    #: Every avatar this account ever had, newest last (tests read what was stored).
    history: list[Avatar] = field(default_factory=list)


@dataclass
class Grant:
    """An authorization code waiting to be exchanged."""

    code: str
    client_id: str
    account_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    created_at: float
    used: bool = False


@dataclass
class Token:
    token: str = field(repr=False)
    client_id: str
    #: None for an app token (client_credentials).
    account_id: str | None
    scopes: list[str]
    created_at: float
    revoked: bool = False


class MastodonState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.accounts: dict[str, Account] = {}
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self._next_app_id = 1
        self.demo_client_id = ""
        self.demo_token = ""

    def add_app(self, name: str, redirect_uris: list[str], scopes: list[str],
                website: str | None) -> App:
        with self.lock:
            app = App(id=str(self._next_app_id), name=name, website=website,
                      client_id=new_secret(), client_secret=new_secret(),
                      redirect_uris=redirect_uris, scopes=scopes)
            self._next_app_id += 1
            self.apps[app.client_id] = app
            return app

    def add_account(self, account_id: str, username: str) -> Account:
        with self.lock:
            account = Account(id=account_id, username=username,
                              display_name=username.capitalize(), created_at=time.time())
            self.accounts[account_id] = account
            return account

    def issue_token(self, client_id: str, account_id: str | None, scopes: list[str],
                    token: str | None = None) -> Token:
        with self.lock:
            issued = Token(token=token or new_secret(), client_id=client_id,
                           account_id=account_id, scopes=list(scopes), created_at=time.time())
            self.tokens[issued.token] = issued
            return issued

    def ensure_demo(self, username: str, scopes: list[str]) -> tuple[App, Account, Token]:
        with self.lock:
            if not self.demo_client_id:
                app = self.add_app(DEMO_APP_NAME, [DEMO_REDIRECT], list(scopes), None)
                account = self.add_account(DEMO_ACCOUNT_ID, username)
                token = self.issue_token(app.client_id, account.id, list(scopes))
                self.demo_client_id = app.client_id
                self.demo_token = token.token
            app = self.apps[self.demo_client_id]
            return app, self.accounts[DEMO_ACCOUNT_ID], self.tokens[self.demo_token]

    def live_token(self, value: str) -> Token | None:
        with self.lock:
            token = self.tokens.get(value)
            if token is None or token.revoked:
                return None
            if token.client_id not in self.apps:
                return None
            return token

    def find_avatar(self, key: str) -> tuple[Avatar, bool] | None:
        """The avatar whose file name is ``key`` (its original, or its static twin)."""
        with self.lock:
            for account in self.accounts.values():
                for avatar in account.history:
                    if avatar.key == key:
                        return avatar, False
            return None
