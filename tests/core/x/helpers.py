"""Shared pieces of the X client tests: a sandbox, fast policies, test images, the PIN page."""

from __future__ import annotations

import io
import os
import random
from html.parser import HTMLParser

import requests
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.sandbox.state import AccessToken, App
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, RetryPolicy, XClient
from avatar_studio.core.services.x.refresh import PollPolicy
from PIL import Image

FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01, factor=2.0, max_delay_s=0.05)
FAST_POLL = PollPolicy(min_wait_s=0.05, first_interval_s=0.05, fast_polls=5, backoff=1.5,
                       max_interval_s=0.2, timeout_s=10.0)

#: Known secret strings for the leak test (long and distinctive: any hit is a real leak).
KNOWN = {
    "api_key": "KnownApiKey7f3c9e1d2b4a",
    "api_secret": "KnownApiSecret0a1b2c3d4e5f6a7b8c9d",
    "access_token": "999-KnownAccessToken5e6f7a8b9c0d",
    "access_secret": "KnownAccessSecret1122334455667788",
}


def noise_png(side: int = 300, seed: int = 1) -> bytes:
    """A PNG that does not compress: ~side*side*3 bytes, so uploads take many blocks."""
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def demo_client(server: SandboxServer, **kwargs: object) -> XClient:
    demo = server.demo
    options: dict[str, object] = {"retry": FAST_RETRY, "poll": FAST_POLL,
                                  "api_base": server.base_url}
    options.update(kwargs)
    return XClient(ConsumerKeys(demo.api_key, demo.api_secret),
                   AccessTokens(demo.access_token, demo.access_secret),
                   **options)  # type: ignore[arg-type]


def consumer_client(server: SandboxServer) -> XClient:
    demo = server.demo
    return XClient(ConsumerKeys(demo.api_key, demo.api_secret), api_base=server.base_url,
                   retry=FAST_RETRY, poll=FAST_POLL)


def add_known_account(server: SandboxServer) -> None:
    """Register an app and token with the KNOWN strings for the demo user."""
    demo = server.demo
    state = server.state
    with state.lock:
        state.apps[KNOWN["api_key"]] = App(api_key=KNOWN["api_key"],
                                          api_secret=KNOWN["api_secret"], name="Known App")
        state.access_tokens[KNOWN["access_token"]] = AccessToken(
            token=KNOWN["access_token"], secret=KNOWN["access_secret"],
            api_key=KNOWN["api_key"], user_id=int(demo.user_id))


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form_action: str | None = None
        self.inputs: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self._in_pin = 0
        self.pin_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form_action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self.buttons[a["id"] if "id" in a else a["name"]] = a["name"] + "=" + a.get(
                "value", "")
        if a.get("id") == "oauth_pin":
            self._in_pin = 1
        elif self._in_pin:
            self._in_pin += 1

    def handle_endtag(self, tag: str) -> None:
        if self._in_pin:
            self._in_pin -= 1

    def handle_data(self, data: str) -> None:
        if self._in_pin:
            self.pin_text += data


def authorize_in_browser(authorize_url: str, base_url: str) -> str:
    """Do what the user does: open the page, press "Authorize app", read the PIN."""
    with requests.Session() as browser:
        page = browser.get(authorize_url, timeout=10)
        page.raise_for_status()
        form = _PageParser()
        form.feed(page.text)
        assert form.form_action, "no form on the authorize page"
        name, _, value = form.buttons["allow"].partition("=")
        data = {**form.inputs, name: value}
        answer = browser.post(base_url + form.form_action, data=data, timeout=10)
        answer.raise_for_status()
    result = _PageParser()
    result.feed(answer.text)
    digits = "".join(ch for ch in result.pin_text if ch.isdigit())
    assert digits, "no PIN in id=oauth_pin"
    return digits


def files_under(*folders: os.PathLike[str]) -> list[str]:
    found = []
    for folder in folders:
        for root, _, names in os.walk(folder):
            found += [os.path.join(root, n) for n in names]
    return found
