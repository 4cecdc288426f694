from __future__ import annotations

from collections.abc import Iterator

import pytest
from avatar_studio.core.credentials import MemoryBackend
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer

from tests.core.x.keyrings import using_keyring


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """The sandbox over real loopback HTTP, processing uploads after 0.3 s."""
    with SandboxServer(SandboxConfig(processing_delay=0.3)) as server:
        yield server


@pytest.fixture
def memory_keyring() -> Iterator[MemoryBackend]:
    """keyring's default backend replaced by a process-local one for this test."""
    backend = MemoryBackend()
    with using_keyring(backend):
        yield backend
