"""X's error responses mapped onto the service-neutral categories.

Every class carries a message a user can act on, the service ("x"), a help link, and
(from its category in :mod:`avatar_studio.core.services.errors`) its command-line exit
code (the table is in README.md, "Exit codes"); X-only refinements (ReadOnlyApp,
AccessTierRefused, PinRejected) keep their own codes. :func:`error_from_response` turns
any HTTP error response into one of them, reading X's ``errors[]`` array, the legacy
``{"request", "error"}`` shape, plain text (the OAuth endpoints) or an empty body.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from avatar_studio.core import http
from avatar_studio.core.services import errors as _base

SERVICE_KEY = "x"
#: Longest piece of the server's own words we repeat to the user.
MAX_SERVER_TEXT = 300


#: Where an X error's "Open help" leads, unless the error names a better page.
HELP_URL = "https://developer.x.com/en/docs/x-api/v1"
#: For what only the developer portal can fix (app permissions, access tier).
PORTAL_URL = "https://developer.x.com/en/portal/dashboard"


class XApiError(_base.ServiceError):
    """Base of every error from the X client; carries service "x" and X's help link.

    Each X class below also derives from its category in
    :mod:`avatar_studio.core.services.errors`, which gives its exit code; the window and
    the command line only test for those categories.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("service", SERVICE_KEY)
        kwargs.setdefault("help_url", HELP_URL)
        super().__init__(*args, **kwargs)


class CredentialsRejected(XApiError, _base.CredentialsRejected):
    """401 code 32: bad consumer key/secret, bad token secret or a bad signature."""


class TokenRevoked(XApiError, _base.TokenRevoked):
    """401 code 89: the access token was revoked or expired."""


class ClockSkew(XApiError, _base.ClockSkew):
    """401 code 135: the OAuth timestamp is too far from X's clock."""


class BadAuthData(XApiError, _base.BadAuthData):
    """400 code 215: no or unreadable authentication data."""


class ReadOnlyApp(XApiError, _base.PermissionMissing):
    """The app (and so its tokens) only has Read permission."""

    exit_code = 25

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("help_url", PORTAL_URL)
        super().__init__(*args, **kwargs)


class AccessTierRefused(XApiError, _base.PermissionMissing):
    """403 code 453: the developer account's access tier lacks this v1.1 endpoint."""

    exit_code = 26

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("help_url", PORTAL_URL)
        super().__init__(*args, **kwargs)


class ImageRejected(XApiError, _base.ImageRejected):
    """400/413/422 from the upload: X did not accept the picture."""


class RateLimited(XApiError, _base.RateLimited):
    """429 (code 88), or the client refused to exceed the advertised remaining calls."""


class ServerError(XApiError, _base.ServerError):
    """5xx: X's side failed."""


class NetworkError(XApiError, _base.NetworkError):
    """No usable HTTP response: timeout, refused or reset connection, DNS failure, TLS."""


class UnexpectedResponse(XApiError, _base.UnexpectedResponse):
    """Anything else: an undocumented status or a body we cannot read."""


class Cancelled(XApiError, _base.Cancelled):
    """The user cancelled a request (a retry wait, say) before it finished."""


class UploadCancelled(Cancelled, _base.UploadCancelled):
    """The user cancelled the upload before X answered (same exit code as Cancelled)."""


class NotPublishedYet(XApiError, _base.NotPublishedYet):
    """The upload was accepted but users/show still reports the old picture.

    Nothing is lost: X keeps processing the image. ``user_id`` and ``old_url`` are kept
    so the caller can check again later with the same arguments (the session also sets
    ``receipt``, the seam's way to check again).
    """

    def __init__(self, message: str, *, user_id: str, old_url: str, waited_s: float,
                 cancelled: bool = False, **kwargs: Any) -> None:
        super().__init__(message, waited_s=waited_s, cancelled=cancelled, **kwargs)
        self.user_id = user_id
        self.old_url = old_url


class PinRejected(XApiError, _base.CodeRejected):
    """/oauth/access_token refused the PIN (wrong, already used or expired)."""


