"""Talk to one Mastodon instance: discovery, app registration, tokens, the avatar.

requests for HTTP (urllib3's multipart encoder for the upload), oauthlib's client for the
OAuth 2 token request and response; every failure becomes a
:class:`~avatar_studio.core.services.mastodon.errors.MastodonError` with the server's words.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from avatar_studio.core import http
from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.services.errors import stopped_waiting
from avatar_studio.core.services.mastodon import spec
from avatar_studio.core.services.mastodon.errors import (
    Cancelled,
    Context,
    InstanceNotFound,
    InvalidApiBase,
    MastodonError,
    NetworkError,
    ServerError,
    UnexpectedResponse,
    UploadCancelled,
    error_from_response,
)
from avatar_studio.core.version import __version__
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from urllib3 import encode_multipart_formdata

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
#: A downloaded avatar larger than this is refused (Mastodon stores at most 8 MB).
MAX_IMAGE_DOWNLOAD = 16 * 1024 * 1024
USER_AGENT = f"AvatarStudio/{__version__}"


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 10.0
    read_s: float = 30.0
    upload_read_s: float = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """GETs only: attempts in all, and the pause before each retry."""

    attempts: int = 3
    base_delay_s: float = 0.5

    def delay(self, retry: int) -> float:
        return float(self.base_delay_s * 2 ** retry)


def normalize_api_base(text: str) -> str:
    """``mastodon.social`` / ``https://host/`` → ``https://host``; http only on loopback."""
    text = text.strip()
    if not text:
        raise InvalidApiBase("No instance was given.", hint="Type an instance such as "
                             "mastodon.social, or a handle such as @you@mastodon.social.")
    if "://" not in text:
        host = text.split("/", 1)[0]
        scheme = "http" if is_loopback_host(host.rsplit(":", 1)[0]) else "https"
        text = f"{scheme}://{text}"
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidApiBase(f"“{text}” is not an instance address.",
                             hint="Use a host name such as mastodon.social.")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise InvalidApiBase(f"{parts.hostname} must be reached over https.",
                             hint="Only a server on this computer (a sandbox) may use "
                                  "plain http.")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidApiBase(f"“{text}” is not a plain instance address.",
                             hint="Give only the scheme and host, e.g. https://example.org.")
    return f"{parts.scheme}://{parts.netloc}".lower()


def parse_version(text: str) -> tuple[int, int, int]:
    match = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", text or "")
    if match is None:
        return (0, 0, 0)
    return int(match[1]), int(match[2]), int(match[3] or 0)


@dataclass(frozen=True)
class Instance:
    """What a client needs to know about one instance."""

    api_base: str
    domain: str
    version: str
    api_version: int
    #: /.well-known/oauth-authorization-server (4.3+), None before.
    metadata: Mapping[str, Any] | None = field(default=None, repr=False)
    max_avatar_description_length: int = 0

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    @property
    def supports_pkce(self) -> bool:
        return self.metadata is not None and "S256" in (
            self.metadata.get("code_challenge_methods_supported") or [])

    @property
    def least_scopes(self) -> tuple[str, ...]:
        supported = (self.metadata or {}).get("scopes_supported") or []
        return spec.SCOPES_4_3 if "profile" in supported else spec.SCOPES_LEGACY

    @property
    def alt_text_supported(self) -> bool:
        """``avatar_description`` exists from API version 9 (Mastodon 4.6.0)."""
        return self.api_version >= 9

    @property
    def alt_text_max(self) -> int:
        if not self.alt_text_supported:
            return 0
        # 4.6 reports it; 1500 is MediaAttachment's limit, which the avatar's shares.
        return self.max_avatar_description_length or 1500

    def endpoint(self, name: str, default_path: str) -> str:
        value = (self.metadata or {}).get(name)
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value
        return self.api_base + default_path

    def render_spec(self) -> Any:
        return spec.render_spec(self.version_tuple, self.alt_text_max)


