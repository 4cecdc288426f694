"""Fixtures: a real sandbox on a free loopback port, and OAuth1 signers for its demo user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer
from requests_oauthlib import OAuth1

from tests.core.sandbox.helpers import FAST_DELAY


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(processing_delay=FAST_DELAY)


@pytest.fixture
def sandbox(config: SandboxConfig) -> Iterator[SandboxServer]:
    server = SandboxServer(config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def auth(sandbox: SandboxServer) -> OAuth1:
    demo = sandbox.demo
    return OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
