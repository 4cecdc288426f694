"""Malformed requests against every sandbox (X, Mastodon, Bluesky), on real sockets.

Each one gets a proper HTTP answer (4xx, or 505 for an HTTP version the server does not
speak), the server logs no traceback, and keeps serving afterwards. Control values are
validated (400), ids that name nobody are 404s, and a huge latency never delays stop.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
import requests
from avatar_studio.core import net
from avatar_studio.core.sandbox.bluesky.server import BlueskySandbox
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.sandbox.serving import BackgroundServer
from requests_oauthlib import OAuth1

TLS_CLIENT_HELLO = bytes.fromhex(
    "160301009a0100009603036b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738"
    "393a3b3c3d3e3f00002c130113021303c02bc02fc02cc030cca9cca8c009c013c00ac014009c009d002f"
    "0035000a0100004100000010000e00000b6578616d706c652e636f6d")

MALFORMED = [
    # (name, raw bytes, acceptable statuses)
    ("request line over 64 KB", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     {414}),
    ("query over 64 KB", b"GET /?q=" + b"b" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", {414}),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, 505}),
    ("HTTP/9.9", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", {400, 505}),
    ("TLS ClientHello", TLS_CLIENT_HELLO, {400}),
    ("garbage request line", b"\x00\x01\x02 \xff\xfe\r\n\r\n", {400}),
    ("no version", b"GET\r\n\r\n", {400}),
    ("header over 64 KB", b"GET / HTTP/1.1\r\nX: " + b"c" * 70_000 + b"\r\n\r\n", {400, 431}),
    ("too many headers", b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n", {400, 431}),
    ("bad content-length", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
     {400, 404, 405, 411}),
]


def _sandboxes() -> list[tuple[str, type]]:
    return [("x", SandboxServer), ("mastodon", MastodonSandbox), ("bluesky", BlueskySandbox)]


@pytest.fixture(params=_sandboxes(), ids=lambda p: p[0])
def running(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    name, cls = request.param
    server = cls(SandboxConfig()) if name == "x" else cls()
    server.start()
    try:
        yield name, server.base_url
    finally:
        server.stop()


def _raw(base_url: str, payload: bytes) -> bytes:
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        # The server may answer and close before the rest is sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(("what", "payload", "statuses"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_get_a_proper_answer(running, what, payload, statuses, capfd):
    _, base_url = running
    answer = _raw(base_url, payload)
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    assert status_line.startswith("HTTP/1."), f"{what}: no HTTP answer: {answer[:80]!r}"
    assert int(status_line.split()[1]) in statuses, status_line
    # Still serving, and nothing printed a traceback (the request logger used to fail).
    assert requests.get(f"{base_url}/", timeout=10).status_code < 500
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "AttributeError" not in err


BAD_SECONDS = ["inf", "-inf", "nan", "-1", "1e9", "301", "abc", "", "1e400"]


@pytest.mark.parametrize("seconds", BAD_SECONDS)
def test_latency_control_refuses_bad_values(running, seconds):
    _, base_url = running
    response = requests.post(f"{base_url}/_sandbox/latency", data={"seconds": seconds},
                             timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["ok"] is False
    status = requests.get(f"{base_url}/_sandbox/status", timeout=10).json()
    assert status["faults"]["latency_s"] == 0.0
    assert requests.get(f"{base_url}/", timeout=10).status_code < 500


@pytest.mark.parametrize("n", ["²", "-1", "1" * 5000, "1.5", "99999999"])
def test_count_controls_refuse_bad_values(running, n):
    _, base_url = running
    response = requests.post(f"{base_url}/_sandbox/fail_next", data={"n": n}, timeout=10)
    assert response.status_code == 400, response.text


def test_stop_cuts_a_huge_latency_short(running):
    # Checked on the embedded server; the SIGTERM test below checks the process.
    name, cls = next(p for p in _sandboxes() if p[0] == running[0])
    server = cls(SandboxConfig()) if name == "x" else cls()
    base_url = server.start()
    assert requests.post(f"{base_url}/_sandbox/latency", data={"seconds": "300"},
                         timeout=10).status_code == 200
    done = threading.Event()

    def slow_request() -> None:
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{base_url}/", timeout=30)
        done.set()

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.3)  # let the request reach its latency sleep (nothing to await on)
    started = time.monotonic()
    server.stop()
    took = time.monotonic() - started
    worker.join(10)
    assert took < 1.0, f"stop took {took:.1f} s"
    assert done.is_set()


@pytest.mark.parametrize("service", ["x", "mastodon", "bluesky"])
def test_sigterm_stops_within_a_second_after_a_huge_latency(service, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "avatar_studio.core.cli", "sandbox",
                             "--service", service, "--port", "0", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path)
    try:
        assert proc.stdout is not None
        base_url = json.loads(proc.stdout.readline())["base_url"]
        assert requests.post(f"{base_url}/_sandbox/latency", data={"seconds": "300"},
                             timeout=10).status_code == 200
        hung = threading.Thread(target=_swallow, args=(f"{base_url}/",), daemon=True)
        hung.start()
        time.sleep(0.3)  # the request is now sleeping in the sandbox
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert took < 1.0, f"{service}: SIGTERM took {took:.1f} s"
    assert proc.returncode == 0
    assert "Traceback" not in err


def _swallow(url: str) -> None:
    with contextlib.suppress(requests.RequestException):
        requests.get(url, timeout=30)


# -- X: ids that name nobody ---------------------------------------------------------
@pytest.mark.parametrize("user_id", ["²", "١٢٣", "1" * 5000, "9" * 21, "12abc"])
def test_users_show_with_ids_that_name_nobody(user_id):
    with SandboxServer(SandboxConfig()) as server:
        demo = server.demo
        auth = OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret)
        response = requests.get(f"{server.base_url}/1.1/users/show.json", auth=auth,
                                params={"user_id": user_id}, timeout=10)
        assert response.status_code == 404, response.text
        assert response.json() == {"errors": [{"code": 50, "message": "User not found."}]}
        legacy = requests.get(f"{server.base_url}/1.1/users/show.json", auth=auth,
                              params={"id": user_id}, timeout=10)
        assert legacy.status_code == 404


# -- loopback by address, after resolution -------------------------------------------
def _fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host in table:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM,
                     6, "", (a, 0)) for a in table[host]]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_localhost_name_resolving_elsewhere_is_not_loopback(monkeypatch):
    _fake_dns(monkeypatch, {"evil.localhost": ["203.0.113.9"],
                            "mixed.localhost": ["127.0.0.1", "203.0.113.9"],
                            "good.localhost": ["127.0.0.1", "::1"]})
    assert not net.is_loopback_host("evil.localhost")
    assert not net.is_loopback_host("mixed.localhost")
    assert net.is_loopback_host("good.localhost")
    with pytest.raises(ValueError, match="non-loopback"):
        BackgroundServer(lambda e, s: [], "evil.localhost", 0).start()


@pytest.mark.parametrize("host", ["127.1", "127.0.0.1", "::1", "[::1]", "localhost",
                                  "::ffff:127.0.0.1", "2130706433"])
def test_loopback_addresses(host):
    assert net.is_loopback_host(host)


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "198.51.100.7", "nonexistent.invalid"])  # noqa: S104
def test_not_loopback(host):
    assert not net.is_loopback_host(host)


def test_sandbox_listens_on_127_1():
    with SandboxServer(SandboxConfig(host="127.1")) as server:
        assert requests.get(f"{server.base_url}/", timeout=10).status_code < 500


# -- odd values in every query parameter: never a 5xx (501 is XRPC's "no such method") --
ODD = ["²", "1" * 5000, "-1", "\u0661", "9" * 25, "x" * 10_000, "{", "nan"]
ENDPOINTS = {
    "x": (["/1.1/users/show.json", "/1.1/account/verify_credentials.json",
           "/oauth/authorize", "/oauth/access_token"],
          ["user_id", "screen_name", "id", "include_entities", "oauth_token",
           "oauth_verifier"]),
    "mastodon": (["/api/v1/accounts/{}", "/.well-known/webfinger", "/oauth/authorize",
                  "/oauth/token", "/api/v1/apps", "/api/v1/accounts/verify_credentials"],
                 ["resource", "client_id", "redirect_uri", "scope", "grant_type", "code",
                  "redirect_uris"]),
    "bluesky": (["/xrpc/app.bsky.actor.getProfile", "/xrpc/com.atproto.identity.resolveHandle",
                 "/xrpc/com.atproto.server.createSession", "/img/avatar/plain/{}/{}", "/{}"],
                ["actor", "handle", "repo", "collection", "rkey", "did"]),
}


def test_odd_query_values_never_give_a_server_error(running):
    name, base_url = running
    paths, keys = ENDPOINTS[name]
    auth = None
    if name == "x":
        # Signed with the demo account, so users/show really looks the ids up.
        with SandboxServer(SandboxConfig()) as server:
            demo = server.demo
            auth = OAuth1(demo.api_key, demo.api_secret, demo.access_token,
                          demo.access_secret)
            _no_server_errors(server.base_url, paths, keys, auth)
        return
    _no_server_errors(base_url, paths, keys, auth)


def _no_server_errors(base_url: str, paths: list[str], keys: list[str],
                      auth: OAuth1 | None) -> None:
    errors = []
    statuses: set[int] = set()
    with requests.Session() as session:
        for path in paths:
            for value in ODD:
                url = base_url + path.replace("{}", quote(value, safe=""))
                for method in ("GET", "POST"):
                    response = session.request(method, url, params=dict.fromkeys(keys, value),
                                               auth=auth, timeout=10)
                    statuses.add(response.status_code)
                    if response.status_code >= 500:
                        errors.append(f"{method} {path} {value[:12]!r}: "
                                      f"{response.status_code} {response.text[:80]}")
    assert not errors, "\n".join(errors[:10])
    assert statuses & {200, 400, 404}, statuses  # requests were served, not all refused
