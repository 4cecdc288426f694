"""update_profile_image in every encoding real clients use, then X's asynchronous swap."""

from __future__ import annotations

import base64
import io
import re
import threading
import uuid
from collections.abc import Callable

import pytest
import requests
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer
from PIL import Image
from requests_oauthlib import OAuth1
from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata

from tests.core.sandbox.helpers import (
    FAST_DELAY,
    SHOW,
    UPLOAD,
    animated_gif,
    image_bytes,
    wait_for,
)

IMAGE_URL = re.compile(r"^http://127\.0\.0\.1:\d+/profile_images/(\d+)/([A-Za-z0-9_-]{8})"
                       r"_normal\.(png|jpg|gif)$")
SQUARES = {"_normal": 48, "_bigger": 73, "_mini": 24, "_200x200": 200, "_400x400": 400}

Uploader = Callable[[SandboxServer, OAuth1, bytes], requests.Response]


def multipart_with_type(sandbox: SandboxServer, auth: OAuth1, data: bytes) -> requests.Response:
    # tweepy 3 / Twitter4J: a part Content-Type, params in the query string.
    return requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                         params={"include_entities": "true", "skip_status": "true"},
                         files={"image": ("b'examples/pic.png'", data, "image/png")})


def multipart_without_type(sandbox: SandboxServer, auth: OAuth1, data: bytes) -> requests.Response:
    # tweepy 4 (requests): no Content-Type header on the part.
    return requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                         params={"skip_status": "True"}, files={"image": ("pic.png", data)})


def twurl_base64(sandbox: SandboxServer, auth: OAuth1, data: bytes) -> requests.Response:
    # twurl -b: base64 part with Content-Transfer-Encoding, and "multipart/form-data, boundary"
    # with a comma and a quoted boundary.
    text = base64.encodebytes(data)  # wrapped lines, as Ruby's Base64.encode64
    field = RequestField("image", text, filename="pic.png", headers={
        "Content-Type": "application/octet-stream", "Content-Transfer-Encoding": "base64"})
    field.make_multipart(content_disposition="form-data",
                         content_type="application/octet-stream")
    boundary = f"00Twurl{uuid.uuid4().hex}lruwT99"
    body, _ = encode_multipart_formdata([field], boundary=boundary)
    return requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10, data=body,
                         headers={"Content-Type": f'multipart/form-data, boundary="{boundary}"'})


def form_base64(sandbox: SandboxServer, auth: OAuth1, data: bytes) -> requests.Response:
    # python-twitter / codebird: form-urlencoded base64, every parameter signed.
    return requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10, data={
        "image": base64.b64encode(data).decode(), "include_entities": "1", "skip_status": "1",
        "tweet_mode": "compat"})


def multipart_text_base64(sandbox: SandboxServer, auth: OAuth1,
                          data: bytes) -> requests.Response:
    # A plain (non-file) multipart field holding base64 text.
    return requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                         files={"image": (None, base64.b64encode(data).decode())})


def query_base64(sandbox: SandboxServer, auth: OAuth1, data: bytes) -> requests.Response:
    # The 2015 docs example put the image in the query string (fine while it is small).
    return requests.post(f"{sandbox.base_url}{UPLOAD}", auth=auth, timeout=10,
                         params={"image": base64.b64encode(data).decode()})


def current_url(sandbox: SandboxServer, auth: OAuth1) -> str:
    response = requests.get(f"{sandbox.base_url}{SHOW}", auth=auth, timeout=10,
                            params={"user_id": sandbox.demo.user_id})
    assert response.status_code == 200
    url: str = response.json()["profile_image_url_https"]
    return url


def wait_for_new_url(sandbox: SandboxServer, auth: OAuth1, old: str) -> str:
    return wait_for(lambda: (url if (url := current_url(sandbox, auth)) != old else None),
                    what="the new profile image URL")


def fetch(url: str) -> Image.Image:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    img = Image.open(io.BytesIO(response.content))
    img.load()
    return img


def variant_url(normal_url: str, suffix: str) -> str:
    return normal_url.replace("_normal.", f"{suffix}.")


@pytest.mark.parametrize("upload", [multipart_with_type, multipart_without_type, twurl_base64,
                                    multipart_text_base64, form_base64])