class InvalidApiBase(XApiError, _base.InvalidApiBase):
    """The API base URL is not https (and not a loopback address) or is malformed."""


class Context(Enum):
    """Which kind of request failed: the same status means different things."""

    API = "api"
    UPLOAD = "upload"
    OAUTH = "oauth"          # request_token / access_token (plain-text errors)
    PIN = "pin"              # access_token with a PIN
    IMAGE = "image"          # downloading the published picture


@dataclass(frozen=True)
class ParsedBody:
    """The useful bits of an error body, whatever its shape."""

    codes: tuple[int, ...]
    messages: tuple[str, ...]

    @property
    def text(self) -> str:
        return "; ".join(self.messages)


def _clean(text: str, secrets: Iterable[str] = ()) -> str:
    """Server words as one short line, with anything secret-looking we know removed."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "•••")
    text = " ".join(text.split())
    if len(text) > MAX_SERVER_TEXT:
        text = text[: MAX_SERVER_TEXT - 1] + "…"
    return text


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_error_body(body: bytes, content_type: str = "") -> ParsedBody:
    """Read codes and messages from any body X is known to send; never raises."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return ParsedBody((), ())
    not_json = object()
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = not_json
    codes: list[int] = []
    messages: list[str] = []
    if isinstance(data, Mapping):
        errors = data.get("errors")
        if isinstance(errors, Mapping):
            errors = [errors]
        if isinstance(errors, list):
            for item in errors:
                if isinstance(item, Mapping):
                    code = _as_int(item.get("code"))
                    if code is not None:
                        codes.append(code)
                    msg = item.get("message") or item.get("detail")
                    if isinstance(msg, str) and msg.strip():
                        messages.append(msg.strip())
                elif isinstance(item, str) and item.strip():
                    messages.append(item.strip())
        elif isinstance(errors, str) and errors.strip():
            messages.append(errors.strip())
        # Legacy {"request": "/1.1/...", "error": "..."} and v2-style {"title", "detail"}.
        for key in ("error", "detail", "title", "message"):
            value = data.get(key)
            if isinstance(value, str) and value.strip() and value.strip() not in messages:
                messages.append(value.strip())
                break
        code = _as_int(data.get("code"))
        if code is not None and code not in codes:
            codes.append(code)
        return ParsedBody(tuple(codes), tuple(messages))
    if data is not not_json:
        return ParsedBody((), ())
    if "html" in content_type.lower() or text.lower().startswith(("<!doctype", "<html")):
        # A proxy's or load balancer's page: its markup is no use to the user.
        title = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return ParsedBody((), (title.group(1).strip(),) if title else ())
    if text.startswith("<"):
        # The pre-2014 OAuth XML: <hash><error>...</error><request>...</request></hash>
        found = re.search(r"<error>(.*?)</error>", text, re.DOTALL)
        return ParsedBody((), (found.group(1).strip(),) if found else ())
    return ParsedBody((), (text.splitlines()[0].strip(),))


def rate_limit_reset(headers: Mapping[str, str], *, now: float | None = None) -> datetime | None:
    """When the limit resets, from x-rate-limit-reset (epoch s) or Retry-After (seconds)."""
    # Clamped to a day ahead (core.http): a reset of 10**13 is no ValueError.
    current = now if now is not None else time.time()
    reset = http.reset_epoch(headers.get("x-rate-limit-reset"), now=current)
    if reset is not None:
        return datetime.fromtimestamp(reset, UTC)
    retry_after = http.retry_after_s(headers.get("retry-after"), now=current)
    if retry_after is not None:
        return datetime.fromtimestamp(current + retry_after, UTC)
    return None


