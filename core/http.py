"""One bounded HTTP layer for every client (X, Mastodon, Bluesky): requests, with limits.

Use it instead of a bare ``requests.Session``::

    from avatar_studio.core import http

    session = http.BoundedSession(http.Limits(total_s=60))   # a requests.Session
    response = session.get(url, timeout=(10, 30))            # body already read, capped
    data = http.parse_json(response.content)                 # depth-bounded; ValueError

    with http.deadline(seconds=8):        # an outer deadline (``upload --wait-timeout``):
        poll_until_done(session)          # every request inside ends by then

What every request through a :class:`BoundedSession` gets (the :class:`Limits`):

* **Deadlines**: connect and read timeouts (per socket operation, as requests has them)
  and a **total** deadline (``upload_total_s`` when a body is sent) for the whole
  exchange — connecting, headers, redirects and body. A watchdog shuts the socket down
  at the deadline, so a server dripping one byte every 1.5 s ends there too;
  :func:`deadline` nests an outer one (the earlier wins).
  Exceeded: :class:`DeadlineExceeded` (a ``requests.Timeout``).
* **Cancel**: inside :func:`cancel_on` (the user's cancel event), a request ends soon
  after the event is set — also while it waits for the server's answer after the last
  byte of an upload — with :class:`BodyCancelled`, as :class:`ProgressBody` does while
  the body is sent. Whether a server that had the whole body acts on it is its own
  business: callers must not say nothing changed.
* **Size**: the body is read while streaming, before anything decodes it, and refused
  past ``max_body_bytes`` — counted after decompression, which we do ourselves with a
  bounded output (a gzip bomb stops at the cap, never fills memory). Only ``gzip`` and
  ``deflate`` are asked for and accepted. :class:`ResponseTooLarge`, :class:`BadEncoding`.
  ``stream=True`` is accepted for compatibility, but the body is read (capped) anyway.
* **Redirects**: followed only to the same origin or to https, at most ``max_redirects``;
  anything else (https → http, http to another host) is :class:`UnsafeRedirect`.
* **Plain http only to loopback**: decided by the connected socket's peer address, after
  resolution (``core.net``), never by name. :class:`PlainHttpNotLoopback` is raised
  before a byte is sent to any other address (a signed OAuth header included). The one
  exception is ``Limits.plain_http_anywhere``, for downloading a link the user dropped
  (core.fetch), which sends nothing secret: plain http to any address, and redirects to
  any http(s) origin.
* **JSON**: :func:`parse_json` refuses nesting deeper than ``max_json_depth`` (a
  ValueError, never RecursionError).
* **Rate-limit times**: :func:`retry_after_s` and :func:`reset_epoch` read Retry-After and
  x-rate-limit-reset style headers, clamped (a day for Retry-After, ten years for a
  reset time): 10**13 never raises ValueError.

:func:`body_progress` reports a response body's bytes while it is read.

All errors are ``requests.RequestException`` subclasses (or ValueError for JSON), so a
client's existing ``except requests.RequestException`` maps them to its NetworkError
(:func:`failure_reason` words the common cases). :class:`ProgressBody` is the upload body
every client streams with progress and cancel.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import socket
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from avatar_studio.core import jsonlimits
from avatar_studio.core.net import is_loopback_ip
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = [
    "BadEncoding", "BodyCancelled", "BoundedSession", "DeadlineExceeded", "JsonTooDeep",
    "Limits", "PlainHttpNotLoopback", "RequestCancelled", "ResponseTooLarge",
    "UnsafeRedirect", "body_progress", "cancel_on", "deadline", "parse_json", "reset_epoch",
    "retry_after_s",
]

#: The longest wait a server's Retry-After may ask of us.
MAX_WAIT_S = 86_400.0
#: The furthest a reset time is believed (absurd ones, 10**13, still fit a datetime).
MAX_RESET_AHEAD_S = 10 * 365 * 86_400.0


@dataclass(frozen=True)
class Limits:
    connect_s: float = 10.0
    read_s: float = 30.0
    #: The whole exchange, redirects and body included.
    total_s: float = 120.0
    #: The same for a request that sends a body (an upload on a slow line).
    upload_total_s: float = 300.0
    #: Bytes of body after decompression (a profile picture is a few MB at most).
    max_body_bytes: int = 16 * 1024 * 1024
    max_json_depth: int = 64
    max_redirects: int = 5
    #: Plain http to any address, and redirects to any http(s) origin: only for a link
    #: the user dropped (core.fetch), never for a request that carries a credential.
    plain_http_anywhere: bool = False


DEFAULT_LIMITS = Limits()


class DeadlineExceeded(requests.Timeout):
    """The total deadline passed (dripping server, or the caller's outer deadline)."""


class ResponseTooLarge(requests.RequestException):
    """The body (after decompression) is over ``Limits.max_body_bytes``."""


class BadEncoding(requests.RequestException):
    """A Content-Encoding we did not ask for, or corrupt compressed data."""


class UnsafeRedirect(requests.RequestException):
    """A redirect to another origin over plain http (or to something that is not http)."""


class PlainHttpNotLoopback(requests.ConnectionError):
    """Plain http to an address that is not this computer's."""


# -- deadlines ------------------------------------------------------------------------
_local = threading.local()


@contextlib.contextmanager
def deadline(at: float | None = None, *, seconds: float | None = None) -> Iterator[float]:
    """Every request in this thread inside the block ends by ``at`` (time.monotonic())
    or ``seconds`` from now; nested deadlines keep the earliest."""
    if at is None:
        if seconds is None:
            raise TypeError("deadline() needs at= or seconds=")
        at = time.monotonic() + max(0.0, seconds)
    outer: list[float] = getattr(_local, "deadlines", [])
    effective = min([at, *outer])
    _local.deadlines = [*outer, effective]
    try:
        yield effective
    finally:
        _local.deadlines = outer


def _outer_deadline() -> float | None:
    stack: list[float] = getattr(_local, "deadlines", [])
    return stack[-1] if stack else None


@contextlib.contextmanager
def _in_this_thread(name: str, value: object | None) -> Iterator[None]:
    """``_local.<name>`` is ``value`` inside the block (None: unchanged), then as before."""
    outer = getattr(_local, name, None)
    setattr(_local, name, value if value is not None else outer)
    try:
        yield
    finally:
        setattr(_local, name, outer)


@contextlib.contextmanager
def cancel_on(event: threading.Event | None) -> Iterator[None]:
    """Every request in this thread inside the block ends soon after ``event`` is set,
    even while it waits for the server's answer (the socket is shut down): with
    :class:`BodyCancelled` if not all of it had left, else :class:`RequestCancelled`.
    None: no change."""
    with _in_this_thread("cancel", event):
        yield


@contextlib.contextmanager
def body_progress(callback: Callable[[int, int], None] | None) -> Iterator[None]:
    """Inside the block, reading a response's body (not a redirect's) in this thread
    calls ``callback(bytes received, bytes announced or 0)`` after each piece. None: no
    change."""
    with _in_this_thread("progress", callback):
        yield


class _Exchange:
    """The sockets of one request; the watchdog shuts them down at the deadline, or when
    the request is cancelled (``cancelled`` then says which)."""

    def __init__(self, ends_at: float) -> None:
        self.ends_at = ends_at
        self.expired = False
        self.cancelled = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.expired:
                _shutdown(sock)
            elif sock not in self._sockets:
                self._sockets.append(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()


#: How often a request's watchdog looks at its cancel event (threading.Event has no
#: callback): a cancelled request ends within this.
CANCEL_POLL_S = 0.05


class _Watchdog(threading.Thread):
    """Ends one exchange at its deadline, or soon after ``cancel`` is set."""

    def __init__(self, exchange: _Exchange, remaining: float,
                 cancel: threading.Event | None) -> None:
        super().__init__(name="http-watchdog", daemon=True)
        self._exchange = exchange
        self._ends_at = time.monotonic() + remaining
        self._cancel = cancel
        self._finished = threading.Event()

    def run(self) -> None:
        while True:
            left = self._ends_at - time.monotonic()
            if left <= 0:
                self._exchange.expire()
                return
            if self._finished.wait(left if self._cancel is None
                                   else min(left, CANCEL_POLL_S)):
                return
            if self._cancel is not None and self._cancel.is_set():
                self._exchange.cancelled = True
                self._exchange.expire()
                return

    def finish(self) -> None:
        """The request is over: stop watching (the thread ends at once)."""
        self._finished.set()
        if self is not threading.current_thread():
            self.join(1.0)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _current_exchange() -> _Exchange | None:
    return getattr(_local, "exchange", None)


# -- connections: the peer check and socket registration ------------------------------
def _after_connect(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is None:  # pragma: no cover - connect() always sets it
        return
    limits: Limits | None = getattr(_local, "limits", None)
    if not isinstance(conn, HTTPSConnection) and not (
            limits is not None and limits.plain_http_anywhere):
        try:
            peer = str(sock.getpeername()[0])
        except OSError:
            peer = ""
        if not is_loopback_ip(peer):
            conn.close()
            raise PlainHttpNotLoopback(
                f"refusing plain http to {conn.host} ({peer or 'unknown address'}): "
                "plain http is only for this computer (a sandbox); use https")
    exchange = _current_exchange()
    if exchange is not None:
        exchange.add(sock)


class _GuardedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _after_connect(self)


class _GuardedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _after_connect(self)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        exchange = _current_exchange()
        if exchange is not None:
            exchange.add(conn.sock)  # a kept-alive connection was connected earlier
        return super()._make_request(conn, *args, **kwargs)


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        exchange = _current_exchange()
        if exchange is not None:
            exchange.add(conn.sock)
        return super()._make_request(conn, *args, **kwargs)


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


# -- the session ----------------------------------------------------------------------
def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class BoundedSession(requests.Session):
    """A ``requests.Session`` whose every request obeys :class:`Limits` (see above)."""

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        super().__init__()
        self.limits = limits
        self.max_redirects = limits.max_redirects
        self.headers["Accept-Encoding"] = "gzip, deflate"
        adapter = _GuardedAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, limits: Limits | None = None, **kwargs: Any) -> requests.Response:
        lim = limits or self.limits
        now = time.monotonic()
        sends_body = any(kwargs.get(k) is not None for k in ("data", "files", "json"))
        budget = lim.upload_total_s if sends_body else lim.total_s
        ends_at = now + budget
        outer = _outer_deadline()
        if outer is not None:
            ends_at = min(ends_at, outer)
        if ends_at <= now:
            raise DeadlineExceeded(f"no time left for {method!s} {_short(url)}")
        cancel: threading.Event | None = getattr(_local, "cancel", None)
        if cancel is not None and cancel.is_set():
            raise BodyCancelled  # nothing was sent
        remaining = ends_at - now
        timeout = kwargs.get("timeout")
        connect_s, read_s = lim.connect_s, lim.read_s
        if isinstance(timeout, tuple):
            connect_s, read_s = timeout[0] or connect_s, timeout[1] or read_s
        elif isinstance(timeout, (int, float)):
            connect_s = read_s = float(timeout)
        kwargs["timeout"] = (min(connect_s, remaining), min(read_s, remaining))
        kwargs["stream"] = True  # the body is read below, bounded
        exchange = _Exchange(ends_at)
        previous = _current_exchange(), getattr(_local, "limits", None), getattr(
            _local, "following", True)
        _local.exchange = exchange
        _local.limits = lim
        _local.following = bool(kwargs.get("allow_redirects", True))
        watchdog = _Watchdog(exchange, remaining, cancel)
        watchdog.start()
        try:
            try:
                response = super().request(method, url, *args, **kwargs)
                _read_body(response, lim, exchange, getattr(_local, "progress", None))
            except requests.RequestException as exc:
                if exchange.cancelled:
                    body = kwargs.get("data")
                    if isinstance(body, ProgressBody) and body.sent < len(body):
                        raise BodyCancelled from exc  # not all of it left
                    raise RequestCancelled from exc
                refused = _find(exc, PlainHttpNotLoopback)
                if refused is not None and refused is not exc:
                    raise PlainHttpNotLoopback(str(refused)) from None
                if exchange.expired and not isinstance(exc, DeadlineExceeded):
                    raise DeadlineExceeded(
                        f"{method!s} {_short(url)} took longer than {budget:g} s"
                    ) from exc
                raise
            return response
        finally:
            watchdog.finish()  # leave no thread behind
            _local.exchange, _local.limits, _local.following = previous

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target is None:
            return None
        lim: Limits = getattr(_local, "limits", self.limits)
        exchange = _current_exchange()
        # requests reads a redirect's body itself, unbounded: read it here first.
        if exchange is not None:
            _read_body(resp, lim, exchange)
        if not getattr(_local, "following", True):
            return target  # not followed (requests only records it in resp.next)
        new_url = urllib.parse.urljoin(resp.url, target)
        scheme = urllib.parse.urlsplit(new_url).scheme
        anywhere = lim.plain_http_anywhere and scheme == "http"
        if _origin(new_url) != _origin(resp.url) and scheme != "https" and not anywhere:
            resp.close()
            raise UnsafeRedirect(f"refusing a redirect from {_short(resp.url)} to "
                                 f"{_short(new_url)}: only https or the same origin")
        return target


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``kind`` inside the wrappers urllib3 and requests put around it."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop()
        if isinstance(current, kind):
            return current
        if current in seen or len(seen) > 20:
            continue
        seen.append(current)
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return None


def _short(url: str | bytes) -> str:
    text = url.decode("latin-1") if isinstance(url, bytes) else str(url)
    parts = urllib.parse.urlsplit(text)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:120]  # never the query


def _decoder(response: requests.Response) -> Any:
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped (or gzip)
    raise BadEncoding(f"unsupported Content-Encoding {encoding[:40]!r}")


def _read_body(response: requests.Response, lim: Limits, exchange: _Exchange,
               progress: Callable[[int, int], None] | None = None) -> None:
    """Read the whole body into ``response._content``: capped, decompressed by us;
    ``progress(received, announced)`` after each piece (bytes as sent, so both count
    the same thing when the body is compressed)."""
    if (getattr(response, "_content_consumed", False)
            and getattr(response, "_content", False) is not False):
        return
    cap = lim.max_body_bytes
    try:
        declared = int(response.headers.get("content-length", "0") or 0)
    except ValueError:
        declared = 0
    try:
        if declared > cap:
            raise ResponseTooLarge(f"the response is {declared:,} bytes; at most {cap:,}")
        decoder = _decoder(response)
        out = bytearray()
        received = 0
        raw = response.raw
        for chunk in raw.stream(64 * 1024, decode_content=False):
            if exchange.expired:
                break
            received += len(chunk)
            if received > cap:
                raise ResponseTooLarge(f"the response is over {cap:,} bytes")
            if progress is not None:
                progress(received, declared)
            if decoder is None:
                out += chunk
                continue
            data = chunk
            while data:
                out += decoder.decompress(data, cap - len(out) + 1)
                if len(out) > cap:
                    raise ResponseTooLarge(
                        f"the response decompresses to over {cap:,} bytes")
                data = decoder.unconsumed_tail
        if exchange.expired:
            raise DeadlineExceeded(f"{_short(response.url)}: the body did not arrive "
                                   f"within {lim.total_s:g} s")
        if decoder is not None:
            out += decoder.flush()
            if len(out) > cap:
                raise ResponseTooLarge(f"the response decompresses to over {cap:,} bytes")
    except requests.RequestException:
        response.close()
        raise
    except zlib.error as exc:
        response.close()
        raise BadEncoding(f"corrupt compressed response: {exc}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()
        if exchange.expired:
            raise DeadlineExceeded(f"{_short(response.url)}: the body did not arrive "
                                   f"within {lim.total_s:g} s") from exc
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            raise requests.ReadTimeout(str(exc)) from exc
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from exc
    response._content = bytes(out)
    response._content_consumed = True  # type: ignore[attr-defined]
    response.close()  # releases the connection to the pool (the body is all read)


# -- JSON -----------------------------------------------------------------------------
JsonTooDeep = jsonlimits.JsonTooDeep


def parse_json(data: bytes | str, *, max_depth: int = DEFAULT_LIMITS.max_json_depth) -> Any:
    """``json.loads`` that refuses deep nesting (JsonTooDeep, a ValueError)."""
    return jsonlimits.loads(data, max_depth=max_depth)


# -- rate-limit headers ---------------------------------------------------------------
def _number(value: str | None) -> float | None:
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 40:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def retry_after_s(value: str | None, *, now: float | None = None,
                  maximum: float = MAX_WAIT_S) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or an HTTP date),
    clamped to [0, maximum]; None when absent or unreadable."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        try:
            when = email.utils.parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - (now if now is not None else time.time())
    return min(max(0.0, seconds), maximum)


def reset_epoch(value: str | None, *, now: float | None = None,
                maximum_ahead: float = MAX_RESET_AHEAD_S) -> float | None:
    """An epoch-seconds reset time (x-rate-limit-reset), clamped to at most
    ``maximum_ahead`` from now and never before the epoch; None when unreadable."""
    epoch = _number(value)
    if epoch is None:
        return None
    current = now if now is not None else time.time()
    return min(max(0.0, epoch), current + maximum_ahead)


def body_prefix(response: requests.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of the (decoded) body, from any session: the already read,
    capped body of a BoundedSession, else read from the stream (for injected sessions)."""
    if getattr(response, "_content_consumed", False):
        return (response.content or b"")[:limit]
    data = response.raw.read(limit, decode_content=True)
    return data if isinstance(data, bytes) else b""


# -- shared by the clients: upload body, failure wording ---------------------------------
#: Network errors of this layer whose own sentence is what the user should read.
OWN_ERRORS = (PlainHttpNotLoopback, UnsafeRedirect, ResponseTooLarge, BadEncoding)


class BodyCancelled(Exception):
    """Cancelled before the whole request body had left (from inside
    :class:`ProgressBody`, or by :func:`cancel_on`): the server cannot have acted on
    it. The client turns it into its UploadCancelled (or Cancelled)."""


class RequestCancelled(Exception):
    """Cancelled by :func:`cancel_on` while waiting for the answer, after the whole
    request (body included) had left: the server may still act on it."""


class ProgressBody:
    """A file-like request body: hands out blocks, reports what was sent, can cancel.

    urllib3 reads a block, ``sendall``s it, then reads the next: so when ``read`` is
    called again, the previous block has left. Progress is reported then (and at the
    end), which makes "bytes sent" honest rather than "bytes queued". ``block`` caps a
    read (small blocks so progress moves and cancel acts within one block); None hands
    out what is asked for.
    """

    def __init__(self, data: bytes, progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None, block: int | None = None) -> None:
        self._view = memoryview(data)
        self._pos = 0
        self._handed_out = 0
        #: The last count reported, so the end is reported once.
        self.reported = 0
        #: Bytes known to have left (all handed out before the last read).
        self.sent = 0
        self._progress = progress
        self._cancel = cancel
        self._block = block

    def __len__(self) -> int:
        return len(self._view)

    def read(self, size: int = -1) -> bytes:
        if self._cancel is not None and self._cancel.is_set():
            raise BodyCancelled
        # Asked again: what was handed out before has left.
        self.sent = self._pos
        if self._progress is not None and self._handed_out:
            self._progress(self._pos, len(self._view))
            self.reported = self._pos
            self._handed_out = 0
            if self._cancel is not None and self._cancel.is_set():
                raise BodyCancelled
        if size is None or size < 0:
            size = len(self._view) if self._block is None else self._block
        elif self._block is not None:
            size = min(size, self._block)
        end = min(len(self._view), self._pos + size)
        block = self._view[self._pos:end].tobytes()
        self._handed_out = end - self._pos
        self._pos = end
        return block


def failure_reason(exc: requests.RequestException, *, who: str = "it") -> str:
    """What went wrong, worded for "Could not reach <service>: <reason>." ``who`` is the
    subject of "did not answer in time" (the service's name, or "it")."""
    if isinstance(exc, requests.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, requests.Timeout):
        return f"{who} did not answer in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the secure (TLS) connection failed"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        if "NameResolution" in text or "Name or service not known" in text:
            return "the name could not be resolved (DNS)"
        if "refused" in text.lower():
            return "the connection was refused"
        return "the connection was interrupted"
    return f"the request failed ({type(exc).__name__})"
