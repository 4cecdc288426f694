"""What can go wrong talking to any service, by category, as one typed hierarchy.

Every service maps its own error shapes (X's ``errors[]``, Mastodon's ``{"error"}``,
XRPC's ``{"error", "message"}``) onto these classes; the window and the command line
only ever see these. Each error names its service and a help link for that service.
Exit codes are the README's table ("Exit codes"); 20-39 keep the numbers X used first.
Reserved blocks for new codes: 40-44 publishing/accounts, 45-49 Mastodon sign-in,
50-54 Bluesky sign-in, 55-59 hardening (HTTP layer, files).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from avatar_studio.core.errors import UserFacingError


class Category(Enum):
    CREDENTIALS_REJECTED = "credentials-rejected"
    SIGN_IN_AGAIN = "sign-in-again"  # token expired or revoked
    CLOCK_SKEW = "clock-skew"
    BAD_AUTH_DATA = "bad-auth-data"
    PERMISSION_MISSING = "permission-missing"  # read-only app, missing scope, access tier
    IMAGE_REJECTED = "image-rejected"
    RATE_LIMITED = "rate-limited"
    SERVER_ERROR = "server-error"
    NETWORK = "network"
    UNEXPECTED = "unexpected-response"
    CANCELLED = "cancelled"
    NOT_PUBLISHED_YET = "not-published-yet"
    CODE_REJECTED = "code-rejected"  # a PIN / authorization code / e-mail code
    CODE_REQUIRED = "code-required"  # a second factor is due: ask for it, sign in again
    INVALID_API_BASE = "invalid-api-base"
    OTHER = "other"


class ServiceError(UserFacingError):
    """Base of every error from a service client (exit 20: other client error)."""

    exit_code = 20
    category = Category.OTHER

    def __init__(self, message: str, *, hint: str | None = None, status: int | None = None,
                 codes: tuple[int, ...] = (), server_message: str | None = None,
                 service: str = "", help_url: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.codes = codes
        #: The server's own words (cleaned, shortened, secrets removed).
        self.server_message = server_message
        #: Registry key of the service ("x", "mastodon", "bluesky"); "" when unknown.
        self.service = service
        #: Where the user reads more about this problem on that service.
        self.help_url = help_url


class CredentialsRejected(ServiceError):
    """The service refused the app's or the user's credentials (bad key, bad password)."""

    exit_code = 21
    category = Category.CREDENTIALS_REJECTED


class TokenRevoked(ServiceError):
    """The access (or refresh) token expired or was revoked: sign in again."""

    exit_code = 22
    category = Category.SIGN_IN_AGAIN


class ClockSkew(ServiceError):
    """The request's timestamp is too far from the server's clock."""

    exit_code = 23
    category = Category.CLOCK_SKEW


class BadAuthData(ServiceError):
    """No or unreadable authentication data reached the server."""

    exit_code = 24
    category = Category.BAD_AUTH_DATA


class PermissionMissing(ServiceError):
    """Signed in, but not allowed: read-only app, missing scope, access tier."""

    exit_code = 25
    category = Category.PERMISSION_MISSING


class ImageRejected(ServiceError):
    """The service did not accept the picture (with its own words)."""

    exit_code = 27
    category = Category.IMAGE_REJECTED


class RateLimited(ServiceError):
    """429, or the client refused to exceed the advertised remaining calls."""

    exit_code = 28
    category = Category.RATE_LIMITED

    def __init__(self, message: str, *, reset_at: datetime | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class ServerError(ServiceError):
    """5xx: the service's side failed."""

    exit_code = 29
    category = Category.SERVER_ERROR


class NetworkError(ServiceError):
    """No usable HTTP response: timeout, refused or reset connection, DNS failure, TLS."""

    exit_code = 30
    category = Category.NETWORK


class UnexpectedResponse(ServiceError):
    """An undocumented status or a body we cannot read."""

    exit_code = 31
    category = Category.UNEXPECTED


class Cancelled(ServiceError):
    """The user cancelled before the request finished."""

    exit_code = 32
    category = Category.CANCELLED

    def __init__(self, message: str = "Cancelled.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class UploadCancelled(Cancelled):
    """Cancelled before the service answered the upload: the picture was not changed."""

    def __init__(self, message: str = "Upload cancelled; your profile picture was not changed.",
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


def stopped_waiting(who: str, *, uploaded: bool) -> str:
    """What a Cancelled says when it stopped a request that had left whole: an upload
    the service may still act on, or any other request."""
    if uploaded:
        return (f"Stopped waiting for {who}'s answer: it had received the whole picture "
                "and may still publish it; check your profile later.")
    return f"Stopped waiting for {who}'s answer."


class NotPublishedYet(ServiceError):
    """The upload was accepted but the service does not show the new picture yet.

    Nothing is lost. ``receipt`` is what the session's ``confirm`` needs to check again
    later without uploading a second time.
    """

    exit_code = 33
    category = Category.NOT_PUBLISHED_YET

    def __init__(self, message: str, *, receipt: object = None, waited_s: float = 0.0,
                 cancelled: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.receipt = receipt
        self.waited_s = waited_s
        #: True when the user stopped the wait, False when the time limit ran out.
        self.cancelled = cancelled


class CodeRejected(ServiceError):
    """A sign-in code (X's PIN, an OAuth code, an e-mailed code) was not accepted."""

    exit_code = 37
    category = Category.CODE_REJECTED


class SecondFactorRequired(ServiceError):
    """The password was right but a second factor is due (Bluesky's e-mailed sign-in
    code): ask the user for it and call ``with_password(..., second_factor=code)``."""

    exit_code = 50
    category = Category.CODE_REQUIRED


class InvalidApiBase(ServiceError):
    """The API base URL is not https (and not a loopback address) or is malformed."""

    exit_code = 39
    category = Category.INVALID_API_BASE
