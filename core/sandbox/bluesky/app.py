"""The Bluesky sandbox's WSGI application: a PDS's XRPC methods, shapes and status codes.

Routing and request parsing come from werkzeug, tokens from PyJWT (tokens.py), CIDs from
multiformats (cids.py). Every ``/xrpc/*`` answer that is not 2xx is an XRPC error body
``{"error", "message"}``, unknown methods included.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from avatar_studio.core.sandbox import guard
from avatar_studio.core.sandbox.basicfaults import DropConnection, basic_action
from avatar_studio.core.sandbox.bluesky import lexicon
from avatar_studio.core.sandbox.bluesky.cids import blob_cid, is_cid, record_cid
from avatar_studio.core.sandbox.bluesky.config import BlueskySandboxConfig
from avatar_studio.core.sandbox.bluesky.faults import FAIL_STATUSES, BlueskyFaults
from avatar_studio.core.sandbox.bluesky.state import (
    PROFILE_RKEY,
    Account,
    Blob,
    BlueskyState,
    Email,
    RefreshToken,
    new_email_code,
)
from avatar_studio.core.sandbox.bluesky.tokens import (
    SCOPE_ACCESS,
    SCOPE_APP_PASS,
    Claims,
    TokenIssuer,
    TokenProblem,
    new_token_id,
)
from avatar_studio.core.sandbox.control import is_loopback
from avatar_studio.core.sandbox.ratelimit import RateLimiter, RateState
from avatar_studio.core.sandbox.users import flag
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

__all__ = ["BlueskyApp", "DropConnection", "XrpcError"]

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
PROFILE = lexicon.PROFILE_NSID
_DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]


class XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}


def json_response(obj: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(obj, separators=(",", ":")), status=status, headers=headers,
                    content_type=JSON_TYPE)


def xrpc_error(status: int, error: str, message: str,
               headers: dict[str, str] | None = None) -> Response:
    if status == 500:
        message = "Internal Server Error"  # xrpc-server never shows more
    response = json_response({"error": error, "message": message}, status, headers)
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{error}"'
    return response


@dataclass(frozen=True)
class Method:
    http: str  # GET (query) or POST (procedure)
    handler: Callable[[Request], Response]


def rate_headers(state: RateState, window_s: int) -> dict[str, str]:
    return {"RateLimit-Limit": str(state.limit), "RateLimit-Remaining": str(state.remaining),
            "RateLimit-Reset": str(state.reset),
            "RateLimit-Policy": f"{state.limit};w={window_s}"}


class BlueskyApp:
    """A WSGI callable; every collaborator is passed in."""

    def __init__(self, config: BlueskySandboxConfig, state: BlueskyState,
                 faults: BlueskyFaults, issuer: TokenIssuer) -> None:
        self.config = config
        self.state = state
        self.faults = faults
        self.issuer = issuer
        self.limiters = {name: (RateLimiter({name: limit}, window), window)
                         for name, (limit, window) in config.rate_limits.items()}
        #: (did, cid) -> (mime, bytes) the "CDN" still serves after a blob was replaced.
        self.cdn_cache: dict[tuple[str, str], tuple[str, bytes]] = {}
        self.methods: dict[str, Method] = {
            "com.atproto.server.createSession": Method("POST", self.create_session),
            "com.atproto.server.refreshSession": Method("POST", self.refresh_session),
            "com.atproto.server.deleteSession": Method("POST", self.delete_session),
            "com.atproto.server.getSession": Method("GET", self.get_session),
            "com.atproto.server.describeServer": Method("GET", self.describe_server),
            "com.atproto.identity.resolveHandle": Method("GET", self.resolve_handle),
            "com.atproto.repo.uploadBlob": Method("POST", self.upload_blob),
            "com.atproto.repo.getRecord": Method("GET", self.get_record),
            "com.atproto.repo.putRecord": Method("POST", self.put_record),
            "com.atproto.sync.getBlob": Method("GET", self.get_blob),
            "app.bsky.actor.getProfile": Method("GET", self.get_profile),
        }
        self.url_map = Map([
            Rule("/xrpc/_health", endpoint="health", methods=["GET"]),
            Rule("/xrpc/<nsid>", endpoint="xrpc"),
            Rule("/img/<kind>/plain/<did>/<name>", endpoint="cdn", methods=["GET"]),
            Rule("/.well-known/atproto-did", endpoint="well_known_did", methods=["GET"]),
            Rule("/.well-known/did.json", endpoint="did_web", methods=["GET"]),
            Rule("/_sandbox/status", endpoint="ctl_status", methods=["GET"]),
            Rule("/_sandbox/outbox", endpoint="ctl_outbox", methods=["GET"]),
            Rule("/_sandbox/<action>", endpoint="ctl_action", methods=["POST"]),
            Rule("/<did>", endpoint="plc", methods=["GET"]),
        ])

    # --- WSGI ---------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        finally:
            request.close()
        response.headers["Date"] = http_date(time.time())
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_sandbox/") and not is_loopback(request.remote_addr):
            return xrpc_error(404, "NotFound", "Not Found")
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, values = adapter.match()
        except HTTPException:
            if path.startswith("/xrpc/"):
                return xrpc_error(404, "XRPCNotSupported", "XRPC method not supported")
            return xrpc_error(404, "NotFound", "Not Found")
        try:
            if endpoint == "xrpc":
                return self.xrpc(request, str(values["nsid"]))
            handler: Callable[..., Response] = getattr(self, f"_{endpoint}")
            return handler(request, **values)
        except XrpcError as exc:
            return xrpc_error(exc.status, exc.error, exc.message, exc.headers)
        except DropConnection:
            raise
        except Exception:
            log.exception("bluesky sandbox: unexpected error on %s", path)
            return xrpc_error(500, "InternalServerError", "Internal Server Error")

    def xrpc(self, request: Request, nsid: str) -> Response:
        early = self._apply_faults(request)
        if early is not None:
            return early
        method = self.methods.get(nsid)
        if method is None:
            return xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")
        if request.method not in (method.http, "HEAD" if method.http == "GET" else ""):
            raise XrpcError(400, "InvalidRequest",
                            f"Incorrect HTTP method ({request.method}) expected {method.http}")
        state = self._hit("global", request.remote_addr or "-")
        response = method.handler(request)
        if state is not None and "RateLimit-Limit" not in response.headers:
            response.headers.update(rate_headers(state, self.limiters["global"][1]))
        return response

    def _apply_faults(self, request: Request) -> Response | None:
        self.faults.delay_or_drop(request.environ)
        status = self.faults.take_failure()
        if status is not None:
            return xrpc_error(status, FAIL_STATUSES[status], "Sandbox fault")
        if self.faults.take_rate_limit():
            reset = int(time.time()) + 60
            return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", {
                "RateLimit-Limit": "3000", "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(reset), "RateLimit-Policy": "3000;w=300",
                "Retry-After": "60"})
        return None

    def _hit(self, name: str, key: str) -> RateState | None:
        entry = self.limiters.get(name)
        if entry is None:
            return None
        limiter, window = entry
        state = limiter.hit(key, name)
        if state is not None and not state.allowed:
            headers = rate_headers(state, window)
            headers["Retry-After"] = str(max(1, state.reset - int(time.time())))
            raise XrpcError(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        return state

    # --- helpers ----------------------------------------------------------------

    def own_url(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    def pds_endpoint(self, request: Request) -> str:
        return self.config.pds_endpoint or self.own_url(request)

    def did_doc(self, account: Account, request: Request) -> dict[str, Any]:
        return {
            "@context": _DID_CONTEXT,
            "id": account.did,
            "alsoKnownAs": [f"at://{account.handle}"],
            "verificationMethod": [],
            "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                         "serviceEndpoint": self.pds_endpoint(request)}],
        }

    @staticmethod
    def body_json(request: Request, limit: int) -> dict[str, Any]:
        if (request.content_length or 0) > limit:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        data = request.get_data(cache=True)
        if len(data) > limit:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large")
        if not data:
            raise XrpcError(400, "InvalidRequest", "Request encoding (Content-Type) required "
                            "but not provided")
        if request.mimetype != "application/json":
            raise XrpcError(400, "InvalidRequest", f"Wrong request encoding (Content-Type): "
                            f"{request.mimetype}")
        try:
            body = json.loads(data)
        except (ValueError, RecursionError):
            raise XrpcError(400, "InvalidRequest", "Unable to parse JSON body") from None
        if not isinstance(body, dict):
            raise XrpcError(400, "InvalidRequest", "Input must be an object")
        return body

    @staticmethod
    def need(values: Any, name: str, kind: str = "Input") -> str:
        value = values.get(name)
        if not isinstance(value, str) or not value:
            raise XrpcError(400, "InvalidRequest", f'{kind} must have the property "{name}"')
        return value

    def bearer(self, request: Request, *, refresh: bool, optional: bool = False
               ) -> Claims | None:
        header = request.headers.get("Authorization", "")
        if not header:
            if optional:
                return None
            raise XrpcError(401, "AuthMissing", "Authentication Required")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise XrpcError(400, "InvalidToken", "Unexpected authorization type")
        try:
            claims = self.issuer.verify(token.strip(), refresh=refresh)
        except TokenProblem as exc:
            raise XrpcError(400, exc.error, exc.message) from None
        if not refresh and self.faults.access_expired(token.strip()):
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        with self.state.lock:
            account = self.state.accounts.get(claims.did)
        if account is None:
            raise XrpcError(400, "InvalidToken", "Token could not be verified")
        if account.takendown or self.faults.takedown:
            raise XrpcError(401, "AccountTakedown", "Account has been taken down")
        return claims

    def account_of(self, claims: Claims) -> Account:
        with self.state.lock:
            return self.state.accounts[claims.did]

    def resolve_repo(self, repo: str) -> Account:
        with self.state.lock:
            account = self.state.find_account(repo) if "@" not in repo else None
        if account is None:
            raise XrpcError(400, "InvalidRequest", f"Could not find repo: {repo}")
        return account

    def session_body(self, account: Account, access: str, refresh: str,
                     request: Request) -> dict[str, Any]:
        return {"accessJwt": access, "refreshJwt": refresh, "handle": account.handle,
                "did": account.did, "didDoc": self.did_doc(account, request),
                "email": account.email, "emailConfirmed": True,
                "emailAuthFactor": account.two_factor, "active": True}

    def issue(self, account: Account, app_password: str | None) -> tuple[str, str]:
        now = time.time()
        jti = new_token_id()
        scope = SCOPE_APP_PASS if app_password else SCOPE_ACCESS
        access = self.issuer.access(account.did, scope, now)
        refresh, exp = self.issuer.refresh(account.did, jti, now)
        with self.state.lock:
            self.state.access_issued.append(access)
            self.state.refresh_tokens[jti] = RefreshToken(jti, account.did, float(exp),
                                                          app_password)
        return access, refresh

    # --- com.atproto.server -------------------------------------------------------

    def create_session(self, request: Request) -> Response:
        body = self.body_json(request, self.config.json_limit)
        identifier = self.need(body, "identifier").strip().lower()
        password = self.need(body, "password")
        limit = self._hit("createSession", f"{identifier}|{request.remote_addr}")
        headers = rate_headers(limit, self.limiters["createSession"][1]) if limit else {}
        with self.state.lock:
            account = self.state.find_account(identifier)
            app_password = None
            ok = False
            if account is not None and len(password) <= 256:
                for name, value in account.app_passwords.items():
                    if password == value:
                        ok, app_password = True, name
                ok = ok or password == account.password
        if account is None or not ok:
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password",
                            headers)
        if (account.takendown or self.faults.takedown) and not body.get("allowTakendown"):
            raise XrpcError(401, "AccountTakedown", "Account has been taken down", headers)
        if account.two_factor:
            code = body.get("authFactorToken")
            with self.state.lock:
                pending = self.state.pending_codes.get(account.did)
                if not code:
                    pending = new_email_code()
                    self.state.pending_codes[account.did] = pending
                    self.state.outbox.append(Email(
                        to=account.email, subject="Sign in to Bluesky",
                        body=f"Your sign in code is {pending}", code=pending,
                        sent_at=time.time()))
                    raise XrpcError(401, "AuthFactorTokenRequired",
                                    "A sign in code has been sent to your email address",
                                    headers)
                if not isinstance(code, str) or code.strip().upper() != pending:
                    raise XrpcError(401, "InvalidToken", "Token is invalid", headers)
                del self.state.pending_codes[account.did]
        access, refresh = self.issue(account, app_password)
        return json_response(self.session_body(account, access, refresh, request), 200,
                             headers)

    def refresh_session(self, request: Request) -> Response:
        claims = self.bearer(request, refresh=True)
        assert claims is not None
        now = time.time()
        with self.state.lock:
            token = self.state.refresh_tokens.get(claims.jti)
            if token is None or token.expires_at <= now:
                raise XrpcError(400, "ExpiredToken", "Token has been revoked")
            # As the reference PDS: the used token lives on for the grace period, and
            # using it again gives a token with the same next id.
            token.expires_at = min(token.expires_at, now + self.config.refresh_grace_s)
            if token.next_id is None:
                token.next_id = new_token_id()
            next_id = token.next_id
            account = self.state.accounts[token.did]
            scope = SCOPE_APP_PASS if token.app_password else SCOPE_ACCESS
            access = self.issuer.access(account.did, scope, now)
            self.state.access_issued.append(access)
            refresh, exp = self.issuer.refresh(account.did, next_id, now)
            self.state.refresh_tokens[next_id] = RefreshToken(next_id, account.did,
                                                              float(exp), token.app_password)
        return json_response(self.session_body(account, access, refresh, request))

    def delete_session(self, request: Request) -> Response:
        claims = self.bearer(request, refresh=True)
        assert claims is not None
        with self.state.lock:
            self.state.refresh_tokens.pop(claims.jti, None)
        return Response(b"", status=200)

    def get_session(self, request: Request) -> Response:
        claims = self.bearer(request, refresh=False)
        assert claims is not None
        account = self.account_of(claims)
        return json_response({"handle": account.handle, "did": account.did,
                              "didDoc": self.did_doc(account, request),
                              "email": account.email, "emailConfirmed": True,
                              "emailAuthFactor": account.two_factor, "active": True})

    def describe_server(self, request: Request) -> Response:
        host = request.host.split(":")[0]
        return json_response({"did": f"did:web:{host}", "availableUserDomains": [".test"],
                              "inviteCodeRequired": True,
                              "links": {}, "contact": {}})

    def resolve_handle(self, request: Request) -> Response:
        handle = self.need(request.args, "handle", "Params")
        with self.state.lock:
            account = None if handle.startswith("did:") else self.state.find_account(handle)
        if account is None:
            raise XrpcError(400, "InvalidRequest", "Unable to resolve handle")
        return json_response({"did": account.did})

    # --- com.atproto.repo ---------------------------------------------------------

    def upload_blob(self, request: Request) -> Response:
        claims = self.bearer(request, refresh=False)
        assert claims is not None
        limit = self._hit("uploadBlob", claims.did)
        headers = rate_headers(limit, self.limiters["uploadBlob"][1]) if limit else {}
        declared = request.headers.get("Content-Type", "").split(";")[0].strip()
        if not declared:
            raise XrpcError(400, "InvalidRequest", "Request encoding (Content-Type) required "
                            "but not provided", headers)
        maximum = self.config.blob_upload_limit
        if (request.content_length or 0) > maximum:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large", headers)
        data = request.stream.read(maximum + 1)
        if len(data) > maximum:
            raise XrpcError(413, "PayloadTooLarge", "request entity too large", headers)
        mime = sniff(data) or declared
        cid = blob_cid(data)
        with self.state.lock:
            existing = self.state.blobs.get((claims.did, cid))
            if existing is None:
                self.state.blobs[(claims.did, cid)] = Blob(cid, mime, data, claims.did,
                                                           uploaded_at=time.time())
            else:
                mime = existing.mime_type
        return json_response({"blob": {"$type": "blob", "ref": {"$link": cid},
                                       "mimeType": mime, "size": len(data)}}, 200, headers)

    def get_record(self, request: Request) -> Response:
        args = request.args
        repo = self.need(args, "repo", "Params")
        collection = self.need(args, "collection", "Params")
        rkey = self.need(args, "rkey", "Params")
        account = self.resolve_repo(repo)
        uri = f"at://{account.did}/{collection}/{rkey}"
        with self.state.lock:
            record = self.state.records.get((account.did, collection, rkey))
        wanted = args.get("cid")
        if record is None or (wanted and wanted != record.cid):
            raise XrpcError(400, "RecordNotFound", f"Could not locate record: {uri}")
        return json_response({"uri": record.uri, "cid": record.cid, "value": record.value})

    def put_record(self, request: Request) -> Response:
        claims = self.bearer(request, refresh=False)
        assert claims is not None
        body = self.body_json(request, self.config.json_limit)
        repo = self.need(body, "repo")
        collection = self.need(body, "collection")
        rkey = self.need(body, "rkey")
        record = body.get("record")
        if not isinstance(record, dict):
            raise XrpcError(400, "InvalidRequest", 'Input must have the property "record"')
        swap_given = "swapRecord" in body
        swap = body.get("swapRecord")
        swap_commit = body.get("swapCommit")
        for name, value in (("swapRecord", swap), ("swapCommit", swap_commit)):
            if value is not None and not is_cid(value):
                raise XrpcError(400, "InvalidRequest", f"Input/{name} must be a cid string")
        account = self.resolve_repo(repo)
        if account.did != claims.did:
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        limit = self._hit("repoWrite", claims.did)
        headers = rate_headers(limit, self.limiters["repoWrite"][1]) if limit else {}
        record = dict(record)
        if "$type" not in record:
            record["$type"] = collection
        elif record["$type"] != collection:
            raise XrpcError(400, "InvalidRequest",
                            f"Invalid $type: expected {collection}, got {record['$type']}",
                            headers)
        validate = body.get("validate")
        refs: list[lexicon.BlobRef] = []
        status = "unknown"
        if collection == PROFILE and validate is not False:
            if rkey != PROFILE_RKEY:
                raise XrpcError(400, "InvalidRequest", f"Invalid record key for {PROFILE}: "
                                f"expected literal:self, got {rkey}", headers)
            try:
                refs = lexicon.validate_profile(record)
            except lexicon.LexiconError as exc:
                raise XrpcError(400, "InvalidRequest", f"Invalid {PROFILE} record: {exc}",
                                headers) from None
            status = "valid"
        elif validate is True:
            raise XrpcError(400, "InvalidRequest", f"Lexicon not found: lex:{collection}",
                            headers)
        with self.state.lock:
            key = (claims.did, collection, rkey)
            current = self.state.records.get(key)
            record = self._upgrade_legacy_refs(claims.did, record, refs)
            try:
                new_cid = record_cid(record)
            except (ValueError, TypeError, KeyError, RecursionError):
                # Not in the data model (a $link that is no CID, a float, too deep).
                raise XrpcError(400, "InvalidRequest", "Invalid record: not valid atproto "
                                "data", headers) from None
            if current is not None and current.cid == new_cid:
                # The no-op check comes before the swap check, as on the PDS.
                return json_response({"uri": current.uri, "cid": current.cid,
                                      "validationStatus": status}, 200, headers)
            head = self.state.commits.get(claims.did)
            if swap_commit is not None and swap_commit != head:
                raise XrpcError(400, "InvalidSwap", f"Commit was at {head or 'null'}",
                                headers)
            was = current.cid if current is not None else None
            if self.faults.take_invalid_swap() or (swap_given and swap != was):
                raise XrpcError(400, "InvalidSwap", f"Record was at {was or 'null'}", headers)
            self._check_blobs(claims.did, refs)
            written = self.state.write_record(claims.did, collection, rkey, record)
            self._settle_blobs(claims.did, current, refs)
        return json_response({"uri": written.uri, "cid": written.cid,
                              "commit": {"cid": self.state.commits[claims.did],
                                         "rev": written.rev},
                              "validationStatus": status}, 200, headers)

    def _upgrade_legacy_refs(self, did: str, record: dict[str, Any],
                             refs: list[lexicon.BlobRef]) -> dict[str, Any]:
        for ref in refs:
            name = ref.path.rsplit(".", 1)[-1]
            if ref.size is None:
                blob = self.state.blobs.get((did, ref.cid))
                if blob is not None:
                    record[name] = {"$type": "blob", "ref": {"$link": ref.cid},
                                    "mimeType": ref.mime_type, "size": blob.size}
        return record

    def collect_garbage(self, older_than_s: float) -> int:
        """Delete temporary blobs (no record refers to them) older than this; the count."""
        now = time.time()
        with self.state.lock:
            stale = [key for key, blob in self.state.blobs.items()
                     if not blob.permanent and now - blob.uploaded_at >= older_than_s]
            for key in stale:
                del self.state.blobs[key]
        return len(stale)

    def _check_blobs(self, did: str, refs: list[lexicon.BlobRef]) -> None:
        self.collect_garbage(self.config.temp_blob_ttl_s)
        for ref in refs:
            blob = self.state.blobs.get((did, ref.cid))
            if blob is None:
                raise XrpcError(400, "BlobNotFound", f"Could not find blob: {ref.cid}")
            if blob.mime_type != ref.mime_type:
                raise XrpcError(400, "InvalidMimeType",
                                "Referenced Mimetype does not match stored blob. "
                                f"Expected: {blob.mime_type}, Got: {ref.mime_type}")
            if ref.size is not None and blob.size != ref.size:
                raise XrpcError(400, "InvalidSize",
                                "Referenced size does not match stored blob. "
                                f"Expected: {blob.size}, Got: {ref.size}")

    def _settle_blobs(self, did: str, previous: Any, refs: list[lexicon.BlobRef]) -> None:
        """New refs become permanent; blobs the old record alone used are deleted."""
        kept = {ref.cid for ref in refs}
        for cid in kept:
            self.state.blobs[(did, cid)].permanent = True
        if previous is None:
            return
        with contextlib.suppress(lexicon.LexiconError):
            for ref in lexicon.validate_profile(previous.value):
                if ref.cid not in kept and (did, ref.cid) in self.state.blobs:
                    blob = self.state.blobs.pop((did, ref.cid))
                    # The CDN keeps serving what it cached, as the real one does.
                    self.cdn_cache[(did, ref.cid)] = (blob.mime_type, blob.data)

    def get_blob(self, request: Request) -> Response:
        did = self.need(request.args, "did", "Params")
        cid = self.need(request.args, "cid", "Params")
        with self.state.lock:
            blob = self.state.blobs.get((did, cid))
        if blob is None:
            raise XrpcError(400, "BlobNotFound", "Blob not found")
        return Response(blob.data, status=200, content_type=blob.mime_type,
                        headers={"x-content-type-options": "nosniff"})

    # --- app.bsky.actor -----------------------------------------------------------

    def get_profile(self, request: Request) -> Response:
        actor = self.need(request.args, "actor", "Params")
        viewer = self.bearer(request, refresh=False, optional=True)
        with self.state.lock:
            account = self.state.find_account(actor) if "@" not in actor else None
            if account is None:
                raise XrpcError(400, "InvalidRequest", "Profile not found")
            now = time.time()
            newest = self.state.records.get((account.did, PROFILE, PROFILE_RKEY))
            seen = self.state.appview_profile(account.did, self.config.appview_lag_s, now)
        headers: dict[str, str] = {}
        shown = seen
        if viewer is not None and viewer.did == account.did and newest is not seen:
            # Read-after-write: the PDS patches its own user's view from the local record.
            shown = newest
            if newest is not None:
                lag_ms = int(max(0.0, now - newest.written_at) * 1000)
                headers["Atproto-Upstream-Lag"] = str(lag_ms)
        value = shown.value if shown is not None else {}
        base = self.own_url(request)
        view: dict[str, Any] = {"did": account.did, "handle": account.handle,
                                "followersCount": 0, "followsCount": 0, "postsCount": 0,
                                "labels": [],
                                "indexedAt": _iso(shown.written_at if shown else now)}
        for name in ("displayName", "description", "pronouns", "website", "createdAt"):
            if isinstance(value.get(name), str):
                view[name] = value[name]
        for name in ("avatar", "banner"):
            if name in value:
                with contextlib.suppress(lexicon.LexiconError):
                    ref = lexicon.blob_ref(value[name], name)
                    view[name] = (f"{base}/img/{name}/plain/{account.did}/{ref.cid}"
                                  f"{self.config.cdn_suffix}")
        return json_response(view, 200, headers)

    # --- non-XRPC paths ---------------------------------------------------------

    def _health(self, request: Request) -> Response:
        return json_response({"version": "sandbox"})

    def _cdn(self, request: Request, kind: str, did: str, name: str) -> Response:
        cid = name.split("@", 1)[0]
        with self.state.lock:
            blob = self.state.blobs.get((did, cid))
            cached = (blob.mime_type, blob.data) if blob is not None and blob.permanent \
                else self.cdn_cache.get((did, cid))
        if kind not in ("avatar", "banner", "avatar_thumbnail", "feed_thumbnail",
                        "feed_fullsize") or cached is None:
            return Response(b"Not Found", status=404, content_type="text/plain")
        mime, data = cached
        return Response(data, status=200, content_type=mime,
                        headers={"Cache-Control": "public, max-age=604800"})

    def _well_known_did(self, request: Request) -> Response:
        host = _host_only(request.host)
        with self.state.lock:
            account = self.state.find_account(host) if host else None
            if account is None and host in ("127.0.0.1", "localhost", "::1"):
                account = self.state.demo  # the sandbox's own address: its demo handle
        if account is None:
            return Response(b"User not found", status=404, content_type="text/plain")
        return Response(account.did, status=200, content_type="text/plain; charset=utf-8")

    def _did_web(self, request: Request) -> Response:
        host = request.host
        did = "did:web:" + host.replace(":", "%3A")
        return json_response({"@context": _DID_CONTEXT, "id": did,
                              "service": [{"id": "#atproto_pds",
                                           "type": "AtprotoPersonalDataServer",
                                           "serviceEndpoint": self.pds_endpoint(request)}]})

    def _plc(self, request: Request, did: str) -> Response:
        """A PLC directory's ``GET /<did>``: the DID document."""
        with self.state.lock:
            account = self.state.accounts.get(did)
        if account is None:
            return json_response({"message": f"DID not registered: {did}"}, 404)
        return json_response(self.did_doc(account, request))

    # --- /_sandbox/ (loopback only) ---------------------------------------------

    def _ctl_status(self, request: Request) -> Response:
        with self.state.lock:
            demo = self.state.demo
            record = self.state.records.get((demo.did, PROFILE, PROFILE_RKEY))
            info = {"faults": self.faults.snapshot().as_dict(),
                    "profile": record.value if record else None,
                    "profile_cid": record.cid if record else None,
                    "refresh_tokens": len(self.state.refresh_tokens),
                    "blobs": len(self.state.blobs),
                    "two_factor": demo.two_factor,
                    "appview_lag_s": self.config.appview_lag_s}
        return json_response(info)

    def _ctl_outbox(self, request: Request) -> Response:
        with self.state.lock:
            messages = [m.as_dict() for m in self.state.outbox]
        return json_response({"messages": messages})

    def _ctl_action(self, request: Request, action: str) -> Response:
        values = request.values
        try:
            self.control(action, values)
        except KeyError:
            return json_response({"ok": False, "error": f"unknown action {action!r}"}, 404)
        except ValueError as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        return json_response({"ok": True, "faults": self.faults.snapshot().as_dict()})

    def control(self, action: str, values: Any) -> None:
        """One control action (also used in-process by the CLI and tests)."""
        faults = self.faults
        if basic_action(faults, action, values):
            pass  # latency, fail_next, drop_next
        elif action == "invalid_swap":
            faults.invalid_swap_next(guard.parse_count(values.get("n", "1")))
        elif action == "rate_limit":
            faults.rate_limit_next(guard.parse_count(values.get("n", "1")))
        elif action == "expire_access":
            with self.state.lock:
                faults.expire_access_tokens(set(self.state.access_issued))
        elif action == "revoke_refresh":
            with self.state.lock:
                self.state.refresh_tokens.clear()
        elif action == "takedown":
            faults.set_takedown(flag(values.get("on"), default=True))
        elif action == "two_factor":
            with self.state.lock:
                self.state.demo.two_factor = flag(values.get("on"), default=True)
        elif action == "appview_lag":
            self.config.appview_lag_s = guard.parse_seconds(values.get("seconds", "0"),
                                                            what="seconds")
        elif action == "edit_profile":
            # Another app edits the profile (a concurrent write for swap tests).
            with self.state.lock:
                demo = self.state.demo
                key = (demo.did, PROFILE, PROFILE_RKEY)
                current = self.state.records.get(key)
                value = dict(current.value) if current else {"$type": PROFILE}
                for name in ("displayName", "description", "pronouns"):
                    if name in values:
                        value[name] = values[name]
                self.state.write_record(demo.did, PROFILE, PROFILE_RKEY, value)
        elif action == "gc_blobs":
            # The PDS's blob garbage collection runs now, for every temporary blob.
            self.collect_garbage(0.0)
        elif action == "reset":
            faults.reset()
            for limiter, _ in self.limiters.values():
                limiter.reset()
        else:
            raise KeyError(action)


def sniff(data: bytes) -> str | None:
    """The MIME type from the bytes themselves (the PDS uses file-type; Pillow here)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    if fmt is None:
        return None
    return Image.MIME.get(fmt)


def _host_only(host: str) -> str:
    """``Host`` without its port: "alice.test", "127.0.0.1", "::1"."""
    host = host.lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + \
        f".{int((ts % 1) * 1000):03d}Z"
