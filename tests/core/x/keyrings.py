"""Small keyring backends that fail the way real ones do, for the tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.backend
import keyring.errors
from avatar_studio.core.credentials import NotViable


@contextmanager
def using_keyring(backend: keyring.backend.KeyringBackend) -> Iterator[None]:
    """keyring's default backend replaced by ``backend`` inside the block."""
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield
    finally:
        keyring.set_keyring(previous)


class _Failing(keyring.backend.KeyringBackend):
    priority = NotViable()  # never keyring's automatic choice in other tests
    error: type[Exception] = RuntimeError
    text = "failure"

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def _raise(self) -> None:
        raise self.error(self.text)

    def get_password(self, service: str, username: str) -> str | None:
        self._raise()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._raise()

    def delete_password(self, service: str, username: str) -> None:
        self._raise()


class NoBackend(_Failing):
    """What keyring raises when no Secret Service runs."""

    error = keyring.errors.NoKeyringError
    text = "No recommended backend was available."


class LockedBackend(_Failing):
    """A keyring that stays locked (the user dismissed the unlock prompt)."""

    error = keyring.errors.KeyringLocked
    text = "Failed to unlock the collection!"


class ExplodingBackend(_Failing):
    """A backend that fails with its own exception type, echoing what it was given."""

    error = RuntimeError


class PlaintextKeyring(keyring.backend.KeyringBackend):
    """Looks like keyrings.alt's file backend: must be refused, never written to."""

    priority = NotViable()  # never keyring's automatic choice in other tests

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.written: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self.written.append(password)

    def delete_password(self, service: str, username: str) -> None:
        pass
