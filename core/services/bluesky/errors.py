"""XRPC errors (``{"error", "message"}``) mapped onto the seam's categories.

The PDS's names decide, not only the status: a bearer problem is 400 ``ExpiredToken`` /
``InvalidToken``, a bad password 401 ``AuthenticationRequired``, an avatar the lexicon
refuses 400 ``InvalidRequest`` "Invalid app.bsky.actor.profile record: ...".
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from avatar_studio.core import http
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services.bluesky.spec import HELP_URL, KEY

#: Exit codes 50-54 are Bluesky's (50 SecondFactorRequired is in the seam's errors).


class AccountTakenDown(seam.PermissionMissing):
    """The account was taken down (or suspended) by its PDS or moderation."""

    exit_code = 51


class HandleNotResolved(seam.ServiceError):
    """The handle did not lead to an account: no DID for it, or no PDS in its document."""

    exit_code = 52
    category = seam.Category.CREDENTIALS_REJECTED


class ProfileKeptChanging(seam.ServiceError):
    """Every putRecord lost to another edit of the profile (InvalidSwap); nothing overwritten."""

    exit_code = 53
    category = seam.Category.SERVER_ERROR


class Context(enum.Enum):
    SIGN_IN = "sign-in"
    REFRESH = "refresh"
    API = "api"
    UPLOAD = "upload"
    WRITE = "write"


class XrpcFailure(Exception):
    """A non-2xx XRPC answer, before mapping; ``error`` is the PDS's name."""

    def __init__(self, status: int, error: str, message: str,
                 headers: Mapping[str, str]) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers)


def parse_failure(status: int, body: bytes, headers: Mapping[str, str]) -> XrpcFailure:
    error, message = "", ""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        error = str(data.get("error") or "")
        message = str(data.get("message") or "")
    return XrpcFailure(status, error, _clean(message), headers)


def _clean(text: str) -> str:
    text = " ".join(text.split())
    return text[:300] + ("…" if len(text) > 300 else "")


def _reset_at(headers: Mapping[str, str], now: datetime) -> datetime | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    # Clamped to a day ahead (core.http): a reset of 10**13 is no ValueError.
    reset = http.reset_epoch(lowered.get("ratelimit-reset"), now=now.timestamp())
    if reset is not None:
        return datetime.fromtimestamp(reset, UTC)
    retry = http.retry_after_s(lowered.get("retry-after"), now=now.timestamp())
    if retry is not None:
        return datetime.fromtimestamp(now.timestamp() + retry, UTC)
    return None


def map_failure(failure: XrpcFailure, context: Context, *, now: datetime | None = None
                ) -> seam.ServiceError:
    """The seam's error for one XRPC failure (the PDS's words in ``server_message``)."""
    status, name = failure.status, failure.error
    words = f"{name}: {failure.message}" if name else failure.message
    common: dict[str, Any] = {"status": status, "server_message": words or None,
                              "service": KEY, "help_url": HELP_URL}
    if name == "AuthFactorTokenRequired":
        return seam.SecondFactorRequired(
            "Bluesky sent a sign-in code to your e-mail address.",
            hint="Enter the code from the e-mail to finish signing in.", **common)
    if name == "AccountTakedown" or (status == 401 and "taken down" in failure.message):
        return AccountTakenDown("This Bluesky account has been taken down.",
                                hint="Bluesky's moderation or your PDS suspended it; see "
                                "the e-mail they sent you.", **common)
    if context is Context.SIGN_IN:
        if name == "InvalidToken" or (name == "ExpiredToken" and status in (400, 401)):
            return seam.CodeRejected("Bluesky did not accept the sign-in code.",
                                     hint="Codes work once and expire; sign in again for "
                                     "a new one.", **common)
        if status == 401:
            return seam.CredentialsRejected(
                "Bluesky did not accept this handle and password.",
                hint="Check the handle (or e-mail) and use an app password "
                "(xxxx-xxxx-xxxx-xxxx) from Bluesky's settings.", **common)
    if name in ("ExpiredToken", "InvalidToken") or (context is Context.REFRESH
                                                   and status in (400, 401)):
        return seam.TokenRevoked("Your Bluesky session has ended.",
                                 hint="Sign in to Bluesky again (the app password may have "
                                 "been revoked).", **common)
    if name == "AuthMissing" or status == 401:
        return seam.BadAuthData("Bluesky did not receive the session's credentials.",
                                hint="Sign in to Bluesky again.", **common)
    if status == 413:
        return seam.ImageRejected("The picture is too large for this Bluesky server.",
                                  hint="Bluesky takes avatars under 1,000,000 bytes.", **common)
    if name in ("BlobNotFound", "InvalidMimeType", "InvalidSize") or (
            context is Context.WRITE and name == "InvalidRequest"
            and "record" in failure.message.lower()):
        return seam.ImageRejected("Bluesky did not accept the picture for the profile.",
                                  hint="The server's words are below; try again, or pick "
                                  "PNG or JPEG under 1,000,000 bytes.", **common)
    if status == 429:
        at = _reset_at(failure.headers, now or datetime.now(UTC))
        when = f" until {at.astimezone().strftime('%H:%M')}" if at else ""
        return seam.RateLimited(f"Bluesky's rate limit is used up{when}.",
                                reset_at=at, hint="Wait, then try again.", **common)
    if status >= 500:
        return seam.ServerError(f"Bluesky's server had a problem (HTTP {status}).",
                                hint="Try again in a moment.", **common)
    return seam.UnexpectedResponse(f"Bluesky answered HTTP {status} unexpectedly.",
                                   **common)
