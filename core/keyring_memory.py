"""An in-process keyring backend: "use for this session only", and unit tests.

Its own module because it subclasses keyring's backend class: ``credentials`` imports it
(and keyring) only when a secret is first needed, not when the window starts.
"""

from __future__ import annotations

import threading

import keyring.backend
import keyring.errors


class NotViable:
    """A ``priority`` that raises on class access: keyring then never picks the backend."""

    def __get__(self, obj: object, owner: type | None = None) -> float:
        raise RuntimeError("this backend is only used when passed in explicitly")


class MemoryBackend(keyring.backend.KeyringBackend):
    """Secrets in this process only: "use for this session only", and unit tests."""

    # Every KeyringBackend subclass is a candidate for keyring's automatic choice (and
    # for its chainer, which would silently fall back to memory when the real keyring
    # fails): a priority that raises makes this class "not viable", so it is only ever
    # used when passed in explicitly.
    priority = NotViable()

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._values: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get_password(self, service: str, username: str) -> str | None:
        with self._lock:
            return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._lock:
            self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._lock:
            if self._values.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError("no such secret")
