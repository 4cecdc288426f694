"""Fixtures: a real Mastodon sandbox on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.server import MastodonSandbox


@pytest.fixture
def sandbox_config() -> MastodonSandboxConfig:
    return MastodonSandboxConfig()


@pytest.fixture
def sandbox(sandbox_config: MastodonSandboxConfig) -> Iterator[MastodonSandbox]:
    with MastodonSandbox(sandbox_config) as server:
        yield server


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def bearer(sandbox: MastodonSandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.demo.access_token}"}
