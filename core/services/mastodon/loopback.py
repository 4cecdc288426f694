"""A one-shot listener on ``http://127.0.0.1:<free port>/callback`` (RFC 8252 §7.3).

It answers the browser's redirect with a small "you can close this tab" page, hands the
query to the waiting sign-in, and stops. Anything else on the port gets a 404.
"""

from __future__ import annotations

import html
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

log = logging.getLogger(__name__)

PATH = "/callback"
_DONE = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
         "<title>Avatar Studio</title></head><body style='font-family:sans-serif'>"
         "<h1 id='result'>{title}</h1><p>{text}</p></body></html>")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != PATH:
            self.send_error(404)
            return
        query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        ok = self.server.listener.deliver(query)
        if ok:
            title, text = ("Signed in", "Avatar Studio has the answer. You can close this "
                           "tab and go back to Avatar Studio.")
        else:
            title, text = ("Sign-in refused", "This answer does not belong to the sign-in "
                           "Avatar Studio started. You can close this tab.")
        body = _DONE.format(title=html.escape(title), text=html.escape(text)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # The query holds the code: log the path only.
        log.debug("loopback %s", self.command)


class _Server(HTTPServer):
    def __init__(self, listener: LoopbackListener) -> None:
        self.listener = listener
        super().__init__(("127.0.0.1", 0), _Handler)


class LoopbackListener:
    """Start it, put ``redirect_uri`` in the authorization request, ``wait()``."""

    def __init__(self, expected_state: str) -> None:
        self._state = expected_state
        self._result: dict[str, str] | None = None
        self._mismatch = False
        self._done = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._serve, name="mastodon-loopback",
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def _serve(self) -> None:
        with self._server:
            while not self._done.is_set():
                self._server.timeout = 0.1
                self._server.handle_request()

    def deliver(self, query: dict[str, str]) -> bool:
        """From the handler: True when the state is ours (the flow then ends)."""
        if query.get("state") != self._state:
            log.warning("A redirect with a foreign state reached the sign-in listener")
            self._mismatch = True
            self._done.set()
            return False
        self._result = query
        self._done.set()
        return True

    def wait(self, timeout_s: float, cancel: threading.Event | None = None
             ) -> dict[str, str] | None:
        """The redirect's query; None on timeout or cancel. ValueError on a foreign state."""
        deadline_step = 0.1
        waited = 0.0
        while waited < timeout_s:
            if self._done.wait(deadline_step):
                break
            waited += deadline_step
            if cancel is not None and cancel.is_set():
                break
        if self._mismatch:
            raise ValueError("state mismatch")
        return self._result

    def close(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
