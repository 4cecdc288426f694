"""Accounts of several services: @name and SERVICE:@name, ambiguity, rotated secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from avatar_studio.core.accounts import AccountNotFound, Accounts, identity_for
from avatar_studio.core.credentials import SERVICE_NAME, CredentialStore, MemoryBackend
from avatar_studio.core.services.base import (
    Identity,
    Secret,
    SecretCallback,
    SignedInAccount,
)
from avatar_studio.core.settings import AccountRecord


class RotatingSession:
    """Stands in for a session whose tokens rotate (Bluesky's refresh token)."""

    def __init__(self, secret: Secret, on_change: SecretCallback | None) -> None:
        self.current = secret
        self.on_change = on_change

    def rotate(self) -> None:
        self.current = self.current.replace(token=self.current["token"] + "-next")
        assert self.on_change is not None
        self.on_change(self.current)


class RotatingService:
    key = "rot"

    def open_session(self, identity: Identity, secret: Secret, *,
                     on_secret_changed: SecretCallback | None = None) -> RotatingSession:
        return RotatingSession(secret, on_secret_changed)

    def upgrade_secret(self, data: Mapping[str, Any]) -> Secret:
        return Secret("rot", {"token": str(data["token"])})


SERVICES: dict[str, Any] = {"rot": RotatingService()}


def _add(accounts: Accounts, service: str, handle: str, account_id: str) -> AccountRecord:
    secret = Secret(service, {"token": f"tok-{account_id}-abcd"})
    return accounts.add(SignedInAccount(
        Identity(service, f"https://{service}.example", account_id, handle), secret))


@pytest.fixture
def accounts() -> Accounts:
    store = CredentialStore(MemoryBackend(), services=SERVICES.__getitem__)
    return Accounts(store, services=SERVICES.__getitem__)


def test_names_with_and_without_the_service(accounts: Accounts) -> None:
    x_alice = _add(accounts, "x", "@alice", "1")
    m_alice = _add(accounts, "mastodon", "@alice@example.social", "2")
    bob = _add(accounts, "bluesky", "@bob.bsky.social", "3")
    assert accounts.find("x:@alice") == x_alice
    assert accounts.find("X:alice") == x_alice
    assert accounts.find("mastodon:@alice@example.social") == m_alice
    assert accounts.find("@alice@example.social") == m_alice
    assert accounts.find("@BOB.bsky.social") == bob
    assert accounts.find("bluesky:bob.bsky.social") == bob
    assert accounts.find(m_alice.key) == m_alice
    with pytest.raises(AccountNotFound, match="several accounts") as caught:
        accounts.find("@alice")
    assert caught.value.hint is not None
    assert "x:@alice" in caught.value.message
    assert "@alice@example.social" in caught.value.message
    with pytest.raises(AccountNotFound, match="No signed-in account is called"):
        accounts.find("bluesky:@alice")
    with pytest.raises(AccountNotFound) as listed:
        accounts.find("@carol")
    # The hint names each account so that it can be typed back.
    assert listed.value.hint == ("Signed in: x:@alice, @alice@example.social, "
                                 "@bob.bsky.social")
    assert accounts.find(service="bluesky") == bob
    assert accounts.find_many(["@bob.bsky.social", "x:@alice", "bluesky:@bob.bsky.social"]) \
        == [bob, x_alice]


def test_record_matching_rules() -> None:
    record = AccountRecord("mastodon", "https://example.social", "9", "@user@example.social")
    assert record.label == "mastodon:@user@example.social"
    assert record.matches("@user")  # the short form, when unambiguous
    assert record.matches("USER@example.social")
    assert not record.matches("x:@user")
    assert not record.matches("@")
    assert not record.matches("@use")
    assert identity_for(record).handle == "@user@example.social"


def test_a_rotated_secret_is_written_back_before_it_is_used(accounts: Accounts) -> None:
    record = _add(accounts, "rot", "@r", "5")
    session = accounts.open_session(record)
    assert isinstance(session, RotatingSession)
    session.rotate()
    backend = accounts.store.backend()
    stored = json.loads(backend.get_password(SERVICE_NAME, record.key) or "{}")
    assert stored == {"v": 2, "service": "rot", "token": "tok-5-abcd-next"}
    assert accounts.store.load(record)["token"] == "tok-5-abcd-next"
