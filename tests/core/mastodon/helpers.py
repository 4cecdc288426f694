"""Shared helpers for the Mastodon tests: images, the authorize form, PKCE by hand."""

from __future__ import annotations

import base64
import hashlib
import io
import re

import requests
from PIL import Image

FORM_FIELD = re.compile(r"<input type='hidden' name='([^']+)' value='([^']*)'>")
CODE = re.compile(r"id='authorization-code'>([^<]+)<")


def png(size: tuple[int, int] = (600, 500), colour: tuple[int, int, int] = (200, 10, 10)
        ) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def animated_gif(size: tuple[int, int] = (120, 80), frames: int = 4,
                 durations: tuple[int, ...] = (80, 120, 160, 200)) -> bytes:
    """Frames of distinct solid colours with a white marker column at x=10."""
    images = []
    for i in range(frames):
        im = Image.new("RGB", size, (40 * i + 30, 200 - 40 * i, 90))
        for y in range(size[1]):
            im.putpixel((10, y), (255, 255, 255))
        images.append(im)
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:],
                   duration=list(durations[:frames]), loop=0, disposal=2)
    return buf.getvalue()


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def approve(http: requests.Session, authorize_url: str) -> requests.Response:
    """What a user does on the authorize page: press Authorize (no redirect followed)."""
    page = http.get(authorize_url)
    assert page.status_code == 200, page.text
    fields = dict(FORM_FIELD.findall(page.text))
    fields["decision"] = "approve"
    base = authorize_url.split("/oauth/", 1)[0]
    return http.post(f"{base}/oauth/authorize", data=fields, allow_redirects=False)
