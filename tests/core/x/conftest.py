from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from avatar_studio.core.credentials import MemoryBackend
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox over real loopback HTTP, processing uploads after 0.3 s."""
    with SandboxServer(SandboxConfig(processing_delay=0.3)) as server:
        yield server


@pytest.fixture
def memory_keyring() -> Iterator[MemoryBackend]:
    """keyring's default backend replaced by a process-local one for this test."""
    previous = keyring.get_keyring()
    backend = MemoryBackend()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
