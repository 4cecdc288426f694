"""The X API v1.1 client: PIN sign-in, verify, users/show, upload, image download.

Signing is requests-oauthlib's OAuth1 (HMAC-SHA1, header form); multipart bodies are
encoded by urllib3 and streamed through a small file-like wrapper that reports progress
and can be cancelled between blocks. Nothing here logs a header, token, secret or
signature: only the method, the path (never the query) and the status.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests
from avatar_studio.core import http, net
from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.services.errors import stopped_waiting
from avatar_studio.core.services.x import refresh, spec
from avatar_studio.core.services.x.errors import (
    Cancelled,
    Context,
    InvalidApiBase,
    NetworkError,
    PinRejected,
    RateLimited,
    ServerError,
    UnexpectedResponse,
    UploadCancelled,
    XApiError,
    clock_offset_s,
    error_from_response,
)
from avatar_studio.core.services.x.refresh import SHOW_PATH
from avatar_studio.core.version import __version__
from requests_oauthlib import OAuth1
from urllib3 import encode_multipart_formdata

log = logging.getLogger(__name__)

# oauthlib and requests-oauthlib log base strings, signatures and the Authorization
# header at DEBUG. logsetup silences them for the app; do it here too so no program or
# test using the client with a DEBUG root logger can ever record a secret.
for _name in ("oauthlib", "requests_oauthlib"):
    _logger = logging.getLogger(_name)
    if _logger.level < logging.WARNING:
        _logger.setLevel(logging.WARNING)

USER_AGENT = f"AvatarStudio/{__version__} (+python-requests/{requests.__version__})"
UPLOAD_PATH = "/1.1/account/update_profile_image.json"
VERIFY_PATH = "/1.1/account/verify_credentials.json"
#: Largest published picture we are willing to download.
MAX_IMAGE_DOWNLOAD = 16 * 1024 * 1024
#: Every exchange with X ends within total_s (a dripping server included); bodies are
#: capped before decoding (core.http). An upload may take longer: UPLOAD_LIMITS.
HTTP_LIMITS = http.Limits(total_s=60.0, max_body_bytes=MAX_IMAGE_DOWNLOAD)
UPLOAD_LIMITS = http.Limits(total_s=300.0, max_body_bytes=MAX_IMAGE_DOWNLOAD)

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class ConsumerKeys:
    """The X app's API key and secret (the "consumer" in OAuth 1.0a)."""

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)


@dataclass(frozen=True)
class AccessTokens:
    """One user's access token and secret for that app."""

    token: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True)
class XUser:
    user_id: str
    screen_name: str
    name: str
    profile_image_url_https: str
    default_profile_image: bool

    @property
    def handle(self) -> str:
        return f"@{self.screen_name}"


@dataclass(frozen=True)
class PinAuthorization:
    """Step 1 of the PIN flow: open ``authorize_url``; the request token waits for the PIN."""

    authorize_url: str
    request_token: str = field(repr=False)
    request_secret: str = field(repr=False)


