"""Small helpers shared by the sandbox tests."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from PIL import Image

T = TypeVar("T")

#: Processing delay used by the tests' sandboxes (seconds).
FAST_DELAY = 0.2
UPLOAD = "/1.1/account/update_profile_image.json"
VERIFY = "/1.1/account/verify_credentials.json"
SHOW = "/1.1/users/show.json"


def wait_for(condition: Callable[[], T | None], *, timeout: float = 10.0,
             interval: float = 0.02, what: str = "condition") -> T:
    """Poll ``condition`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        pause.wait(interval)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (800, 600),
                color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def animated_gif(size: tuple[int, int] = (120, 80)) -> bytes:
    """Three frames: red, green, blue."""
    frames = [Image.new("RGB", size, c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()
