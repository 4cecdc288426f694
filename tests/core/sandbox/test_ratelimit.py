"""x-rate-limit-* headers, per token and endpoint, and 429 code 88."""

from __future__ import annotations

import time

import pytest
import requests
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.ratelimit import RateLimiter

from tests.core.sandbox.helpers import FAST_DELAY, SHOW, UPLOAD, VERIFY, image_bytes


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(processing_delay=FAST_DELAY,
                         rate_limits={"verify_credentials": 3, "users_show": 5})


def test_headers_count_down_then_429_code_88(sandbox, auth):
    before = int(time.time())
    seen = []
    for _ in range(3):
        response = requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
        assert response.status_code == 200
        assert response.headers["x-rate-limit-limit"] == "3"
        seen.append(int(response.headers["x-rate-limit-remaining"]))
        reset = int(response.headers["x-rate-limit-reset"])
        assert before + 899 <= reset <= int(time.time()) + 901
    assert seen == [2, 1, 0]
    limited = requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    assert limited.status_code == 429
    assert limited.headers["Content-Type"] == "application/json;charset=utf-8"
    assert limited.json() == {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert limited.headers["x-rate-limit-limit"] == "3"
    assert int(limited.headers["x-rate-limit-reset"]) == reset


def test_endpoints_are_counted_separately(sandbox, auth):
    for _ in range(3):
        requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    show = requests.get(f"{sandbox.base_url}{SHOW}", auth=auth, timeout=10,
                        params={"screen_name": "sandbox_user"})
    assert show.status_code == 200
    assert show.headers["x-rate-limit-limit"] == "5"
    assert show.headers["x-rate-limit-remaining"] == "4"


def test_tokens_are_counted_separately(sandbox, auth):
    from requests_oauthlib import OAuth1

    for _ in range(3):
        requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    assert requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10).status_code == 429
    app, user, _ = sandbox.state.ensure_demo()
    other = sandbox.state.issue_access_token(app.api_key, user.user_id)
    second = OAuth1(app.api_key, app.api_secret, other.token, other.secret)
    response = requests.get(f"{sandbox.base_url}{VERIFY}", auth=second, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-rate-limit-remaining"] == "2"


def test_upload_has_no_rate_limit_headers_by_default(sandbox, auth):
    response = requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                             files={"image": ("a.png", image_bytes("PNG", (32, 32)))})
    assert response.status_code == 200
    assert "x-rate-limit-limit" not in response.headers
    assert response.headers["x-access-level"] == "read-write"


def test_reset_control_clears_counters(sandbox, auth):
    for _ in range(3):
        requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    response = requests.get(f"{sandbox.base_url}{VERIFY}", auth=auth, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-rate-limit-remaining"] == "2"


def test_default_limits_are_xs():
    assert SandboxConfig().rate_limits == {"verify_credentials": 75, "users_show": 900}
    assert SandboxConfig().rate_window_s == 900


def test_window_restarts_after_it_ends():
    now = [1000.0]
    limiter = RateLimiter({"users_show": 2}, 900, clock=lambda: now[0])
    first = limiter.hit("t", "users_show")
    assert first is not None
    assert (first.remaining, first.reset, first.allowed) == (1, 1900, True)
    limiter.hit("t", "users_show")
    blocked = limiter.hit("t", "users_show")
    assert blocked is not None
    assert not blocked.allowed
    now[0] = 1900.0
    fresh = limiter.hit("t", "users_show")
    assert fresh is not None
    assert (fresh.remaining, fresh.reset, fresh.allowed) == (1, 2800, True)
    assert limiter.hit("t", "unlimited_endpoint") is None
