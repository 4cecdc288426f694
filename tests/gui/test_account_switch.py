"""Choosing accounts quickly: the last choice wins, whatever order the keyring answers in."""

from __future__ import annotations

import threading

from avatar_studio.core.accounts import Accounts
from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.services.base import Identity, Secret, SignedInAccount
from avatar_studio.gui.accounts import AccountManager
from avatar_studio.gui.tasks import TaskRunner

from tests.gui.helpers import fast_services

#: Nothing listens here: the profile refresh after a switch fails fast, unseen.
NOWHERE = "http://127.0.0.1:9"


class SlowKeyring(MemoryBackend):
    """Memory secrets; reading ``slow_user``'s waits until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.slow_user = ""
        self.reading = threading.Event()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        if username == self.slow_user:
            self.reading.set()
            self.release.wait(10)
        return super().get_password(service, username)


def _signed_in(user_id: str, name: str) -> SignedInAccount:
    return SignedInAccount(
        Identity("x", NOWHERE, user_id, f"@{name}", name.title()),
        Secret("x", {"api_key": "key-1234", "api_secret": "secret-1234",
                     "access_token": f"token-{user_id}", "access_secret": f"secret-{user_id}"}))


def test_a_slow_earlier_choice_does_not_override_the_last(qtbot) -> None:
    keyring = SlowKeyring()
    store = CredentialStore(keyring, services=fast_services)
    saved = Accounts(store, services=fast_services)
    first = saved.add(_signed_in("1", "first"))
    second = saved.add(_signed_in("2", "second"))
    runner = TaskRunner()
    manager = AccountManager(store, runner, fast_services)
    try:
        keyring.slow_user = first.key
        manager.select(first.key)
        assert keyring.reading.wait(5)
        with qtbot.waitSignal(manager.current_changed, timeout=5_000):
            manager.select(second.key)
        assert manager.current is not None
        assert manager.current.record.key == second.key
        with qtbot.waitSignal(runner.busy_changed, check_params_cb=lambda b: b is False,
                              timeout=10_000):
            keyring.release.set()
        assert manager.current is not None
        assert manager.current.record.key == second.key
    finally:
        keyring.release.set()
        runner.shutdown()
