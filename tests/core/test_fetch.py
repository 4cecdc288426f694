"""core.fetch against a real loopback HTTP server."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from avatar_studio.core import http
from avatar_studio.core.fetch import (
    FetchCancelled,
    FetchError,
    FetchLimits,
    fetch_image,
    is_web_url,
    sniff_image_kind,
)
from PIL import Image


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, body: bytes, ctype: str, length: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/cat.png":
            self._send(PNG, "image/png")
        elif self.path == "/octet":
            self._send(PNG, "application/octet-stream")
        elif self.path == "/page":
            self._send(b"<html><body>hi</body></html>", "text/html; charset=utf-8")
        elif self.path == "/liar":
            self._send(b"<html>not an image</html>", "image/jpeg")
        elif self.path == "/declared-big":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(10_000_000))
            self.end_headers()
        elif self.path == "/streamed-big":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no length: HTTP/1.0 style, ends at close
            for _ in range(40):
                self.wfile.write(PNG[:8] + b"\0" * 4096)
        elif self.path == "/elsewhere":
            # Another origin (a name, not the address), over plain http, as CDNs do.
            port = self.server.server_address[1]  # type: ignore[index]
            self.send_response(302, "Found")
            self.send_header("Location", f"http://localhost:{port}/cat.png")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG[:8])
            self.wfile.flush()
            self.server.release.wait(10)  # type: ignore[attr-defined]
        else:
            self.send_response(404, "Not Found")
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.release = threading.Event()  # type: ignore[attr-defined]
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.release.set()  # type: ignore[attr-defined]
    srv.shutdown()
    srv.server_close()
    t.join(5)


def test_downloads_and_sniffs_an_image(server: str) -> None:
    seen: list[tuple[int, int]] = []
    got = fetch_image(f"{server}/cat.png", progress=lambda a, b: seen.append((a, b)))
    assert got.data == PNG
    assert got.kind == "PNG"
    assert got.name == "cat.png"
    assert seen[-1] == (len(PNG), len(PNG))


def test_content_is_trusted_over_the_header(server: str) -> None:
    assert fetch_image(f"{server}/octet").kind == "PNG"
    with pytest.raises(FetchError, match="not an image"):
        fetch_image(f"{server}/liar")


def test_web_page_is_refused_with_a_clear_message(server: str) -> None:
    with pytest.raises(FetchError, match="a web page, not an image"):
        fetch_image(f"{server}/page")


def test_size_cap_by_header_and_while_streaming(server: str) -> None:
    limits = FetchLimits(max_bytes=50_000)
    with pytest.raises(FetchError, match="too large"):
        fetch_image(f"{server}/declared-big", limits=limits)
    with pytest.raises(FetchError, match="too large"):
        fetch_image(f"{server}/streamed-big", limits=limits)


def test_read_timeout(server: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match=r"did not answer|broke off|longer than"):
        fetch_image(f"{server}/slow", limits=FetchLimits(read_timeout_s=0.3))
    assert time.monotonic() - start < 5


def test_http_error_and_bad_scheme(server: str) -> None:
    with pytest.raises(FetchError, match="404"):
        fetch_image(f"{server}/missing.png")
    with pytest.raises(FetchError, match="Only http and https"):
        fetch_image("ftp://example.com/a.png")


def test_connection_refused_names_the_host() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens there any more
    with pytest.raises(FetchError, match=f"127.0.0.1:{port}"):
        fetch_image(f"http://127.0.0.1:{port}/x.png")


def test_credentials_in_a_link_stay_out_of_messages_and_logs(
        server: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="avatar_studio")
    with_login = server.replace("http://", "http://me:hunter2@")
    with pytest.raises(FetchError, match=r"127\.0\.0\.1") as answered:
        fetch_image(f"{with_login}/missing.png?token=s3cr3t")
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_address[1]
    srv.server_close()  # nothing listens there any more
    with pytest.raises(FetchError, match=f"127.0.0.1:{port}") as refused:
        fetch_image(f"http://me:hunter2@127.0.0.1:{port}/x.png?token=s3cr3t")
    assert any("127.0.0.1" in r.getMessage() for r in caplog.records)
    for text in (str(answered.value), str(refused.value), caplog.text):
        assert "hunter2" not in text
        assert "s3cr3t" not in text


def test_cancel_stops_the_download(server: str) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FetchCancelled):
        fetch_image(f"{server}/cat.png", cancel=cancel)


@pytest.mark.parametrize(("data", "kind"), [
    (b"\xff\xd8\xff\xe0....", "JPEG"), (b"GIF89a...", "GIF"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "WEBP"), (b"\0\0\0\x1cftypavif", "AVIF"),
    (b"\0\0\0\x18ftypheic", "HEIC"), (b"<!doctype html>", None), (b"", None)])
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff_image_kind(data) == kind


def test_is_web_url() -> None:
    assert is_web_url("https://example.com/a.jpg")
    assert not is_web_url("file:///tmp/a.jpg")
    assert not is_web_url("https://")


def test_a_redirect_to_another_plain_http_origin_is_followed(server: str) -> None:
    # What a browser's link may do; the API clients' sessions refuse it.
    assert fetch_image(f"{server}/elsewhere").data == PNG
    with http.BoundedSession() as session, pytest.raises(http.UnsafeRedirect):
        session.get(f"{server}/elsewhere")


def test_plain_http_to_any_address(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The address counts as remote here: the API clients' sessions would refuse it.
    monkeypatch.setattr(http, "is_loopback_ip", lambda address: False)
    assert fetch_image(f"{server}/cat.png").data == PNG
    with http.BoundedSession() as session, pytest.raises(http.PlainHttpNotLoopback):
        session.get(f"{server}/cat.png")


def test_cancel_ends_a_download_the_server_has_stopped_sending(server: str) -> None:
    cancel = threading.Event()
    # The user gives up a moment after the server stopped sending (it never resumes
    # within the test: /slow waits for the fixture's release).
    user = threading.Timer(0.3, cancel.set)
    user.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchCancelled):
            fetch_image(f"{server}/slow", cancel=cancel,
                        limits=FetchLimits(read_timeout_s=30, total_timeout_s=60))
    finally:
        user.cancel()
    assert time.monotonic() - started < 5