@dataclass(frozen=True)
class SignedIn:
    user: XUser
    tokens: AccessTokens


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 30.0
    #: X answers an upload only after reading and checking the whole image.
    upload_read_s: float = 90.0


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for idempotent GETs on connection errors and 5xx only."""

    attempts: int = 3
    first_delay_s: float = 0.5
    factor: float = 2.0
    max_delay_s: float = 4.0

    def delay(self, retry: int) -> float:
        return min(self.max_delay_s, self.first_delay_s * self.factor ** retry)


@dataclass(frozen=True)
class RateLimit:
    """The x-rate-limit-* headers of the last response from one endpoint."""

    limit: int
    remaining: int
    reset_epoch: float
    #: time.monotonic() when the limit resets, corrected for the server's clock.
    reset_monotonic: float


def validate_api_base(url: str) -> str:
    """The base URL without a trailing slash; https unless the host is loopback."""
    try:
        return net.validate_api_base(url)
    except ValueError as exc:
        raise InvalidApiBase(str(exc)) from None


def _check_download_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http"
                                   and is_loopback_host(parts.hostname or "")):
        return
    raise UnexpectedResponse(f"X reported a picture address that is not https: {url[:120]}")


def user_from_json(data: Any) -> XUser:
    """An :class:`XUser` from a v1.1 user object; UnexpectedResponse if it is not one."""
    if not isinstance(data, Mapping):
        raise UnexpectedResponse("X sent a user record Avatar Studio cannot read.")
    user_id = data.get("id_str") or (str(data["id"]) if isinstance(data.get("id"), int) else "")
    screen_name = data.get("screen_name")
    image = data.get("profile_image_url_https") or data.get("profile_image_url") or ""
    if not user_id or not isinstance(screen_name, str) or not isinstance(image, str):
        raise UnexpectedResponse("X sent a user record without an id, name or picture.")
    name = data.get("name")
    return XUser(user_id=str(user_id), screen_name=screen_name,
                 name=name if isinstance(name, str) else "",
                 profile_image_url_https=image,
                 default_profile_image=bool(data.get("default_profile_image", False)))


class XClient:
    """One app (consumer keys) and, once signed in, one user (access tokens)."""

    def __init__(self, consumer: ConsumerKeys, tokens: AccessTokens | None = None, *,
                 api_base: str = spec.DEFAULT_API_BASE,
                 session: requests.Session | None = None,
                 timeouts: Timeouts = Timeouts(),
                 retry: RetryPolicy = RetryPolicy(),
                 poll: refresh.PollPolicy | None = None,
                 account: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.consumer = consumer
        self.tokens = tokens
        self.api_base = validate_api_base(api_base)
        self.session = session or http.BoundedSession(HTTP_LIMITS)
        self.session.headers["User-Agent"] = USER_AGENT
        if is_loopback_host(urllib.parse.urlsplit(self.api_base).hostname or ""):
            # requests would send even 127.0.0.1 through $HTTP_PROXY unless NO_PROXY lists
            # it; a sandbox on this computer is never behind a proxy.
            self.session.trust_env = False
        self.timeouts = timeouts
        self.retry = retry
        self.poll = poll or refresh.PollPolicy()
        #: How errors name the account ("@name"), when known.
        self.account = account
        #: Wall clock for OAuth timestamps (injectable to test clock skew).
        self.clock = clock
        self._limits: dict[str, RateLimit] = {}
        self._limits_lock = threading.Lock()

    def close(self) -> None:
        """Close pooled connections (the session, if it was passed in, too)."""
        self.session.close()

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------

    def _secrets(self) -> tuple[str, ...]:
        values = [self.consumer.api_key, self.consumer.api_secret]
        if self.tokens is not None:
            values += [self.tokens.token, self.tokens.secret]
        return tuple(v for v in values if len(v) >= 4)

    def _auth(self, *, with_tokens: bool = True, **extra: str) -> Callable[[], OAuth1]:
        """A factory: each attempt is signed afresh (new nonce and timestamp)."""
        if with_tokens and self.tokens is not None and "resource_owner_key" not in extra:
            extra = {"resource_owner_key": self.tokens.token,
                     "resource_owner_secret": self.tokens.secret, **extra}

        def make() -> OAuth1:
            return OAuth1(self.consumer.api_key, client_secret=self.consumer.api_secret,
                          signature_type="AUTH_HEADER", timestamp=str(int(self.clock())),
                          **extra)
        return make

    def url(self, path: str) -> str:
        return self.api_base + path

    def rate_limit(self, path: str) -> RateLimit | None:
        with self._limits_lock:
            return self._limits.get(path)

    def _remember_limit(self, path: str, response: requests.Response) -> None:
        headers = response.headers
        try:
            limit = int(headers["x-rate-limit-limit"])
            remaining = int(headers["x-rate-limit-remaining"])
            reset = http.reset_epoch(headers["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return
        if reset is None:  # unreadable; 10**13 is clamped to a day, never a ValueError
            return
        # Count the reset from the server's own clock so a skewed local clock does not
        # make us call too early.
        server_now = time.time()
        date = headers.get("date")
        if date:
            offset = clock_offset_s({"date": date})
            if offset is not None:
                server_now -= offset
        left = max(0.0, reset - server_now)
        with self._limits_lock:
            self._limits[path] = RateLimit(limit, remaining, reset, time.monotonic() + left)

    def _check_limit(self, path: str) -> None:
        """Refuse to call when the last response said no calls are left."""
        known = self.rate_limit(path)
        if known is None or known.remaining > 0:
            return
        if time.monotonic() >= known.reset_monotonic:
            return
        reset_at = datetime.fromtimestamp(known.reset_epoch, UTC)
        raise RateLimited(
            f"X's rate limit for {path} is used up; it resets at "
            f"{reset_at.astimezone():%H:%M:%S}.",
            hint="Wait until then and try again.", reset_at=reset_at, status=None)

    def _request(self, method: str, path: str, *, context: Context = Context.API,
                 params: Mapping[str, str] | None = None,
                 auth: Callable[[], OAuth1] | None = None,
                 data: Any = None, headers: Mapping[str, str] | None = None,
                 read_timeout: float | None = None,
                 cancel: threading.Event | None = None,
                 url: str | None = None, stream: bool = False) -> requests.Response:
        """One HTTP exchange, retried only if it is a GET; errors become XApiError."""
        target = url or self.url(path)
        idempotent = method == "GET"
        attempts = self.retry.attempts if idempotent else 1
        last_error: XApiError | None = None
        for attempt in range(attempts):
            if attempt:
                delay = self.retry.delay(attempt - 1)
                log.info("Retrying %s %s in %.1f s (attempt %d of %d)",
                         method, path, delay, attempt + 1, attempts)
                if (cancel or threading.Event()).wait(delay):
                    raise Cancelled()
            if auth is not None or url is None:
                self._check_limit(path)
            started = time.monotonic()
            extra: dict[str, Any] = {}
            if read_timeout and isinstance(self.session, http.BoundedSession):
                extra["limits"] = UPLOAD_LIMITS  # an upload may take longer
            try:
                with http.cancel_on(cancel):
                    response = self.session.request(
                        method, target, params=params, data=data, headers=headers,
                        auth=auth() if auth is not None else None,
                        timeout=(self.timeouts.connect_s,
                                 read_timeout or self.timeouts.read_s),
                        allow_redirects=idempotent, stream=stream, **extra)
            except http.RequestCancelled:
                log.info("%s %s: stopped waiting for the answer", method, path)
                raise Cancelled(stopped_waiting(
                    "X", uploaded=isinstance(data, http.ProgressBody))) from None
            except http.BodyCancelled:
                log.info("%s %s cancelled by the user", method, path)
                raise (UploadCancelled() if isinstance(data, http.ProgressBody)
                       else Cancelled()) from None
            except requests.RequestException as exc:
                last_error = self._network_error(exc, target)
                log.info("%s %s failed: %s", method, path, type(exc).__name__)
                if isinstance(exc, http.DeadlineExceeded | http.ResponseTooLarge
                              | http.UnsafeRedirect | http.PlainHttpNotLoopback):
                    break  # asking again cannot help (or there is no time left)
                continue
            elapsed = (time.monotonic() - started) * 1000
            log.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed)
            self._remember_limit(path, response)
            if response.status_code >= 500 and idempotent and attempt + 1 < attempts:
                last_error = ServerError(f"X had a server error (HTTP {response.status_code}).",
                                         status=response.status_code)
                response.close()
                continue
            return response
        assert last_error is not None
        raise last_error

    def _network_error(self, exc: requests.RequestException, url: str) -> NetworkError:
        host = urllib.parse.urlsplit(url).netloc
        # core.http's own errors carry their own sentence.
        what = (str(exc) if isinstance(exc, http.OWN_ERRORS)
                else http.failure_reason(exc, who="X"))
        return NetworkError(f"Could not reach X at {host}: {what}.",
                            hint="Check the network connection (and any proxy) and try again.")

    def _fail(self, response: requests.Response, context: Context) -> XApiError:
        body = response.content[:64 * 1024]
        return error_from_response(response.status_code, dict(response.headers), body,
                                   context=context, account=self.account,
                                   secrets=self._secrets(), now=self.clock())

    def _json(self, response: requests.Response, context: Context = Context.API) -> Any:
        if response.status_code != 200:
            raise self._fail(response, context)
        try:
            return http.parse_json(response.content)
        except ValueError:
            raise UnexpectedResponse(
                f"X answered {response.request.path_url.split('?')[0]} with something "
                "that is not JSON.",
                hint="Check the API base URL; a proxy or captive portal may be in the way.",
                status=response.status_code) from None

    def _require_tokens(self) -> None:
        if self.tokens is None:
            raise XApiError("Not signed in: this request needs an access token.")

    # -- sign-in ----------------------------------------------------------------------

    def start_pin_sign_in(self) -> PinAuthorization:
        """request_token with oauth_callback=oob; the user opens ``authorize_url``."""
        response = self._request("POST", "/oauth/request_token", context=Context.OAUTH,
                                 auth=self._auth(with_tokens=False, callback_uri="oob"))
        if response.status_code != 200:
            raise self._fail(response, Context.OAUTH)
        values = _form(response.text)
        token, secret = values.get("oauth_token"), values.get("oauth_token_secret")
        if not token or not secret or values.get("oauth_callback_confirmed") != "true":
            raise UnexpectedResponse("X's request_token answer is incomplete.",
                                     status=response.status_code)
        query = urllib.parse.urlencode({"oauth_token": token})
        return PinAuthorization(f"{self.url('/oauth/authorize')}?{query}", token, secret)

    def finish_pin_sign_in(self, auth: PinAuthorization, pin: str) -> SignedIn:
        """access_token with the PIN, then verify_credentials with the new tokens."""
        pin = "".join(pin.split())
        if not pin:
            raise PinRejected("No PIN was entered.", hint="Start sign-in again.")
        response = self._request(
            "POST", "/oauth/access_token", context=Context.PIN,
            auth=self._auth(resource_owner_key=auth.request_token,
                            resource_owner_secret=auth.request_secret, verifier=pin))
        if response.status_code != 200:
            raise self._fail(response, Context.PIN)
        values = _form(response.text)
        token, secret = values.get("oauth_token"), values.get("oauth_token_secret")
        if not token or not secret:
            raise UnexpectedResponse("X's access_token answer is incomplete.",
                                     status=response.status_code)
        tokens = AccessTokens(token, secret)
        user = XClient(self.consumer, tokens, api_base=self.api_base, session=self.session,
                       timeouts=self.timeouts, retry=self.retry,
                       clock=self.clock).verify_credentials()
        return SignedIn(user, tokens)

    def sign_in_with_tokens(self) -> SignedIn:
        """Tokens pasted from the developer portal: verified, never trusted blindly."""
        self._require_tokens()
        assert self.tokens is not None
        return SignedIn(self.verify_credentials(), self.tokens)

    # -- users ------------------------------------------------------------------------

    def verify_credentials(self) -> XUser:
        self._require_tokens()
        response = self._request("GET", VERIFY_PATH, auth=self._auth(),
                                 params={"include_entities": "false", "skip_status": "true"})
        return user_from_json(self._json(response))

    def show_user(self, user_id: str, *, cancel: threading.Event | None = None) -> XUser:
        self._require_tokens()
        response = self._request("GET", SHOW_PATH, auth=self._auth(), cancel=cancel,
                                 params={"user_id": user_id, "include_entities": "false"})
        return user_from_json(self._json(response))

    # -- upload -----------------------------------------------------------------------

    def upload_profile_image(self, data: bytes, *, mime_type: str, filename: str,
                             progress: ProgressCallback | None = None,
                             cancel: threading.Event | None = None) -> XUser:
        """POST update_profile_image as multipart (raw bytes in part ``image``).

        Only the query is signed (RFC 5849 leaves multipart bodies out); never retried,
        since a second POST could change the picture twice. ``progress(sent, total)``
        counts multipart bytes handed to the socket. ``cancel`` works until the last
        byte has left (the connection is dropped and X sees a truncated request it
        cannot accept); once X has the whole image only its answer decides.
        """
        self._require_tokens()
        body, content_type = encode_multipart_formdata(
            {"image": (filename, data, mime_type)})
        stream = http.ProgressBody(body, progress, cancel)
        response = self._request(
            "POST", UPLOAD_PATH, context=Context.UPLOAD, auth=self._auth(),
            params={"include_entities": "false", "skip_status": "true"},
            data=stream, headers={"Content-Type": content_type},
            read_timeout=self.timeouts.upload_read_s, cancel=cancel)
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, Context.UPLOAD)
        if progress is not None and stream.reported < len(body):
            progress(len(body), len(body))
        log.info("Profile picture uploaded (%d bytes, %s)", len(data), mime_type)
        if not response.content.strip():
            # 201/202 may come without a body (as update_profile_banner does).
            return self.verify_credentials()
        try:
            return user_from_json(http.parse_json(response.content))
        except ValueError:
            return self.verify_credentials()

    # -- the published picture ---------------------------------------------------------

    def download_image(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        """GET a published picture (public, unsigned). 404/403 raise UnexpectedResponse."""
        _check_download_url(url)
        path = urllib.parse.urlsplit(url).path
        response = self._request("GET", path, context=Context.IMAGE, url=url,
                                 cancel=cancel, stream=True)
        with response:
            if response.status_code != 200:
                raise self._fail(response, Context.IMAGE)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_IMAGE_DOWNLOAD:
                    raise UnexpectedResponse("The published picture is unreasonably large.")
                chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            raise UnexpectedResponse("X served an empty picture.")
        return data

    def wait_for_new_image(self, user_id: str, old_url: str, *,
                           on_attempt: Callable[[int], None] | None = None,
                           cancel: threading.Event | None = None) -> refresh.RefreshResult:
        """Poll users/show until the picture URL changes, then fetch the new picture."""
        return refresh.wait_for_new_image(self, user_id, old_url, policy=self.poll,
                                          on_attempt=on_attempt, cancel=cancel)


def _form(text: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(text.strip(), keep_blank_values=True))
