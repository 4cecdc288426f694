"""The sandbox's WSGI application: X's v1.1 paths, shapes and status codes.

Routing, request parsing and multipart come from werkzeug; OAuth verification from
oauthlib (see oauth.py). Every response carries a ``Date`` header, as X's did (clients
correct their clock from it after a code 135).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from avatar_studio.core.sandbox import guard, images, pages
from avatar_studio.core.sandbox.basicfaults import DropConnection
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.control import Control, is_loopback
from avatar_studio.core.sandbox.faults import Faults
from avatar_studio.core.sandbox.oauth import (
    Endpoints,
    OAuthParams,
    failure_reason,
    gather_into_header,
)
from avatar_studio.core.sandbox.processing import ImageProcessor
from avatar_studio.core.sandbox.ratelimit import RateLimiter, RateState
from avatar_studio.core.sandbox.responses import (
    empty,
    error_response,
    json_response,
    legacy_error,
    not_found,
    plain_text,
)
from avatar_studio.core.sandbox.state import AccessToken, App, SandboxState, User
from avatar_studio.core.sandbox.uploads import image_param, normalize_content_type
from avatar_studio.core.sandbox.users import DEFAULT_IMAGE_PATH, flag, user_json
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request as _WerkzeugRequest
from werkzeug.wrappers import Response

__all__ = ["Caller", "DropConnection", "SandboxApp", "is_loopback"]

log = logging.getLogger(__name__)


class Request(_WerkzeugRequest):
    """A request that closes every temporary file its form parser opened.

    werkzeug attaches spooled upload files to ``request.files`` only once a part is
    complete, so a body cut off mid-part (a client that cancels) would leave its file to
    the garbage collector; ``close()`` here closes those too.
    """

    def __init__(self, environ: dict[str, Any]) -> None:
        super().__init__(environ)
        self._spooled: list[Any] = []

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None,
                         content_length: int | None = None) -> Any:
        stream = super()._get_file_stream(total_content_length, content_type, filename,
                                          content_length)
        self._spooled.append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self._spooled:
            stream.close()
        self._spooled.clear()

UPDATE_PROFILE_IMAGE_PATH = "/1.1/account/update_profile_image.json"
BAD_VERIFIER_TEXT = "Error processing your OAuth request: Invalid oauth_verifier parameter"
_IMAGE_FILE = re.compile(
    r"^(?P<name>[A-Za-z0-9_-]+?)(?P<suffix>_normal|_bigger|_mini|_200x200|_400x400)?"
    r"\.(?P<ext>png|jpg|jpeg|gif)$")


@dataclass(frozen=True)
class Caller:
    """Who signed a protected request."""

    token: AccessToken
    app: App
    user: User

    @property
    def access_level(self) -> str:
        return "read" if self.token.access_level == "read" or self.app.read_only else "read-write"


class SandboxApp:
    """A WSGI callable; every collaborator is passed in."""

    def __init__(self, config: SandboxConfig, state: SandboxState, faults: Faults,
                 processor: ImageProcessor, limiter: RateLimiter, endpoints: Endpoints) -> None:
        self.config = config
        self.state = state
        self.faults = faults
        self.processor = processor
        self.limiter = limiter
        self.endpoints = endpoints
        self.control = Control(faults, limiter, processor)
        self._default_avatar = images.default_avatar()
        self.url_map = Map([
            Rule("/oauth/request_token", endpoint="request_token", methods=["POST"]),
            Rule("/oauth/authorize", endpoint="authorize", methods=["GET", "POST"]),
            Rule("/oauth/authenticate", endpoint="authorize", methods=["GET", "POST"]),
            Rule("/oauth/access_token", endpoint="access_token", methods=["POST"]),
            Rule("/1.1/account/verify_credentials.json", endpoint="verify_credentials",
                 methods=["GET"]),
            Rule("/1.1/users/show.json", endpoint="users_show", methods=["GET"]),
            Rule(UPDATE_PROFILE_IMAGE_PATH, endpoint="update_profile_image",
                 methods=["POST"]),
            Rule("/profile_images/<int:image_id>/<filename>", endpoint="profile_image",
                 methods=["GET"]),
            Rule(f"{DEFAULT_IMAGE_PATH}<filename>", endpoint="default_image", methods=["GET"]),
            Rule("/_sandbox/status", endpoint="ctl_status", methods=["GET"]),
            Rule("/_sandbox/<action>", endpoint="ctl_action", methods=["POST"]),
        ])
        self._handlers: dict[str, Callable[..., Response]] = {
            "request_token": self.request_token,
            "authorize": self.authorize,
            "access_token": self.access_token,
            "verify_credentials": self.verify_credentials,
            "users_show": self.users_show,
            "update_profile_image": self.update_profile_image,
            "profile_image": self.profile_image,
            "default_image": self.default_image,
            "ctl_status": self.control.status,
            "ctl_action": self.control.action,
        }

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        normalize_content_type(environ)
        request = Request(environ)
        request.max_content_length = self.config.max_request_bytes
        try:
            response = self.dispatch(request)
        finally:
            request.close()  # uploaded parts may sit in temporary files
        response.headers["Date"] = http_date(time.time())
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        is_api = path.startswith(("/oauth/", "/1.1/"))
        if is_api:
            early = self._apply_faults(request)
            if early is not None:
                return early
        if path.startswith("/_sandbox/") and not is_loopback(request.remote_addr):
            return not_found()
        if (request.content_length or 0) > self.config.max_request_bytes:
            # X's front end refuses oversize uploads with 413 and an empty body.
            return empty(413)
        if len(request.query_string) > self.config.max_query_bytes:
            return empty(414)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return not_found()
        try:
            return self._handlers[str(endpoint)](request, **values)
        except HTTPException as exc:  # e.g. 413 from werkzeug's own form parser limits
            status = exc.code or 400
            return empty(status)
        except DropConnection:
            raise
        except Exception:
            log.exception("sandbox: unexpected error on %s", path)
            return error_response(500, 131, "Internal error")

    def _apply_faults(self, request: Request) -> Response | None:
        self.faults.delay_or_drop(request.environ)
        status = self.faults.take_failure()
        if status == 503:
            return error_response(503, 130, "Over capacity")
        if status is not None:
            return error_response(500, 131, "Internal error")
        return None

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def base_url(request: Request) -> str:
        return request.host_url.rstrip("/")

    @staticmethod
    def _oauth_inputs(request: Request) -> tuple[str, str | None, dict[str, str]]:
        """The URI, form body and headers exactly as the client signed them."""
        raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
        raw_path = str(raw_path).split("?", 1)[0] if raw_path else quote(request.path)
        query = request.query_string.decode("latin-1")
        body: str | None = None
        if request.mimetype == "application/x-www-form-urlencoded":
            body = request.get_data(cache=True).decode("utf-8", errors="replace")
        headers = {k: v for k, v in request.headers.items()}
        query, body, headers = gather_into_header(query, body, headers)
        uri = f"{request.scheme}://{request.host}{raw_path}"
        if query:
            uri = f"{uri}?{query}"
        return uri, body, headers

    def _auth_precheck(self, request: Request) -> tuple[OAuthParams, Response | None]:
        uri, body, headers = self._oauth_inputs(request)
        params = OAuthParams.collect(urlsplit(uri).query, body, headers)
        if not params.present:
            return params, error_response(400, 215, "Bad Authentication data.")
        if params.timestamp_skewed(self.config.timestamp_skew_s):
            return params, error_response(401, 135, "Timestamp out of bounds")
        return params, None

    def authenticate(self, request: Request) -> Caller | Response:
        params, early = self._auth_precheck(request)
        if early is not None:
            return early
        uri, body, headers = self._oauth_inputs(request)
        valid, oreq = self.endpoints.resource.validate_protected_resource_request(
            uri, http_method=request.method, body=body, headers=headers)
        if not valid:
            reason = failure_reason(oreq)
            if reason == "malformed" and not params.complete:
                return error_response(400, 215, "Bad Authentication data.")
            if reason == "token":
                return error_response(401, 89, "Invalid or expired token.")
            return error_response(401, 32, "Could not authenticate you.")
        with self.state.lock:
            token = self.state.access_tokens[oreq.resource_owner_key]
            return Caller(token=token, app=self.state.apps[token.api_key],
                          user=self.state.users[token.user_id])

    def _rate(self, caller: Caller, endpoint: str) -> tuple[RateState | None, Response | None]:
        state = self.limiter.hit(caller.token.token, endpoint)
        if state is not None and not state.allowed:
            return state, error_response(429, 88, "Rate limit exceeded", state.headers())
        return state, None

    @staticmethod
    def _api_headers(caller: Caller, rate: RateState | None) -> dict[str, str]:
        headers = {"x-access-level": caller.access_level}
        if rate is not None:
            headers.update(rate.headers())
        return headers

    def _user_response(self, request: Request, caller: Caller, user: User,
                       rate: RateState | None, *, own: bool) -> Response:
        values = request.values
        with self.state.lock:
            obj = user_json(
                user, self.base_url(request),
                include_entities=flag(values.get("include_entities"), default=True),
                skip_status=flag(values.get("skip_status"), default=False),
                include_email=own and flag(values.get("include_email"), default=False),
                own_account=own)
        return json_response(obj, 200, self._api_headers(caller, rate))

    # --- OAuth token endpoints -------------------------------------------------------

    def _token_failure(self, status: int, params: OAuthParams) -> Response:
        reason = failure_reason(self.endpoints.validator.last_request())
        if (status == 400 or reason == "malformed") and not params.complete:
            return error_response(400, 215, "Bad Authentication data.")
        if reason in ("request_token", "verifier"):
            return plain_text(BAD_VERIFIER_TEXT, 401)
        return error_response(401, 32, "Could not authenticate you.")

    def request_token(self, request: Request) -> Response:
        params, early = self._auth_precheck(request)
        if early is not None:
            return early
        uri, body, headers = self._oauth_inputs(request)
        self.endpoints.validator.begin()
        _, text, status = self.endpoints.request_token.create_request_token_response(
            uri, http_method=request.method, body=body, headers=headers)
        if status != 200:
            return self._token_failure(status, params)
        return Response(text, status=200, content_type="text/html;charset=utf-8")

    def access_token(self, request: Request) -> Response:
        params, early = self._auth_precheck(request)
        if early is not None:
            return early
        if "oauth_verifier" not in params.params:
            return plain_text(BAD_VERIFIER_TEXT, 401)
        uri, body, headers = self._oauth_inputs(request)
        self.endpoints.validator.begin()
        _, text, status = self.endpoints.access_token.create_access_token_response(
            uri, http_method=request.method, body=body, headers=headers)
        if status != 200:
            return self._token_failure(status, params)
        issued = dict(parse_qsl(text or ""))
        with self.state.lock:
            token = self.state.access_tokens[issued["oauth_token"]]
            user = self.state.users[token.user_id]
        # X's body: token, secret, user_id, screen_name (no oauth_authorized_realms).
        answer = urlencode([("oauth_token", token.token), ("oauth_token_secret", token.secret),
                            ("user_id", user.id_str), ("screen_name", user.screen_name)])
        return Response(answer, status=200, content_type="text/html;charset=utf-8")

    def authorize(self, request: Request) -> Response:
        token = request.values.get("oauth_token", "")
        with self.state.lock:
            rt = self.state.request_tokens.get(token)
            app = self.state.apps.get(rt.api_key) if rt else None
            usable = rt is not None and app is not None and not rt.denied and rt.verifier is None
            user = self._browser_user(request)
        if not usable or rt is None or app is None:
            return pages.html(pages.invalid_token_page(), status=403)
        if request.method == "GET":
            return pages.html(pages.authorize_page(app_name=app.name, user=user,
                                                   oauth_token=token))
        if "cancel" in request.form or "allow" not in request.form:
            with self.state.lock:
                rt.denied = True
                self.state.save()
            if rt.callback != "oob":
                sep = "&" if "?" in rt.callback else "?"
                return Response(status=302, headers={
                    "Location": f"{rt.callback}{sep}{urlencode({'denied': token})}"})
            return pages.html(pages.denied_page(app_name=app.name))
        with self.state.lock:
            rt.user_id = user.user_id
        auth_uri = f"{self.base_url(request)}/oauth/authorize?{urlencode({'oauth_token': token})}"
        headers, text, status = self.endpoints.authorization.create_authorization_response(
            auth_uri, http_method="GET")
        if status == 302:
            return Response(status=302, headers={"Location": headers["Location"]})
        pin = dict(parse_qsl(text or ""))["oauth_verifier"]
        return pages.html(pages.pin_page(app_name=app.name, pin=pin))

    def _browser_user(self, request: Request) -> User:
        """The user "signed in" in the browser: ?screen_name= if known, else the demo user."""
        wanted = request.values.get("screen_name")
        if wanted:
            found = self.state.user_by_screen_name(wanted)
            if found is not None:
                return found
        user_id = guard.parse_id(request.values.get("user_id"))
        if user_id is not None and user_id in self.state.users:
            return self.state.users[user_id]
        demo = int(self.state.demo_keys.get("user_id", "0"))
        if demo in self.state.users:
            return self.state.users[demo]
        return next(iter(self.state.users.values()))

    # --- REST endpoints --------------------------------------------------------------

    def verify_credentials(self, request: Request) -> Response:
        caller = self.authenticate(request)
        if isinstance(caller, Response):
            return caller
        rate, limited = self._rate(caller, "verify_credentials")
        if limited is not None:
            return limited
        return self._user_response(request, caller, caller.user, rate, own=True)

    def users_show(self, request: Request) -> Response:
        caller = self.authenticate(request)
        if isinstance(caller, Response):
            return caller
        rate, limited = self._rate(caller, "users_show")
        if limited is not None:
            return limited
        values = request.values
        user_id = values.get("user_id")
        screen_name = values.get("screen_name")
        legacy = values.get("id")  # the pre-2021 form, still accepted by X
        if legacy and not user_id and not screen_name:
            if legacy.isascii() and legacy.isdigit():
                user_id = legacy
            else:
                screen_name = legacy
        headers = self._api_headers(caller, rate)
        if not user_id and not screen_name:
            return error_response(400, 38, "user_id or screen_name parameter is missing.",
                                  headers)
        with self.state.lock:
            user: User | None = None
            if user_id:
                # "²" is a digit to str.isdigit() and 5,000 digits overflow int(): such
                # an id names nobody (X: 404, code 50), never a 500.
                number = guard.parse_id(user_id)
                user = self.state.users.get(number) if number is not None else None
            elif screen_name:
                user = self.state.user_by_screen_name(screen_name)
        if user is None:
            return error_response(404, 50, "User not found.", headers)
        return self._user_response(request, caller, user, rate, own=False)

    def update_profile_image(self, request: Request) -> Response:
        caller = self.authenticate(request)
        if isinstance(caller, Response):
            return caller
        rate, limited = self._rate(caller, "update_profile_image")
        if limited is not None:
            return limited
        if caller.access_level == "read":
            return legacy_error(UPDATE_PROFILE_IMAGE_PATH, "Read-only application cannot POST.",
                                401)
        headers = self._api_headers(caller, rate)
        data = image_param(request)
        if data is None:
            return error_response(400, 38, "image parameter is missing.", headers)
        try:
            images.validate(data, max_bytes=self.config.max_image_bytes)
        except images.ImageRejected as exc:
            # The shape X used for media checks (recorded on media/upload).
            return legacy_error(UPDATE_PROFILE_IMAGE_PATH, exc.message, 400, headers)
        self.processor.submit(caller.user.user_id, data)
        # Processing is asynchronous: the answer still shows the old image.
        return self._user_response(request, caller, caller.user, rate, own=True)

    # --- images ----------------------------------------------------------------------

    def profile_image(self, request: Request, image_id: int, filename: str) -> Response:
        match = _IMAGE_FILE.match(filename)
        if match is None:
            return empty(404)
        now = time.time()
        with self.state.lock:
            record = None
            for user in self.state.users.values():
                self.processor.expire_old_images(user.user_id, now)
                for candidate in (user.image, *user.old_images):
                    if candidate is not None and candidate.image_id == image_id:
                        record = candidate
        if record is None or record.name != match["name"] or record.ext != match["ext"]:
            return empty(404)
        suffix = match["suffix"] or ""
        data = self.state.get_image_file(f"{image_id}/{record.name}{suffix}.{record.ext}")
        if data is None:
            return empty(404)
        return Response(data, status=200, content_type=images.MIME_BY_EXT[record.ext],
                        headers={"Cache-Control": "max-age=604800"})

    def default_image(self, request: Request, filename: str) -> Response:
        suffix, _, ext = filename.rpartition(".")
        if ext != "png" or suffix not in images.VARIANT_SUFFIXES:
            return empty(404)
        return Response(self._default_avatar.variants[suffix], status=200,
                        content_type="image/png")
