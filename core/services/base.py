"""The per-service interface: what every service (X, Mastodon, Bluesky) provides.

Plain dataclasses and Protocols. The window, the command line and the publish use case
see only these types and :mod:`avatar_studio.core.services.registry`; each concrete
service lives in its own subpackage and never imports another.

A service's life cycle, in the order the callers use it:

1. ``registry.get(key)`` gives a :class:`Service`: its facts (name, default API base,
   sign-in kinds, default render spec, help link).
2. ``service.sign_in(request)`` gives a :class:`SignIn` for one of its kinds; finishing it
   gives a :class:`SignedInAccount` (who, plus the :class:`Secret` to keep in the keyring).
3. ``service.open_session(account, secret, ...)`` gives a :class:`Session` for a saved
   account: ``whoami``, ``render_spec`` (may depend on the server, e.g. a Mastodon
   instance's limits), ``publish`` rendered bytes with progress and cancel, ``confirm``
   until the service really shows the new picture, ``sign_out``.
4. A session whose tokens rotate (Bluesky's refresh token) calls ``on_secret_changed``
   with the new :class:`Secret` *before* it uses the new token, so the caller writes it
   to the keyring at once.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from avatar_studio.core.imaging.spec import RenderSpec

__all__ = [
    "BrowserAuthorization",
    "ConfirmCallback",
    "Confirmed",
    "Identity",
    "ProgressCallback",
    "Publication",
    "Receipt",
    "RenderSpec",
    "Secret",
    "SecretCallback",
    "Service",
    "Session",
    "SignIn",
    "SignInKind",
    "SignInRequest",
    "SignedInAccount",
]

#: (bytes handed to the socket so far, total bytes).
ProgressCallback = Callable[[int, int], None]
#: Called with the number of the check just made while confirming (1-based).
ConfirmCallback = Callable[[int], None]


class SignInKind(Enum):
    #: Open a page in the browser, the user pastes a code back (X's PIN, Mastodon's oob).
    BROWSER_CODE = "browser-code"
    #: Open a page in the browser, it redirects to our one-shot loopback listener.
    BROWSER_LOOPBACK = "browser-loopback"
    #: Identifier + (app) password (Bluesky), maybe an e-mailed second factor.
    PASSWORD = "password"  # noqa: S105 (a kind, not a secret)
    #: Tokens the user already has, pasted (X's access token pair, a Mastodon token).
    TOKENS = "tokens"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is signed in, as the service shows it."""

    service: str
    #: API base URL without a trailing slash (X API host, Mastodon instance, Bluesky PDS).
    api_base: str
    #: Stable id that survives renames: X user id, Mastodon account id, Bluesky DID.
    account_id: str
    #: As the service writes it: "@name" (X), "@user@instance" (Mastodon),
    #: "@alice.bsky.social" (Bluesky).
    handle: str
    display_name: str = ""
    #: The current avatar's URL ("" when the account has none).
    avatar_url: str = ""


