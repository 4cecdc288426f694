"""The Mastodon sandbox's WSGI application: Mastodon's paths, shapes and status codes.

Routing, forms, JSON and multipart come from werkzeug; OAuth from oauthlib (oauth.py).
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from avatar_studio.core.sandbox import guard
from avatar_studio.core.sandbox.app import DropConnection, Request
from avatar_studio.core.sandbox.basicfaults import basic_action
from avatar_studio.core.sandbox.control import is_loopback
from avatar_studio.core.sandbox.mastodon import avatars, entities, pages
from avatar_studio.core.sandbox.mastodon import scopes as scope_rules
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.faults import Faults
from avatar_studio.core.sandbox.mastodon.oauth import (
    DOORKEEPER_TEXTS,
    OOB,
    Endpoints,
    doorkeeper_error,
)
from avatar_studio.core.sandbox.mastodon.ratelimit import RateLimiter, RateState
from avatar_studio.core.sandbox.mastodon.state import (
    DEMO_ACCOUNT_ID,
    Account,
    MastodonState,
    Token,
)
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from PIL import Image
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
INVALID_TOKEN = "The access token is invalid"  # noqa: S105 (a message)
OUT_OF_SCOPE = "This action is outside the authorized scopes"
NEEDS_USER = "This method requires an authenticated user"
READ_PROFILE = ("profile", "read", "read:accounts")
WRITE_PROFILE = ("write", "write:accounts")


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> Response:
    response = Response(json.dumps(obj, separators=(",", ":")), status=status,
                        headers=headers, content_type=JSON_TYPE)
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    return response


def error(status: int, message: str, headers: dict[str, str] | None = None,
          **extra: Any) -> Response:
    return json_response({"error": message, **extra}, status, headers)


@dataclass(frozen=True)
class Caller:
    token: Token
    account: Account | None


class MastodonApp:
    def __init__(self, config: MastodonSandboxConfig, state: MastodonState, faults: Faults,
                 limiter: RateLimiter, endpoints: Endpoints) -> None:
        self.config = config
        self.state = state
        self.faults = faults
        self.limiter = limiter
        self.endpoints = endpoints
        self._missing = _missing_png()
        rules = [
            ("/api/v1/instance", "instance_v1", ["GET"]),
            ("/api/v1/instance/", "instance_v1", ["GET"]),
            ("/api/v2/instance", "instance_v2", ["GET"]),
            ("/api/v2/instance/", "instance_v2", ["GET"]),
            ("/.well-known/oauth-authorization-server", "oauth_metadata", ["GET"]),
            ("/.well-known/webfinger", "webfinger", ["GET"]),
            ("/api/v1/apps", "create_app", ["POST"]),
            ("/api/v1/apps/verify_credentials", "app_verify", ["GET"]),
            ("/oauth/authorize", "authorize", ["GET", "POST"]),
            ("/oauth/authorize/native", "authorize_native", ["GET"]),
            ("/oauth/token", "token", ["POST"]),
            ("/oauth/revoke", "revoke", ["POST"]),
            ("/oauth/userinfo", "userinfo", ["GET", "POST"]),
            ("/api/v1/accounts/verify_credentials", "verify_credentials", ["GET"]),
            ("/api/v1/accounts/update_credentials", "update_credentials", ["PATCH"]),
            ("/api/v1/accounts/<account_id>", "account", ["GET"]),
            ("/api/v1/profile", "profile", ["GET", "PATCH", "PUT"]),
            ("/api/v1/profile/avatar", "delete_avatar", ["DELETE"]),
            ("/system/accounts/avatars/<path:rest>", "avatar_file", ["GET"]),
            (entities.MISSING_AVATAR, "missing", ["GET"]),
            (entities.MISSING_HEADER, "missing", ["GET"]),
            ("/_sandbox/status", "ctl_status", ["GET"]),
            ("/_sandbox/<action>", "ctl_action", ["POST"]),
        ]
        self.url_map = Map([Rule(p, endpoint=e, methods=m, strict_slashes=False)
                            for p, e, m in rules])
        self._handlers: dict[str, Callable[..., Response]] = {
            name: getattr(self, name) for _, name, _ in rules}

    # --- WSGI ---------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = self.config.max_request_bytes
        try:
            response = self.dispatch(request)
        finally:
            request.close()
        response.headers["Date"] = http_date(time.time())
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/") and not is_loopback(request.remote_addr):
            return self._not_found(path)
        rate: RateState | None = None
        if path.startswith(("/api/", "/oauth/")):
            early = self._apply_faults(request)
            if early is not None:
                return early
        if (request.content_length or 0) > self.config.max_request_bytes:
            return Response(
                "<html><head><title>413 Request Entity Too Large</title></head><body>"
                "<center><h1>413 Request Entity Too Large</h1></center></body></html>",
                status=413, content_type="text/html")
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            return self._not_found(path)
        try:
            if path.startswith("/api/"):
                rate = self._rate(request)
                if rate is not None and not rate.allowed:
                    return error(429, "Too many requests", rate.headers())
            response = self._handlers[str(endpoint)](request, **values)
        except DropConnection:
            raise
        except HTTPException as exc:
            response = error(exc.code or 400, exc.description or "Bad request")
        except Exception:
            log.exception("mastodon sandbox: unexpected error on %s", path)
            response = pages.server_error_page(500)
        if rate is not None:
            for key, value in rate.headers().items():
                response.headers.setdefault(key, value)
        return response

    def _not_found(self, path: str) -> Response:
        if path.startswith("/api/"):
            return error(404, "Record not found")
        return pages.error_page("The page you are looking for isn't here.", "", 404)

    def _apply_faults(self, request: Request) -> Response | None:
        self.faults.delay_or_drop(request.environ)
        status = self.faults.take_failure()
        if status is not None:
            return pages.server_error_page(status)
        reset_in = self.faults.take_rate_limit()
        if reset_in is not None:
            return error(429, "Too many requests", self.limiter.forced(reset_in).headers())
        return None

    def _rate(self, request: Request) -> RateState | None:
        value = self._bearer(request)
        # Mastodon throttles per token when there is one, else per address.
        key = f"token:{value}" if value else f"ip:{request.remote_addr}"
        return self.limiter.hit(key)

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def base(request: Request) -> str:
        return request.host_url.rstrip("/")

    @staticmethod
    def domain(request: Request) -> str:
        return request.host

    @staticmethod
    def _bearer(request: Request) -> str:
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return (request.args.get("access_token") or request.args.get("bearer_token")
                or "").strip()

    def params(self, request: Request) -> MultiDict[str, str]:
        """Form, query and JSON parameters, as Rails merges them."""
        merged: MultiDict[str, str] = MultiDict(request.args)
        if request.mimetype == "application/json":
            try:
                data = json.loads(request.get_data(cache=True) or b"{}")
            except ValueError:
                data = {}
            if isinstance(data, dict):
                for key, value in data.items():
                    if isinstance(value, list):
                        merged.setlist(key, [str(v) for v in value])
                    elif value is not None:
                        merged[key] = value if isinstance(value, str) else json.dumps(value)
        else:
            for key in request.form:
                merged.setlist(key, request.form.getlist(key))
        return merged

    def authorize_api(self, request: Request, any_of: tuple[str, ...], *,
                      user: bool = True) -> Caller | Response:
        token = self.state.live_token(self._bearer(request))
        if token is None:
            return error(401, INVALID_TOKEN, {
                "WWW-Authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
                                    'error_description="The access token is invalid"'})
        if not scope_rules.allows(token.scopes, any_of):
            return error(403, OUT_OF_SCOPE)
        with self.state.lock:
            account = self.state.accounts.get(token.account_id or "")
        if user and account is None:
            return error(422, NEEDS_USER)
        return Caller(token, account)

    def demo_account(self) -> Account:
        with self.state.lock:
            return self.state.accounts[DEMO_ACCOUNT_ID]

    def _account_json(self, request: Request, account: Account, *, credential: bool
                      ) -> dict[str, Any]:
        with self.state.lock:
            return entities.account_json(self.base(request), self.domain(request), account,
                                         self.config, credential=credential)

    # --- instance and discovery ---------------------------------------------------------

    def instance_v1(self, request: Request) -> Response:
        demo = self._account_json(request, self.demo_account(), credential=False)
        return json_response(entities.instance_v1(self.base(request), self.domain(request),
                                                  self.config, demo))

    def instance_v2(self, request: Request) -> Response:
        if self.config.version_tuple < (4, 0, 0):
            return self._not_found(request.path)
        demo = self._account_json(request, self.demo_account(), credential=False)
        return json_response(entities.instance_v2(self.base(request), self.domain(request),
                                                  self.config, demo))

    def oauth_metadata(self, request: Request) -> Response:
        if not self.config.has_oauth_metadata:
            return pages.error_page("The page you are looking for isn't here.", "", 404)
        return json_response(entities.oauth_metadata(self.base(request), self.config))

    def webfinger(self, request: Request) -> Response:
        resource = request.args.get("resource", "")
        name = resource.removeprefix("acct:").lstrip("@")
        user, _, host = name.partition("@")
        with self.state.lock:
            account = next((a for a in self.state.accounts.values() if a.username == user),
                           None)
        if account is None or (host and host != self.domain(request)):
            return Response(status=404)
        base = self.base(request)
        body = {"subject": f"acct:{account.username}@{self.domain(request)}",
                "aliases": [f"{base}/@{account.username}", f"{base}/users/{account.username}"],
                "links": [{"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                           "href": f"{base}/@{account.username}"},
                          {"rel": "self", "type": "application/activity+json",
                           "href": f"{base}/users/{account.username}"}]}
        return Response(json.dumps(body), content_type="application/jrd+json; charset=utf-8")

    # --- apps ---------------------------------------------------------------------------

    def create_app(self, request: Request) -> Response:
        params = self.params(request)
        name = (params.get("client_name") or "").strip()
        uris: list[str] = []
        for value in params.getlist("redirect_uris") or params.getlist("redirect_uris[]"):
            uris.extend(u.strip() for u in value.splitlines() if u.strip())
        requested = scope_rules.split(params.get("scopes")) or list(scope_rules.DEFAULT_SCOPES)
        if not name:
            return error(422, "Validation failed: Application name can't be blank")
        if not uris:
            return error(422, "Validation failed: Redirect URI can't be blank")
        for uri in uris:
            parts = urlsplit(uri)
            if uri != OOB and not (parts.scheme and (parts.netloc or parts.scheme != "http")):
                return error(422, "Validation failed: Redirect URI must be an absolute URI.")
            if parts.fragment:
                return error(422, "Validation failed: Redirect URI cannot contain a fragment.")
        known = self.endpoints.validator.known_scopes()
        if any(s not in known for s in requested):
            return error(422, "Validation failed: Scopes must be a subset of the scopes "
                              "the server supports")
        app = self.state.add_app(name, uris, requested, params.get("website") or None)
        return json_response(entities.application_json(app, credential=True,
                                                       config=self.config))

    def app_verify(self, request: Request) -> Response:
        token = self.state.live_token(self._bearer(request))
        if token is None:
            return error(401, INVALID_TOKEN)
        with self.state.lock:
            app = self.state.apps[token.client_id]
        return json_response(entities.application_json(app, credential=False,
                                                       config=self.config))

    # --- OAuth --------------------------------------------------------------------------

    def _oauth_query(self, values: MultiDict[str, str]) -> list[tuple[str, str]]:
        drop = {"decision"}
        if not self.config.has_oauth_metadata:
            drop |= {"code_challenge", "code_challenge_method"}  # unknown before 4.3
        return [(k, v) for k, v in values.items(multi=True) if k not in drop]

    def authorize(self, request: Request) -> Response:
        values = request.form if request.method == "POST" else request.args
        query = self._oauth_query(values)
        uri = f"{self.base(request)}/oauth/authorize?{urlencode(query)}"
        try:
            scopes, _ = self.endpoints.authorization.validate_authorization_request(uri)
        except oauth_errors.FatalClientError as exc:
            redirect_errors = (oauth_errors.InvalidRedirectURIError,
                               oauth_errors.MismatchingRedirectURIError,
                               oauth_errors.MissingRedirectURIError)
            code = "invalid_redirect_uri" if isinstance(exc, redirect_errors) else exc.error
            if code not in DOORKEEPER_TEXTS:
                code = "invalid_request"
            return pages.error_page(code, DOORKEEPER_TEXTS[code], 400)
        except oauth_errors.OAuth2Error as exc:
            return self._redirect_error(values, exc.error)
        if request.method == "GET":
            with self.state.lock:
                app = self.state.apps[values.get("client_id", "")]
            account = self.demo_account()
            return pages.authorize_page(
                app_name=app.name, website=app.website, username=account.username,
                domain=self.domain(request), scopes=scopes, fields=dict(query))
        if values.get("decision") != "approve":
            return self._redirect_error(values, "access_denied")
        headers, _, status = self.endpoints.authorization.create_authorization_response(
            uri, http_method="GET", scopes=scopes,
            credentials={"user": DEMO_ACCOUNT_ID})
        location = headers.get("Location", "")
        if location.startswith(OOB):
            code = dict(parse_qsl(urlsplit(location).query)).get("code", "")
            return Response(status=302, headers={
                "Location": f"{self.base(request)}/oauth/authorize/native?"
                            f"{urlencode({'code': code})}"})
        return Response(status=302 if status in (200, 302) else status,
                        headers={"Location": location})

    def _redirect_error(self, values: MultiDict[str, str], code: str) -> Response:
        redirect = values.get("redirect_uri", "")
        text = DOORKEEPER_TEXTS.get(code, DOORKEEPER_TEXTS["invalid_request"])
        if not redirect or redirect == OOB:
            return pages.error_page(code, text, 400)
        params = {"error": code, "error_description": text}
        if "state" in values:
            params["state"] = values["state"]
        sep = "&" if "?" in redirect else "?"
        return Response(status=302, headers={"Location": redirect + sep + urlencode(params)})

    def authorize_native(self, request: Request) -> Response:
        code = request.args.get("code", "")
        if not code:
            return pages.error_page("invalid_request", DOORKEEPER_TEXTS["invalid_request"])
        return pages.code_page(code)

    def _form_body(self, request: Request) -> tuple[str, dict[str, str]]:
        params = self.params(request)
        headers = {k: v for k, v in request.headers.items()}
        return urlencode(list(params.items(multi=True))), headers

    def token(self, request: Request) -> Response:
        body, headers = self._form_body(request)
        status, data = self.endpoints.token_response(
            f"{self.base(request)}/oauth/token", body, headers)
        response = json_response(data, status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def revoke(self, request: Request) -> Response:
        body, headers = self._form_body(request)
        values = dict(parse_qsl(body))
        client = self.endpoints.validator
        from oauthlib.common import Request as OAuthRequest

        probe = OAuthRequest(f"{self.base(request)}/oauth/revoke", "POST", body, headers)
        if not client.authenticate_client(probe):
            return json_response(doorkeeper_error({"error": "invalid_client"}), 401)
        with self.state.lock:
            found = self.state.tokens.get(values.get("token", ""))
            if found is not None and found.client_id != probe.client_id:
                return json_response({"error": "unauthorized_client",
                                      "error_description": "You are not authorized to "
                                                           "revoke this token"}, 403)
        _, text, status = self.endpoints.revocation.create_revocation_response(
            f"{self.base(request)}/oauth/revoke", http_method="POST", body=body,
            headers=headers)
        if status != 200:
            return json_response(doorkeeper_error(json.loads(text or "{}")), status)
        return json_response({})

    def userinfo(self, request: Request) -> Response:
        if self.config.version_tuple < (4, 4, 0):
            return self._not_found(request.path)
        caller = self.authorize_api(request, ("profile",))
        if isinstance(caller, Response):
            return caller
        assert caller.account is not None
        base = self.base(request)
        avatar, _ = entities.avatar_urls(base, caller.account)
        return json_response({"iss": base + "/", "sub": f"{base}/users/"
                              f"{caller.account.username}",
                              "name": caller.account.display_name,
                              "preferred_username": caller.account.username,
                              "profile": f"{base}/@{caller.account.username}",
                              "picture": avatar})

    # --- accounts and the avatar --------------------------------------------------------

    def verify_credentials(self, request: Request) -> Response:
        caller = self.authorize_api(request, READ_PROFILE)
        if isinstance(caller, Response):
            return caller
        assert caller.account is not None
        return json_response(self._account_json(request, caller.account, credential=True))

    def account(self, request: Request, account_id: str) -> Response:
        with self.state.lock:
            account = self.state.accounts.get(account_id)
        if account is None:
            return error(404, "Record not found")
        return json_response(self._account_json(request, account, credential=False))

    def update_credentials(self, request: Request) -> Response:
        caller = self.authorize_api(request, WRITE_PROFILE)
        if isinstance(caller, Response):
            return caller
        assert caller.account is not None
        problem = self._update(request, caller.account)
        if problem is not None:
            return problem
        return json_response(self._account_json(request, caller.account, credential=True))

    def profile(self, request: Request) -> Response:
        if not self.config.has_profile_api:
            return self._not_found(request.path)
        needed = READ_PROFILE if request.method == "GET" else WRITE_PROFILE
        caller = self.authorize_api(request, needed)
        if isinstance(caller, Response):
            return caller
        assert caller.account is not None
        if request.method != "GET":
            problem = self._update(request, caller.account)
            if problem is not None:
                return problem
        with self.state.lock:
            return json_response(entities.profile_json(self.base(request), caller.account))

    def delete_avatar(self, request: Request) -> Response:
        caller = self.authorize_api(request, WRITE_PROFILE)
        if isinstance(caller, Response):
            return caller
        assert caller.account is not None
        with self.state.lock:
            caller.account.avatar = None
            caller.account.avatar_description = ""
        return json_response(self._account_json(request, caller.account, credential=True))

    def _update(self, request: Request, account: Account) -> Response | None:
        """Apply a multipart (or form/JSON) profile update; a 422 Response on failure."""
        params = self.params(request)
        upload = request.files.get("avatar")
        description = params.get("avatar_description") if self.config.has_avatar_description \
            else None
        failures: list[tuple[str, str, str]] = []
        if description is not None and len(description) > \
                self.config.max_avatar_description_length:
            failures.append(("avatar_description", "ERR_TOO_LONG",
                             "is too long (maximum is "
                             f"{self.config.max_avatar_description_length} characters)"))
        stored = None
        if upload is not None:
            data = upload.read()
            try:
                stored = avatars.process(data, upload.content_type or None,
                                         self.config.avatar_limit)
            except avatars.Invalid as exc:
                failures[:0] = list(exc.errors)
        elif params.get("avatar"):
            # A string, e.g. a data: URI: Paperclip has no handler for it.
            return pages.server_error_page(500)
        if failures:
            invalid = avatars.Invalid(tuple(failures))
            return error(422, invalid.message, details=invalid.details())
        with self.state.lock:
            if stored is not None:
                account.avatar = stored
                account.history.append(stored)
            if description is not None:
                account.avatar_description = description
            if "display_name" in params:
                account.display_name = params["display_name"][:30]
            if "note" in params:
                account.note = params["note"][:500]
        return None

    def avatar_file(self, request: Request, rest: str) -> Response:
        parts = rest.split("/")
        if len(parts) < 3:
            return Response(status=404)
        style, filename = parts[-2], parts[-1]
        key, _, ext = filename.partition(".")
        found = self.state.find_avatar(key)
        if found is None:
            return Response(status=404)
        avatar = found[0]
        if style == "static" and avatar.static_data is not None and ext == avatar.static_ext:
            return Response(avatar.static_data, content_type="image/png",
                            headers={"Cache-Control": "public, max-age=315576000, immutable"})
        if style == "original" and ext == avatar.ext:
            return Response(avatar.data, content_type=avatar.mime,
                            headers={"Cache-Control": "public, max-age=315576000, immutable"})
        return Response(status=404)

    def missing(self, request: Request) -> Response:
        return Response(self._missing, content_type="image/png")

    # --- control ------------------------------------------------------------------------

    def ctl_status(self, request: Request) -> Response:
        with self.state.lock:
            accounts = {a.id: {"username": a.username,
                               "avatar": a.avatar.key if a.avatar else None,
                               "uploads": len(a.history),
                               "avatar_description": a.avatar_description,
                               "live_tokens": sum(1 for t in self.state.tokens.values()
                                                  if t.account_id == a.id and not t.revoked)}
                        for a in self.state.accounts.values()}
        return json_response({"faults": self.faults.snapshot().as_dict(),
                              "version": self.config.version, "accounts": accounts})

    def ctl_action(self, request: Request, action: str) -> Response:
        values = request.values
        ok = True
        try:
            if basic_action(self.faults, action, values):
                pass  # latency, fail_next, drop_next
            elif action == "rate_limit_next":
                self.faults.rate_limit_next(
                    guard.parse_count(values.get("n", "1")),
                    guard.parse_seconds(values.get("reset_in", "2"), maximum=86_400,
                                        what="reset_in"))
            elif action == "revoke_token":
                ok = self.faults.revoke_token(values.get("access_token", ""))
            elif action == "scopes":
                ok = self.faults.set_scopes(values.get("access_token", ""),
                                            scope_rules.split(values.get("scopes")))
            elif action == "reset":
                self.faults.reset()
                self.limiter.reset()
            else:
                return error(404, "Record not found")
        except ValueError as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        if not ok:
            return json_response({"ok": False, "error": "unknown token"}, 404)
        return json_response({"ok": True, "faults": self.faults.snapshot().as_dict()})


def _missing_png() -> bytes:
    im = Image.new("RGB", (400, 400), (102, 112, 133))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
