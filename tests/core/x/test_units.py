"""Pure helpers of the client: base URL rules, picture variants, poll schedule, body."""

from __future__ import annotations

import threading

import pytest
from avatar_studio.core.http import BodyCancelled, ProgressBody
from avatar_studio.core.services.x.client import (
    user_from_json,
    validate_api_base,
)
from avatar_studio.core.services.x.errors import InvalidApiBase, UnexpectedResponse
from avatar_studio.core.services.x.refresh import PollPolicy, variant_url
from avatar_studio.core.services.x.spec import PROCESSING_MIN_WAIT_S


@pytest.mark.parametrize(("given", "expected"), [
    ("https://api.x.com", "https://api.x.com"),
    ("https://api.x.com/", "https://api.x.com"),
    ("http://127.0.0.1:8400", "http://127.0.0.1:8400"),
    ("http://localhost:8400/", "http://localhost:8400"),
    ("http://[::1]:9000", "http://[::1]:9000"),
    ("https://proxy.example/x-api/", "https://proxy.example/x-api"),
])
def test_api_base_accepted(given: str, expected: str) -> None:
    assert validate_api_base(given) == expected


@pytest.mark.parametrize("given", [
    "http://api.x.com", "http://192.168.1.5:8400", "ftp://127.0.0.1", "api.x.com",
    "https://", "https://api.x.com/?a=b", "http://127.0.0.1:99999",
])
def test_api_base_refused(given: str) -> None:
    with pytest.raises(InvalidApiBase):
        validate_api_base(given)


@pytest.mark.parametrize(("url", "variant", "expected"), [
    ("https://pbs.twimg.com/profile_images/1354479643882004483/Btnfm47p_normal.jpg",
     "400x400", "https://pbs.twimg.com/profile_images/1354479643882004483/Btnfm47p_400x400.jpg"),
    ("https://pbs.twimg.com/profile_images/1111729635610382336/_65QFl7B_normal.png",
     "400x400", "https://pbs.twimg.com/profile_images/1111729635610382336/_65QFl7B_400x400.png"),
    ("https://pbs.twimg.com/profile_images/1111729635610382336/_65QFl7B_normal.png",
     None, "https://pbs.twimg.com/profile_images/1111729635610382336/_65QFl7B.png"),
    ("https://pbs.twimg.com/profile_images/1/_65QFl7B.png", "400x400",
     "https://pbs.twimg.com/profile_images/1/_65QFl7B_400x400.png"),
    ("http://127.0.0.1:8400/profile_images/7/abc_bigger", None,
     "http://127.0.0.1:8400/profile_images/7/abc"),
])
def test_variant_url(url: str, variant: str | None, expected: str) -> None:
    assert variant_url(url, variant) == expected


def test_poll_schedule_starts_at_one_second_and_backs_off_to_five() -> None:
    policy = PollPolicy()
    intervals = [policy.interval(n) for n in range(1, 30)]
    assert intervals[0] == 1.0
    assert intervals == sorted(intervals)
    assert max(intervals) == 5.0
    assert policy.min_wait_s == PROCESSING_MIN_WAIT_S
    assert policy.timeout_s == 120.0
    # About two minutes of polling stays far below users/show's 900 calls per window.
    total, polls = policy.min_wait_s, 0
    while total < policy.timeout_s:
        polls += 1
        total += policy.interval(polls)
    assert polls < 40


def test_progress_body_reports_sent_blocks_and_cancels() -> None:
    seen: list[tuple[int, int]] = []
    body = ProgressBody(b"x" * 10, lambda s, t: seen.append((s, t)))
    assert len(body) == 10
    assert body.read(4) == b"xxxx"
    assert seen == []  # nothing is "sent" until the next read
    assert body.read(4) == b"xxxx"
    assert body.read(4) == b"xx"
    assert body.read(4) == b""
    assert seen == [(4, 10), (8, 10), (10, 10)]

    cancel = threading.Event()
    body = ProgressBody(b"y" * 10, lambda s, t: cancel.set(), cancel)
    body.read(4)
    with pytest.raises(BodyCancelled):
        body.read(4)


def test_user_from_json() -> None:
    user = user_from_json({"id": 7, "screen_name": "a", "name": "A",
                           "profile_image_url_https": "https://x/y_normal.png",
                           "default_profile_image": False})
    assert (user.user_id, user.screen_name, user.handle) == ("7", "a", "@a")
    with pytest.raises(UnexpectedResponse):
        user_from_json({"screen_name": "a"})
    with pytest.raises(UnexpectedResponse):
        user_from_json(["not", "a", "user"])