@dataclass(frozen=True, slots=True)
class Secret:
    """What one account needs to act; the content is the service's, never shown anywhere.

    Stored in the keyring as small versioned JSON: ``{"v": N, "service": key, ...}``.
    """

    service: str
    values: Mapping[str, str] = field(repr=False)
    version: int = 2

    def __getitem__(self, key: str) -> str:
        return self.values[key]

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def replace(self, **changes: str) -> Secret:
        return Secret(self.service, {**self.values, **changes}, self.version)

    def to_json(self) -> str:
        return json.dumps({"v": self.version, "service": self.service, **self.values},
                          separators=(",", ":"), sort_keys=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced, for logs and messages."""
        for value in self.values.values():
            if value and len(value) >= 4:
                text = text.replace(value, "***")
        return text


#: Called with the rotated secret before the new token is used; it must persist it.
SecretCallback = Callable[[Secret], None]


@dataclass(frozen=True, slots=True)
class SignedInAccount:
    identity: Identity
    secret: Secret = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignInRequest:
    """What the user typed on the sign-in page of one service."""

    kind: SignInKind
    #: Advanced › API server; None = the service's default or what discovery finds.
    api_base: str | None = None
    #: Mastodon: an instance or "@user@host"; Bluesky: a handle or e-mail; X: unused.
    identifier: str = ""
    #: X: the developer app's API key and secret.
    app_key: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class BrowserAuthorization:
    """Step 1 of a browser sign-in: open ``url``; ``state`` is the flow's own, opaque."""

    url: str
    kind: SignInKind
    state: Any = field(default=None, repr=False)


class SignIn(Protocol):
    """One sign-in attempt for one service; build a new one per attempt."""

    @property
    def kind(self) -> SignInKind: ...

    def start_browser(self, *, cancel: threading.Event | None = None
                      ) -> BrowserAuthorization:
        """BROWSER_*: register/ask for a request token and give the page to open."""
        ...

    def finish_browser(self, auth: BrowserAuthorization, code: str | None = None, *,
                       timeout_s: float = 300.0, cancel: threading.Event | None = None
                       ) -> SignedInAccount:
        """BROWSER_CODE: with the pasted ``code``; BROWSER_LOOPBACK: waits for the redirect."""
        ...

    def with_password(self, identifier: str, password: str, *, second_factor: str = "",
                      cancel: threading.Event | None = None) -> SignedInAccount:
        """PASSWORD: raises a CodeRequired-style ServiceError when a second factor is due."""
        ...

    def with_tokens(self, tokens: Mapping[str, str], *,
                    cancel: threading.Event | None = None) -> SignedInAccount:
        """TOKENS: checks them with the service before returning."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Publication:
    """Rendered bytes ready to publish (exactly what the preview shows)."""

    data: bytes = field(repr=False)
    mime_type: str
    filename: str
    width: int
    height: int
    frames: int = 1
    alt_text: str = ""


@dataclass(frozen=True, slots=True)
class Receipt:
    """The service accepted the upload; ``confirm`` turns it into :class:`Confirmed`."""

    identity: Identity
    #: The avatar URL before the upload ("" if none).
    old_avatar_url: str
    #: The service's handle on the new picture: X: "" (poll users/show); Mastodon: the
    #: new avatar URL; Bluesky: the new blob's CID.
    token: str = ""
    #: time.monotonic() when the service accepted the upload.
    accepted_at: float = 0.0
    #: Seconds the service takes at least before ``confirm`` can see the new picture
    #: (X: its documented processing wait); 0 = unknown or none. For progress text only.
    processing_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The service shows the new picture; ``image`` is it, as downloaded from there."""

    identity: Identity
    avatar_url: str
    image: bytes = field(repr=False)
    checks: int = 1
    #: From the upload's acceptance to the confirmation.
    waited_s: float = 0.0


class Session(Protocol):
    """A signed-in account, ready to act. Thread-safe for one publish at a time."""

    @property
    def service(self) -> Service: ...

    def whoami(self, *, cancel: threading.Event | None = None) -> Identity: ...

    def render_spec(self) -> RenderSpec:
        """The limits for this account's server (may ask the server once, then cached)."""
        ...

    def publish(self, picture: Publication, *, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> Receipt: ...

    def confirm(self, receipt: Receipt, *, on_check: ConfirmCallback | None = None,
                cancel: threading.Event | None = None, timeout_s: float | None = None
                ) -> Confirmed:
        """Until the service shows the new picture; raises NotPublishedYet(receipt=...)."""
        ...

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes: ...

    def secret(self) -> Secret:
        """The current secret (after any rotation)."""
        ...

    def sign_out(self) -> None:
        """Revoke the token / delete the session on the server, where the service can."""
        ...

    def close(self) -> None: ...


class Service(Protocol):
    """One service's facts and factories; listed by the registry."""

    @property
    def key(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def default_api_base(self) -> str: ...

    @property
    def sign_in_kinds(self) -> tuple[SignInKind, ...]: ...

    @property
    def default_spec(self) -> RenderSpec:
        """The spec before any server was asked (for previews with no account)."""
        ...

    @property
    def help_url(self) -> str: ...

    def sign_in(self, request: SignInRequest) -> SignIn: ...

    def open_session(self, identity: Identity, secret: Secret, *,
                     on_secret_changed: SecretCallback | None = None) -> Session: ...

    def upgrade_secret(self, data: Mapping[str, Any]) -> Secret:
        """A keyring value of any earlier version of this service's secret, upgraded."""
        ...
