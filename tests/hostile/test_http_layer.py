"""core.http against the hostile loopback server: every attack ends, bounded, typed."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from avatar_studio.core import http

from tests.hostile.hostile_server import HostileServer, hostile_server

QUICK = http.Limits(connect_s=2, read_s=5, total_s=3.0, max_body_bytes=4 * 1024 * 1024)


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture
def session() -> Iterator[http.BoundedSession]:
    with http.BoundedSession(QUICK) as s:
        yield s


def _timed(func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        return func(*args, **kwargs), time.monotonic() - started
    except Exception as exc:  # noqa: BLE001 - returned for the assertions
        return exc, time.monotonic() - started


def test_a_normal_answer(server, session):
    response = session.get(f"{server.base_url}/ok")
    assert response.status_code == 200
    assert http.parse_json(response.content) == {"ok": True}


@pytest.mark.parametrize("path", ["drip", "drip-headers"])
def test_a_dripping_server_ends_at_the_total_deadline(server, session, path):
    # Each byte comes well within the 5 s read timeout; only the total deadline ends it.
    result, took = _timed(session.get, f"{server.base_url}/{path}")
    assert isinstance(result, http.DeadlineExceeded), result
    assert isinstance(result, requests.Timeout)
    assert 2.9 < took < 4.0, took


def test_an_upload_gets_its_own_total_deadline(server):
    limits = http.Limits(connect_s=2, read_s=5, total_s=1.0, upload_total_s=2.5)
    with http.BoundedSession(limits) as session:
        result, took = _timed(session.post, f"{server.base_url}/drip", data=b"picture")
    assert isinstance(result, http.DeadlineExceeded), result
    assert 2.4 < took < 3.5, took


def test_an_outer_deadline_wins(server, session):
    with http.deadline(seconds=1.0):
        result, took = _timed(session.get, f"{server.base_url}/drip")
        assert isinstance(result, http.DeadlineExceeded)
        assert took < 2.0
        again, took = _timed(session.get, f"{server.base_url}/ok")
    assert isinstance(again, http.DeadlineExceeded)  # no time left: not even sent
    assert took < 0.1


@pytest.mark.parametrize("path", ["gzip-bomb", "deflate-bomb"])
def test_decompression_bombs_stop_at_the_cap(server, session, path):
    result, _ = _timed(session.get, f"{server.base_url}/{path}")
    assert isinstance(result, http.ResponseTooLarge), result


def test_an_encoding_we_did_not_ask_for_is_refused(server, session):
    assert session.headers["Accept-Encoding"] == "gzip, deflate"
    with pytest.raises(http.BadEncoding):
        session.get(f"{server.base_url}/brotli")


@pytest.mark.parametrize("path", ["huge-json", "huge-chunked"])
def test_huge_bodies_are_refused_while_streaming(server, session, path):
    result, took = _timed(session.get, f"{server.base_url}/{path}")
    assert isinstance(result, http.ResponseTooLarge), result
    assert took < 3.0


def test_deep_json_is_a_value_error_not_a_recursion_error(server, session):
    response = session.get(f"{server.base_url}/deep-json")
    with pytest.raises(http.JsonTooDeep):
        http.parse_json(response.content)
    with pytest.raises(ValueError, match="deeper than 64"):
        http.parse_json("[" * 65 + "]" * 65)
    assert http.parse_json('{"a": "' + "[" * 100 + '"}')  # brackets in strings do not count


@pytest.mark.parametrize("path", ["redirect-http", "redirect-downgrade", "redirect-ftp"])
def test_redirects_off_origin_over_plain_http_are_refused(server, session, path):
    with pytest.raises(http.UnsafeRedirect):
        session.get(f"{server.base_url}/{path}")


def test_same_origin_redirects_are_followed_and_loops_bounded(server, session):
    assert session.get(f"{server.base_url}/redirect-same").json() == {"ok": True}
    with pytest.raises(requests.TooManyRedirects):
        session.get(f"{server.base_url}/redirect-loop")


def test_a_redirect_that_is_not_followed_is_not_an_error(server, session):
    response = session.post(f"{server.base_url}/redirect-http", allow_redirects=False)
    assert response.status_code == 302


def test_plain_http_goes_only_to_loopback_addresses(monkeypatch):
    """A name resolving to an address that is not loopback (here 127.0.0.2, declared
    remote for the test) gets no byte of the request, signed headers included."""
    real_getaddrinfo = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        if host == "evil.localhost":
            host = "127.0.0.2"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    monkeypatch.setattr(http, "is_loopback_ip", lambda address: address != "127.0.0.2")
    with hostile_server("127.0.0.2") as remote, http.BoundedSession(QUICK) as session:
        port = remote.server_address[1]
        with pytest.raises(http.PlainHttpNotLoopback, match="only for this computer"):
            session.get(f"http://evil.localhost:{port}/ok",
                        headers={"Authorization": 'OAuth oauth_signature="secret"'})
        assert remote.hits == []


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), ("0", 0.0), ("-5", 0.0), ("10000000000000", http.MAX_WAIT_S),
    ("9" * 400, None), ("nan", None), ("inf", None), ("soon", None), ("", None)])
def test_retry_after_is_clamped(value, expected):
    assert http.retry_after_s(value, now=1_000.0) == expected


def test_retry_after_as_a_date():
    assert http.retry_after_s("Thu, 01 Jan 1970 00:02:00 GMT", now=60.0) == 60.0


def test_reset_epoch_is_clamped():
    assert http.reset_epoch("10000000000000", now=1_000.0) == 1_000.0 + http.MAX_RESET_AHEAD_S
    assert http.reset_epoch("2000", now=1_000.0) == 2000.0
    assert http.reset_epoch("x", now=1_000.0) is None


def test_a_cancel_ends_a_request_waiting_for_its_answer(server, session):
    """The user's Cancel reaches a request whose body has left and that waits for the
    server's answer: it ends soon after (the socket is shut), not at the deadline."""
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)  # the user presses Cancel meanwhile
    timer.start()
    body = http.ProgressBody(b"picture")
    try:
        with http.cancel_on(cancel):
            result, took = _timed(session.post, f"{server.base_url}/drip", data=body)
    finally:
        timer.cancel()
    # The whole body had left: the server may act on it, and the error says so.
    assert isinstance(result, http.RequestCancelled), result
    assert body.sent == len(body)
    assert 0.25 < took < 0.3 + 10 * http.CANCEL_POLL_S, took  # the deadline is 3 s
    with http.cancel_on(cancel):  # already cancelled: nothing is sent
        again, took = _timed(session.get, f"{server.base_url}/ok")
    assert isinstance(again, http.BodyCancelled)  # nothing left: nothing can have changed
    assert took < 0.1
    assert session.get(f"{server.base_url}/ok").status_code == 200  # outside: unaffected