def test_upload_answers_old_url_then_swaps_after_processing(sandbox, auth, upload: Uploader):
    old = current_url(sandbox, auth)
    assert "/sticky/default_profile_images/default_profile_normal.png" in old

    response = upload(sandbox, auth, image_bytes("PNG", (800, 600)))
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    body = response.json()
    assert body["profile_image_url_https"] == old  # processing is asynchronous
    assert body["default_profile_image"] is True
    assert body["id_str"] == sandbox.demo.user_id

    new = wait_for_new_url(sandbox, auth, old)
    assert IMAGE_URL.match(new), new
    assert IMAGE_URL.match(new).group(3) == "png"  # type: ignore[union-attr]
    shown = requests.get(f"{sandbox.base_url}{SHOW}", auth=auth, timeout=10,
                         params={"screen_name": "sandbox_user"}).json()
    assert shown["default_profile_image"] is False
    assert shown["profile_image_url"] == new

    # Every variant X serves, at its size; the original was scaled to 400 px wide.
    for suffix, side in SQUARES.items():
        img = fetch(variant_url(new, suffix))
        assert img.size == (side, side), suffix
        assert img.format == "PNG"
    original = fetch(variant_url(new, ""))
    assert original.size == (400, 300)
    assert original.convert("RGB").getpixel((10, 10)) == (200, 30, 30)


def test_small_query_string_image_is_accepted(sandbox, auth):
    old = current_url(sandbox, auth)
    response = query_base64(sandbox, auth, image_bytes("PNG", (64, 64)))
    assert response.status_code == 200, response.text
    new = wait_for_new_url(sandbox, auth, old)
    assert fetch(variant_url(new, "")).size == (64, 64)  # never scaled up
    assert fetch(variant_url(new, "_400x400")).size == (400, 400)


def test_jpeg_gets_jpg_extension_and_type(sandbox, auth):
    old = current_url(sandbox, auth)
    assert multipart_without_type(sandbox, auth,
                                  image_bytes("JPEG", (300, 500))).status_code == 200
    new = wait_for_new_url(sandbox, auth, old)
    assert new.endswith("_normal.jpg")
    response = requests.get(variant_url(new, "_bigger"), timeout=10)
    assert response.headers["Content-Type"] == "image/jpeg"
    assert fetch(variant_url(new, "")).size == (300, 500)  # not wider than 400: kept


def test_animated_gif_becomes_its_first_frame(sandbox, auth):
    old = current_url(sandbox, auth)
    assert multipart_without_type(sandbox, auth, animated_gif()).status_code == 200
    new = wait_for_new_url(sandbox, auth, old)
    assert new.endswith("_normal.gif")
    for suffix in ("", "_normal", "_400x400"):
        img = fetch(variant_url(new, suffix))
        assert getattr(img, "n_frames", 1) == 1
        assert img.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(processing_delay=FAST_DELAY, old_url_ttl_s=0.5)


def test_old_url_stops_working_after_a_change(sandbox, auth):
    default = current_url(sandbox, auth)
    multipart_without_type(sandbox, auth, image_bytes("PNG", (100, 100), (0, 0, 255)))
    first = wait_for_new_url(sandbox, auth, default)
    multipart_without_type(sandbox, auth, image_bytes("PNG", (100, 100), (0, 255, 0)))
    second = wait_for_new_url(sandbox, auth, first)
    assert IMAGE_URL.match(first).group(1) != IMAGE_URL.match(second).group(1)  # type: ignore[union-attr]
    assert requests.get(second, timeout=10).status_code == 200
    wait_for(lambda: requests.get(first, timeout=10).status_code == 404,
             what="the replaced image's URL to expire")
    assert requests.get(variant_url(first, "_400x400"), timeout=10).status_code == 404
    assert requests.get(default, timeout=10).status_code == 200  # the shared default stays


def test_stalled_processing_never_swaps_until_released(sandbox, auth):
    sandbox.faults.stall_processing(True)
    old = current_url(sandbox, auth)
    assert multipart_without_type(sandbox, auth, image_bytes()).status_code == 200
    # Nothing to await here: give the worker several processing delays to misbehave.
    threading.Event().wait(4 * FAST_DELAY)
    assert current_url(sandbox, auth) == old
    status = requests.get(f"{sandbox.base_url}/_sandbox/status", timeout=10).json()
    assert status["processing"]["pending"] == 1
    assert status["faults"]["stall_processing"] is True
    sandbox.faults.stall_processing(False)
    assert wait_for_new_url(sandbox, auth, old) != old