def clock_offset_s(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """How far our clock is ahead of the server's (the Date header), in seconds."""
    date = headers.get("date")
    if not date:
        return None
    try:
        server = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return (now if now is not None else time.time()) - server.timestamp()


def _format_reset(reset_at: datetime | None, now: float | None = None) -> str:
    if reset_at is None:
        return "later"
    local = reset_at.astimezone()
    left = reset_at.timestamp() - (now if now is not None else time.time())
    if left <= 0:
        return f"at {local:%H:%M:%S}"
    minutes = max(1, round(left / 60))
    return f"at {local:%H:%M:%S} (in about {minutes} min)"


def _quote(parsed: ParsedBody, status: int, secrets: Iterable[str]) -> str:
    words = _clean(parsed.text, secrets)
    code = f" {parsed.codes[0]}" if parsed.codes else ""
    return f"HTTP {status}{code}: {words}" if words else f"HTTP {status}{code}"


def error_from_response(status: int, headers: Mapping[str, str], body: bytes, *,
                        context: Context = Context.API, account: str = "",
                        secrets: Iterable[str] = (), now: float | None = None) -> XApiError:
    """The one error class that best explains this failed response."""
    secrets = tuple(secrets)
    lower = {k.lower(): v for k, v in headers.items()}
    parsed = parse_error_body(body, lower.get("content-type", ""))
    codes = set(parsed.codes)
    words = parsed.text.lower()
    quote = _quote(parsed, status, secrets)
    server = _clean(parsed.text, secrets) or None
    common: dict[str, Any] = {"status": status, "codes": parsed.codes, "server_message": server}
    who = f" for {account}" if account else ""

    if status == 429 or 88 in codes:
        reset_at = rate_limit_reset(lower, now=now)
        return RateLimited(
            "X's rate limit for this request is used up; "
            f"it resets {_format_reset(reset_at, now)}.",
            hint="Wait until then and try again.", reset_at=reset_at, **common)
    if 135 in codes or "timestamp out of bounds" in words:
        offset = clock_offset_s(lower, now=now)
        detail = (f" This computer's clock is about {abs(offset):.0f} s "
                  f"{'ahead of' if offset > 0 else 'behind'} X's."
                  if offset is not None and abs(offset) >= 1 else "")
        return ClockSkew(
            f"X rejected the request because this computer's clock is wrong ({quote}).{detail}",
            hint="Set the date and time automatically (NTP) and try again.", **common)
    if 89 in codes or "invalid or expired token" in words:
        return TokenRevoked(
            f"X says the sign-in{who} is no longer valid: the access token was revoked or "
            f"has expired ({quote}).",
            hint="Sign in again (avatar-studio-cli login).", **common)
    if 453 in codes:
        return AccessTierRefused(
            f"X refused this request for the app's access tier ({quote}).",
            hint="Your developer account's access level does not include the v1.1 account "
                 "endpoints; check the project's access level in the X developer portal.",
            **common)
    if 261 in codes or "read-only" in words or "read only" in words:
        return ReadOnlyApp(
            f"The X app only has Read permission, so it cannot change the profile picture "
            f"({quote}).",
            hint="In the developer portal set the app's permissions to Read and Write, then "
                 "regenerate the access token and secret and sign in again.", **common)
    if 215 in codes:
        return BadAuthData(
            f"X could not read the sign-in data ({quote}).",
            hint="Sign in again; if it keeps happening, check the API base URL.", **common)
    if context is Context.PIN and status in (400, 401):
        return PinRejected(
            f"X did not accept the PIN ({quote}).",
            hint="A PIN works once and expires after a few minutes: start sign-in again "
                 "and type the new PIN.", **common)
    if 32 in codes or status == 401:
        return CredentialsRejected(
            f"X rejected the credentials{who} ({quote}).",
            hint="Check the API key and secret (and the access token and secret) from the "
                 "developer portal, then sign in again.", **common)
    if status >= 500 or codes & {130, 131}:
        return ServerError(
            f"X had a server error ({quote}).",
            hint="This is on X's side; try again in a few minutes.", **common)
    if context is Context.UPLOAD and status in (400, 413, 415, 422):
        if status == 413 and not server:
            text = "X rejected the image as too large (HTTP 413)."
        else:
            text = f"X rejected the image ({quote})."
        return ImageRejected(text, hint="Try a smaller JPEG or PNG.", **common)
    return UnexpectedResponse(
        f"X sent a response Avatar Studio did not expect ({quote}).",
        hint="Try again; if it persists, run with --debug and report the log.", **common)
