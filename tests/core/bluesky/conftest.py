"""Fixtures: a real Bluesky PDS sandbox on a free loopback port, and helpers to call it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from avatar_studio.core.sandbox.bluesky import BlueskySandbox, BlueskySandboxConfig
from PIL import Image


@pytest.fixture
def pds_config() -> BlueskySandboxConfig:
    return BlueskySandboxConfig()


@pytest.fixture
def pds(pds_config: BlueskySandboxConfig) -> Iterator[BlueskySandbox]:
    sandbox = BlueskySandbox(pds_config)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def png_bytes(size: tuple[int, int] = (40, 40), colour: tuple[int, int, int] = (200, 30, 30)
              ) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def xrpc(http: requests.Session, pds: BlueskySandbox, nsid: str, *,
         token: str | None = None, json: Any = None, params: Any = None,
         data: bytes | None = None, content_type: str | None = None,
         method: str | None = None) -> requests.Response:
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if content_type:
        headers["Content-Type"] = content_type
    verb = method or ("POST" if json is not None or data is not None else "GET")
    return http.request(verb, f"{pds.base_url}/xrpc/{nsid}", headers=headers, json=json,
                        params=params, data=data, timeout=10)


def login(http: requests.Session, pds: BlueskySandbox, **extra: Any) -> dict[str, Any]:
    demo = pds.demo
    response = xrpc(http, pds, "com.atproto.server.createSession",
                    json={"identifier": demo.handle, "password": demo.app_password, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
