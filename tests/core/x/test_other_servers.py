"""Answers the sandbox does not give but X may: a 201 without a body, an HTML error page."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, XClient
from avatar_studio.core.services.x.errors import ServerError
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from tests.core.x.helpers import FAST_RETRY

USER = {"id": 5, "id_str": "5", "screen_name": "five", "name": "Five",
        "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/a_normal.png",
        "default_profile_image": False}


@Request.application
def _app(request: Request) -> Response:
    if request.path == "/1.1/account/update_profile_image.json":
        request.files.get("image")  # read the body like a server would
        for f in request.files.values():
            f.close()
        return Response(b"", status=201, content_type="text/html;charset=utf-8")
    if request.path == "/1.1/account/verify_credentials.json":
        return Response(json.dumps(USER), content_type="application/json;charset=utf-8")
    return Response("<html><title>502 Bad Gateway</title><body>nginx</body></html>",
                    status=502, content_type="text/html")


@pytest.fixture
def server() -> Iterator[str]:
    srv: BaseWSGIServer = make_server("127.0.0.1", 0, _app)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join()
        srv.server_close()


def _client(base: str) -> XClient:
    return XClient(ConsumerKeys("key", "secret"), AccessTokens("1-token", "tsecret"),
                   api_base=base, retry=FAST_RETRY)


def test_201_without_body_is_success(server: str) -> None:
    steps: list[int] = []
    with _client(server) as client:
        user = client.upload_profile_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 40000,
                                           mime_type="image/png", filename="a.png",
                                           progress=lambda s, t: steps.append(s))
    assert user.screen_name == "five"  # learned from verify_credentials afterwards
    assert steps[-1] > 40000


def test_html_error_page_is_read_without_markup(server: str) -> None:
    with _client(server) as client, pytest.raises(ServerError) as exc:
        client.show_user("5")
    assert exc.value.status == 502
    assert "502 Bad Gateway" in exc.value.message
    assert "<" not in exc.value.message
