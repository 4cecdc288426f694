"""Settings of one Bluesky PDS sandbox: where it listens, its demo account, lifetimes, limits."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The reference PDS's token lifetimes and refresh grace (account-manager/helpers/auth.ts,
#: account-manager.ts): access 2 h, refresh 90 days, a used refresh token works 2 h more.
ACCESS_LIFETIME_S = 2 * 3600
REFRESH_LIFETIME_S = 90 * 86400
REFRESH_GRACE_S = 2 * 3600
#: PDS_BLOB_UPLOAD_LIMIT's default (5 MiB); the profile lexicon's own limit is lower.
BLOB_UPLOAD_LIMIT = 5 * 1024 * 1024
#: XRPC JSON bodies (putRecord) are limited to this many bytes.
JSON_LIMIT = 1_000_000

#: name -> (requests, window seconds), as the reference PDS limits them
#: (packages/pds/src/rate-limits.ts and createSession.ts).
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "global": (3000, 300),
    "createSession": (30, 300),
    "uploadBlob": (1000, 86400),
    # Repo writes cost points: putRecord 2 of 5000 per hour.
    "repoWrite": (2500, 3600),
}


def default_rate_limits() -> dict[str, tuple[int, int]]:
    return dict(DEFAULT_RATE_LIMITS)


@dataclass
class BlueskySandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0
    allow_remote: bool = False
    #: The demo account.
    handle: str = "alice.test"
    email: str = "alice@example.test"
    #: "" = generate a fresh app password (xxxx-xxxx-xxxx-xxxx) per run.
    app_password: str = ""
    #: The account's main password (also accepted, as on the real PDS).
    password: str = ""
    display_name: str = "Alice Sandbox"
    description: str = "A demo account on the local Bluesky sandbox."
    access_lifetime_s: float = ACCESS_LIFETIME_S
    refresh_lifetime_s: float = REFRESH_LIFETIME_S
    #: How long a used refresh token still works (0: revoked at once when used).
    refresh_grace_s: float = REFRESH_GRACE_S
    #: E-mail sign-in codes (AuthFactorTokenRequired), as bsky.social's entryway does.
    two_factor: bool = False
    #: Seconds before the AppView (unauthenticated getProfile) sees a profile write;
    #: the owner's own getProfile hides it (read-after-write).
    appview_lag_s: float = 0.0
    #: Appended to avatar URLs: "" (current AppView) or "@jpeg" (before March 2026).
    cdn_suffix: str = ""
    blob_upload_limit: int = BLOB_UPLOAD_LIMIT
    #: An uploaded blob no record refers to is garbage-collected after this long
    #: (the spec recommends at least an hour).
    temp_blob_ttl_s: float = 3600.0
    json_limit: int = JSON_LIMIT
    rate_limits: dict[str, tuple[int, int]] = field(default_factory=default_rate_limits)
    #: What the didDoc names as the PDS endpoint; None = the URL the client used.
    pds_endpoint: str | None = None
