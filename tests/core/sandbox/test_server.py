"""The embeddable server: concurrency, clean shutdown, persistence, loopback rules."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.control import is_loopback
from avatar_studio.core.sandbox.server import SandboxServer
from requests_oauthlib import OAuth1
from werkzeug.test import Client

from tests.core.sandbox.helpers import FAST_DELAY, SHOW, UPLOAD, VERIFY, image_bytes, wait_for


def sandbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t is not threading.main_thread() and t.name.startswith(("sandbox", "Thread-"))]


def test_twenty_concurrent_clients_on_users_show(sandbox, auth):
    def client(i: int) -> list[int]:
        statuses = []
        with requests.Session() as session:
            for _ in range(5):
                response = session.get(f"{sandbox.base_url}{SHOW}", auth=auth, timeout=20,
                                       params={"user_id": sandbox.demo.user_id})
                statuses.append(response.status_code)
                assert response.json()["screen_name"] == "sandbox_user"
        return statuses

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(client, range(20)))
    assert results == [[200] * 5] * 20
    last = requests.get(f"{sandbox.base_url}{SHOW}", auth=auth, timeout=10,
                        params={"user_id": sandbox.demo.user_id})
    assert last.headers["x-rate-limit-remaining"] == str(900 - 101)


def test_stop_leaves_no_thread_and_frees_the_port():
    before = set(threading.enumerate())
    server = SandboxServer(SandboxConfig(processing_delay=FAST_DELAY))
    base = server.start()
    demo = server.demo
    auth = OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret)
    # An idle keep-alive connection and a pending upload must not keep anything alive.
    session = requests.Session()
    assert session.get(f"{base}{VERIFY}", auth=auth, timeout=10).status_code == 200
    idle = socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])))
    server.faults.stall_processing(True)
    assert session.post(f"{base}{UPLOAD}", auth=auth, timeout=10,
                        files={"image": ("a.png", image_bytes())}).status_code == 200
    assert set(threading.enumerate()) - before  # it did start threads
    server.stop()
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leftover == []
    assert not server.running
    server.stop()  # idempotent
    idle.close()
    session.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}{VERIFY}", auth=auth, timeout=2)


def test_context_manager_and_base_url():
    with SandboxServer(SandboxConfig(processing_delay=FAST_DELAY)) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.demo.base_url == server.base_url
        assert server.demo.as_dict().keys() == {"base_url", "api_key", "api_secret",
                                                "access_token", "access_secret", "user_id",
                                                "screen_name"}
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_port_in_use_raises_oserror(sandbox):
    port = int(sandbox.base_url.rsplit(":", 1)[1])
    other = SandboxServer(SandboxConfig(port=port))
    with pytest.raises(OSError, match="in use"):
        other.start()
    assert not other.running


def test_non_loopback_host_refused_without_allow_remote():
    with pytest.raises(ValueError, match="non-loopback"):
        SandboxServer(SandboxConfig(host="0.0.0.0")).start()  # noqa: S104


def test_state_persists_across_restart(tmp_path):
    config = SandboxConfig(processing_delay=FAST_DELAY, state_dir=tmp_path / "state")
    with SandboxServer(config) as first:
        demo = first.demo
        auth = OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret)
        assert requests.post(f"{first.base_url}{UPLOAD}", auth=auth, timeout=10,
                             files={"image": ("a.png", image_bytes())}).status_code == 200

        def new_url() -> str | None:
            body = requests.get(f"{first.base_url}{VERIFY}", auth=auth, timeout=10).json()
            return None if body["default_profile_image"] else body["profile_image_url_https"]

        url_path = wait_for(new_url, what="processing").split("/", 3)[3]
    state_file = tmp_path / "state" / "state.json"
    assert state_file.is_file()
    assert state_file.stat().st_mode & 0o077 == 0  # secrets inside: owner-only

    with SandboxServer(config) as second:
        again = second.demo
        assert (again.api_key, again.api_secret, again.access_token, again.access_secret,
                again.user_id) == (demo.api_key, demo.api_secret, demo.access_token,
                                   demo.access_secret, demo.user_id)
        me = requests.get(f"{second.base_url}{VERIFY}", auth=auth, timeout=10).json()
        assert me["profile_image_url_https"] == f"{second.base_url}/{url_path}"
        image = requests.get(me["profile_image_url_https"], timeout=10)
        assert image.status_code == 200
        assert image.headers["Content-Type"] == "image/png"


def test_control_path_answers_only_loopback(sandbox):
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("192.168.1.20")
    assert not is_loopback(None)
    # A request from another machine, through the same WSGI app.
    remote = Client(sandbox.app).post("/_sandbox/reset",
                                      environ_base={"REMOTE_ADDR": "192.168.1.20"})
    assert remote.status_code == 404
    assert remote.json == {"errors": [{"code": 34, "message": "Sorry, that page does not exist."}]}
    local = requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    assert local.json()["ok"] is True
