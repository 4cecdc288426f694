"""Choosing accounts quickly: the last choice wins, whatever order the keyring answers in."""

from __future__ import annotations

import threading

from avatar_studio.core.accounts import Accounts
from avatar_studio.core.credentials import CredentialStore, MemoryBackend
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, SignedIn, XUser
from avatar_studio.gui.accounts import AccountManager
from avatar_studio.gui.tasks import TaskRunner

from tests.gui.helpers import fast_client

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


def _signed_in(user_id: str, name: str) -> SignedIn:
    user = XUser(user_id=user_id, screen_name=name, name=name.title(),
                 profile_image_url_https="", default_profile_image=True)
    return SignedIn(user, AccessTokens(f"token-{user_id}", f"secret-{user_id}"))


def test_a_slow_earlier_choice_does_not_override_the_last(qtbot) -> None:
    keyring = SlowKeyring()
    store = CredentialStore(keyring)
    saved = Accounts(store)
    first = saved.add(_signed_in("1", "first"), ConsumerKeys("key", "secret"), NOWHERE)
    second = saved.add(_signed_in("2", "second"), ConsumerKeys("key", "secret"), NOWHERE)
    runner = TaskRunner()
    manager = AccountManager(store, runner, fast_client)
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