@dataclass(frozen=True)
class AppRegistration:
    api_base: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class MastodonAccount:
    id: str
    username: str
    acct: str
    display_name: str
    avatar: str
    avatar_static: str
    avatar_description: str = ""


def account_from_json(data: Any) -> MastodonAccount:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise UnexpectedResponse("Mastodon answered with something that is not an account.")
    return MastodonAccount(
        id=data["id"], username=str(data.get("username", "")),
        acct=str(data.get("acct", data.get("username", ""))),
        display_name=str(data.get("display_name") or ""),
        avatar=str(data.get("avatar") or ""),
        avatar_static=str(data.get("avatar_static") or data.get("avatar") or ""),
        avatar_description=str(data.get("avatar_description") or ""))


class MastodonClient:
    """One instance and, once signed in, one access token."""

    def __init__(self, api_base: str, token: str | None = None, *,
                 session: requests.Session | None = None, timeouts: Timeouts = Timeouts(),
                 retry: RetryPolicy = RetryPolicy()) -> None:
        self.api_base = normalize_api_base(api_base)
        self.token = token
        # Deadlines, size caps, safe redirects, plain http only to loopback: core.http.
        self.session = session or http.BoundedSession()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.timeouts = timeouts
        self.retry = retry
        self._instance: Instance | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return urllib.parse.urlsplit(self.api_base).netloc

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MastodonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        if self.token and len(self.token) >= 4:
            text = text.replace(self.token, "***")
        return text

    # -- HTTP ----------------------------------------------------------------------------

    def request(self, method: str, url: str, *, context: Context = Context.API,
                auth: bool = True, cancel: threading.Event | None = None,
                read_timeout: float | None = None, **kwargs: Any) -> requests.Response:
        """One exchange; GETs are retried on network errors and 5xx."""
        if not url.startswith(("http://", "https://")):
            url = self.api_base + url
        headers = dict(kwargs.pop("headers", None) or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        attempts = self.retry.attempts if method == "GET" else 1
        last: MastodonError | None = None
        for attempt in range(attempts):
            if attempt and (cancel or threading.Event()).wait(self.retry.delay(attempt - 1)):
                raise Cancelled()
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                with http.cancel_on(cancel):
                    response = self.session.request(
                        method, url, headers=headers, allow_redirects=method == "GET",
                        timeout=(self.timeouts.connect_s,
                                 read_timeout or self.timeouts.read_s),
                        **kwargs)
            except http.RequestCancelled:
                log.info("%s %s: stopped waiting for the answer", method,
                         urllib.parse.urlsplit(url).path)
                raise Cancelled(stopped_waiting(self.host, uploaded=isinstance(
                    kwargs.get("data"), http.ProgressBody))) from None
            except http.BodyCancelled:
                log.info("%s %s cancelled by the user", method, urllib.parse.urlsplit(url).path)
                raise (UploadCancelled() if isinstance(kwargs.get("data"), http.ProgressBody)
                       else Cancelled()) from None
            except requests.RequestException as exc:
                last = self._network_error(exc)
                log.info("%s %s failed: %s", method, urllib.parse.urlsplit(url).path,
                         type(exc).__name__)
                if isinstance(exc, http.DeadlineExceeded | http.ResponseTooLarge
                              | http.UnsafeRedirect | http.PlainHttpNotLoopback):
                    break  # asking again cannot help (or there is no time left)
                continue
            if response.status_code >= 500 and attempt + 1 < attempts:
                last = ServerError(f"{self.host} had a server error "
                                   f"(HTTP {response.status_code}).",
                                   status=response.status_code)
                response.close()
                continue
            return response
        assert last is not None
        raise last

    def _network_error(self, exc: requests.RequestException) -> NetworkError:
        if isinstance(exc, http.OWN_ERRORS):
            return NetworkError(f"Could not use {self.host}: {exc}.",
                                hint="Check the instance address.")
        what = http.failure_reason(exc)
        return NetworkError(f"Could not reach {self.host}: {what}.",
                            hint="Check the network connection and the instance address.")

    def fail(self, response: requests.Response, context: Context = Context.API
             ) -> MastodonError:
        return error_from_response(response.status_code, response.headers,
                                   response.content[:64 * 1024], host=self.host,
                                   context=context, redact=self.redact)

    def json(self, response: requests.Response, context: Context = Context.API) -> Any:
        if response.status_code != 200:
            raise self.fail(response, context)
        try:
            return http.parse_json(response.content)
        except ValueError:
            raise UnexpectedResponse(
                f"{self.host} answered {urllib.parse.urlsplit(response.url).path} with "
                "something that is not JSON.",
                hint="Check the instance address; a proxy or captive portal may be in the "
                     "way.", status=response.status_code) from None

    # -- discovery -----------------------------------------------------------------------

    def instance(self, *, cancel: threading.Event | None = None) -> Instance:
        """/api/v2/instance (4.0+, else v1) and the OAuth metadata (4.3+), asked once."""
        with self._lock:
            if self._instance is not None:
                return self._instance
        response = self.request("GET", "/api/v2/instance", auth=False, cancel=cancel)
        if response.status_code == 404:
            response = self.request("GET", "/api/v1/instance", auth=False, cancel=cancel)
        if response.status_code in (404, 410):
            raise InstanceNotFound(f"No Mastodon server answers at {self.host}.",
                                   hint="Check the instance address (for example "
                                        "mastodon.social).", status=response.status_code)
        try:
            data = self.json(response)
        except UnexpectedResponse:
            raise InstanceNotFound(f"{self.host} does not look like a Mastodon server.",
                                   hint="Check the instance address.") from None
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise InstanceNotFound(f"{self.host} does not look like a Mastodon server.",
                                   hint="Check the instance address.")
        api_versions = data.get("api_versions") or {}
        accounts = (data.get("configuration") or {}).get("accounts") or {}
        meta_response = self.request("GET", "/.well-known/oauth-authorization-server",
                                     auth=False, cancel=cancel)
        metadata = None
        if meta_response.status_code == 200:
            try:
                candidate = http.parse_json(meta_response.content)
            except ValueError:
                candidate = None  # some servers answer with their web app's HTML
            metadata = candidate if isinstance(candidate, dict) else None
        instance = Instance(
            api_base=self.api_base, domain=str(data.get("domain") or data.get("uri")
                                               or self.host),
            version=data["version"],
            api_version=int(api_versions.get("mastodon") or 0)
            if isinstance(api_versions, dict) else 0,
            metadata=metadata,
            max_avatar_description_length=int(
                accounts.get("max_avatar_description_length") or 0))
        log.info("%s runs Mastodon %s (API %d)", self.host, instance.version,
                 instance.api_version)
        with self._lock:
            self._instance = instance
        return instance

    # -- OAuth ---------------------------------------------------------------------------

    def register_app(self, *, redirect_uris: tuple[str, ...], scopes: tuple[str, ...],
                     cancel: threading.Event | None = None) -> AppRegistration:
        instance = self.instance(cancel=cancel)
        url = instance.endpoint("app_registration_endpoint", "/api/v1/apps")
        response = self.request("POST", url, auth=False, context=Context.REGISTER,
                                cancel=cancel,
                                # No "website": the project publishes none to name.
                                data={"client_name": spec.CLIENT_NAME,
                                      "redirect_uris": "\n".join(redirect_uris),
                                      "scopes": " ".join(scopes)})
        data = self.json(response, Context.REGISTER)
        if not isinstance(data, dict) or not data.get("client_id") or \
                not data.get("client_secret"):
            raise UnexpectedResponse(f"{self.host} registered the app but sent no client "
                                     "credentials.")
        log.info("Registered Avatar Studio with %s", self.host)
        return AppRegistration(self.api_base, str(data["client_id"]),
                               str(data["client_secret"]), redirect_uris, scopes)

    def exchange_code(self, app: AppRegistration, code: str, redirect_uri: str, *,
                      code_verifier: str | None, scopes: tuple[str, ...],
                      cancel: threading.Event | None = None) -> tuple[str, tuple[str, ...]]:
        """The authorization code for a token: (access_token, granted scopes)."""
        oauth = WebApplicationClient(app.client_id)
        body = oauth.prepare_request_body(code=code.strip(), redirect_uri=redirect_uri,
                                          client_secret=app.client_secret,
                                          code_verifier=code_verifier,
                                          include_client_id=True)
        url = self.instance(cancel=cancel).endpoint("token_endpoint", "/oauth/token")
        response = self.request("POST", url, auth=False, context=Context.OAUTH, data=body,
                                cancel=cancel,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        if response.status_code != 200:
            raise self.fail(response, Context.OAUTH)
        try:
            token = oauth.parse_request_body_response(response.text, scope=list(scopes))
        except (OAuth2Error, ValueError, Warning) as exc:
            raise UnexpectedResponse(f"{self.host} sent a token answer Avatar Studio cannot "
                                     f"use ({type(exc).__name__}).") from None
        granted = tuple(token.get("scope") or ()) if not isinstance(
            token.get("scope"), str) else tuple(token["scope"].split())
        return str(token["access_token"]), granted

    def revoke(self, app: AppRegistration, token: str) -> None:
        url = self.instance().endpoint("revocation_endpoint", "/oauth/revoke")
        response = self.request("POST", url, auth=False, context=Context.OAUTH,
                                data={"client_id": app.client_id,
                                      "client_secret": app.client_secret, "token": token})
        if response.status_code != 200:
            raise self.fail(response, Context.OAUTH)
        log.info("Revoked the token on %s", self.host)

    # -- the account -------------------------------------------------------------------

    def verify_credentials(self, *, cancel: threading.Event | None = None
                           ) -> MastodonAccount:
        response = self.request("GET", "/api/v1/accounts/verify_credentials", cancel=cancel)
        return account_from_json(self.json(response))

    def update_avatar(self, data: bytes, *, mime_type: str, filename: str,
                      description: str | None = None,
                      progress: ProgressCallback | None = None,
                      cancel: threading.Event | None = None) -> MastodonAccount:
        """PATCH update_credentials, multipart part ``avatar`` (file name + type).

        Never retried (a second PATCH would change the picture twice). ``cancel`` works
        until the last byte left; the instance then sees a truncated request.
        """
        fields: dict[str, Any] = {"avatar": (filename, data, mime_type)}
        if description is not None:
            fields["avatar_description"] = description
        body, content_type = encode_multipart_formdata(fields)
        stream = http.ProgressBody(body, progress, cancel, block=64 * 1024)
        response = self.request("PATCH", "/api/v1/accounts/update_credentials",
                                context=Context.UPLOAD, data=stream, cancel=cancel,
                                headers={"Content-Type": content_type,
                                         "Content-Length": str(len(body))},
                                read_timeout=self.timeouts.upload_read_s)
        if response.status_code != 200:
            raise self.fail(response, Context.UPLOAD)
        if progress is not None and stream.reported < len(body):
            progress(len(body), len(body))
        account = account_from_json(self.json(response, Context.UPLOAD))
        log.info("Avatar uploaded to %s (%d bytes, %s)", self.host, len(data), mime_type)
        return account

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname
                                            and is_loopback_host(parts.hostname)):
            raise UnexpectedResponse("Mastodon gave an avatar address that is not https.")
        response = self.request("GET", url, auth=False, context=Context.IMAGE,
                                cancel=cancel, stream=True)
        with response:
            if response.status_code != 200:
                raise self.fail(response, Context.IMAGE)
            chunks: list[bytes] = []
            size = 0
            started = time.monotonic()
            for chunk in response.iter_content(64 * 1024):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                size += len(chunk)
                if size > MAX_IMAGE_DOWNLOAD:
                    raise UnexpectedResponse("The published avatar is unreasonably large.")
                chunks.append(chunk)
            log.debug("Downloaded %d bytes in %.0f ms", size,
                      (time.monotonic() - started) * 1000)
        data = b"".join(chunks)
        if not data:
            raise UnexpectedResponse(f"{self.host} served an empty avatar.")
        return data
