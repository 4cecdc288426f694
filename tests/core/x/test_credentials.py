"""Secrets live in the keyring only; every keyring failure is named, none is a file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from avatar_studio.core.accounts import AccountNotFound, Accounts
from avatar_studio.core.credentials import (
    SERVICE_NAME,
    CredentialStore,
    KeyringUnavailable,
    MemoryBackend,
    SecretsMissing,
)
from avatar_studio.core.services.base import Identity, Secret, SignedInAccount
from avatar_studio.core.settings import AccountRecord, load_settings

from tests.core.x.keyrings import ExplodingBackend, LockedBackend, NoBackend, PlaintextKeyring
from tests.secret_service import in_session

SECRETS = Secret("x", {"api_key": "key-AAAA", "api_secret": "secret-BBBB",
                       "access_token": "1-token-CCCC", "access_secret": "token-secret-DDDD"})


def _record(name: str = "alice", user_id: str = "1") -> AccountRecord:
    return AccountRecord(service="x", api_base="http://127.0.0.1:1", account_id=user_id,
                         handle=f"@{name}", display_name=name.title())


def _signed_in(name: str = "alice", user_id: str = "1",
               api_base: str = "http://127.0.0.1:1") -> SignedInAccount:
    return SignedInAccount(Identity("x", api_base, user_id, f"@{name}", name.title(),
                                    "https://x/p_normal.png"), SECRETS)


def test_memory_round_trip_and_one_small_json_secret() -> None:
    backend = MemoryBackend()
    store = CredentialStore(backend)
    record = _record()
    store.save(record, SECRETS)
    raw = backend.get_password(SERVICE_NAME, record.key)
    assert raw is not None
    assert len(raw) < 2560
    assert json.loads(raw)["access_secret"] == SECRETS["access_secret"]
    assert store.load(record) == SECRETS
    assert store.delete(record) is True
    assert store.delete(record) is False
    with pytest.raises(SecretsMissing):
        store.load(record)


def test_secrets_never_in_repr() -> None:
    text = repr(SECRETS) + repr(_signed_in())
    for value in SECRETS.values.values():
        assert value not in text


def test_damaged_secret_is_reported_not_crashed() -> None:
    backend = MemoryBackend()
    record = _record()
    backend.set_password(SERVICE_NAME, record.key, '{"api_key": 1}')
    with pytest.raises(SecretsMissing, match="damaged"):
        CredentialStore(backend).load(record)


@pytest.mark.parametrize(("backend", "words"), [
    (NoBackend(), "no keyring service"),
    (keyring.backends.fail.Keyring(), "no keyring service"),  # type: ignore[no-untyped-call]
    (LockedBackend(), "locked"),
    (ExplodingBackend(), "RuntimeError"),
])
def test_keyring_failures_are_named(backend: keyring.backend.KeyringBackend,
                                    words: str) -> None:
    store = CredentialStore(backend)
    for call in (lambda: store.save(_record(), SECRETS), lambda: store.load(_record()),
                 lambda: store.delete(_record())):
        with pytest.raises(KeyringUnavailable) as exc:
            call()
        assert words in str(exc.value)
        assert "session only" in str(exc.value) or "Unlock" in str(exc.value)
        assert exc.value.exit_code == KeyringUnavailable.exit_code


def test_backend_error_text_is_not_repeated() -> None:
    class Echo(ExplodingBackend):
        text = f"could not store {SECRETS.to_json()}"

    with pytest.raises(KeyringUnavailable) as exc:
        CredentialStore(Echo()).save(_record(), SECRETS)
    assert SECRETS["access_secret"] not in str(exc.value)


def test_plaintext_backend_is_refused_and_never_written() -> None:
    backend = PlaintextKeyring()
    with pytest.raises(KeyringUnavailable, match="file"):
        CredentialStore(backend).save(_record(), SECRETS)
    assert backend.written == []


def test_locked_keyring_then_session_only(isolated_dirs: dict[str, Path]) -> None:
    accounts = Accounts(CredentialStore(LockedBackend()))
    with pytest.raises(KeyringUnavailable, match="locked"):
        accounts.add(_signed_in(api_base="http://127.0.0.1:1"))
    # Nothing was listed without its secret.
    assert load_settings().accounts == []
    accounts.store.use_memory_for_session()
    record = accounts.add(_signed_in(api_base="http://127.0.0.1:1"))
    assert accounts.resolve("@alice").secret == SECRETS
    assert [a.key for a in accounts.list()] == [record.key]
    # Session-only accounts are not written to the settings file either.
    assert load_settings().accounts == []
    assert not (isolated_dirs["config"] / "settings.json").exists()


def test_accounts_add_find_remove(isolated_dirs: dict[str, Path]) -> None:
    backend = MemoryBackend()
    accounts = Accounts(CredentialStore(backend))
    with pytest.raises(AccountNotFound, match="No account"):
        accounts.find()
    alice = accounts.add(_signed_in("alice", "1", api_base="http://127.0.0.1:1"))
    bob = accounts.add(_signed_in("bob", "2", api_base="http://127.0.0.1:1"))
    assert accounts.find() == bob  # the last signed in
    assert accounts.find("@ALICE") == alice
    with pytest.raises(AccountNotFound, match="@carol"):
        accounts.find("@carol")
    text = (isolated_dirs["config"] / "settings.json").read_text()
    assert "alice" in text
    for value in SECRETS.values.values():
        assert value not in text
    accounts.remove(bob)
    assert backend.get_password(SERVICE_NAME, bob.key) is None
    assert [a.handle for a in accounts.list()] == ["@alice"]
    assert accounts.find() == alice


def test_sign_out_with_broken_keyring_still_drops_the_entry(
        isolated_dirs: dict[str, Path]) -> None:
    good = CredentialStore(MemoryBackend())
    Accounts(good).add(_signed_in(api_base="http://127.0.0.1:1"))
    broken = Accounts(CredentialStore(NoBackend()))
    record = broken.find("@alice")
    with pytest.raises(KeyringUnavailable, match="may still be in the keyring"):
        broken.remove(record)
    assert load_settings().accounts == []


@in_session
def test_real_secret_service_round_trip() -> None:
    store = CredentialStore()
    assert "SecretService" in store.describe()
    record = _record(f"probe{uuid.uuid4().hex[:8]}", uuid.uuid4().hex)
    store.save(record, SECRETS)
    try:
        # Stored under our service name, keyed by the account key, as one JSON value.
        raw = keyring.get_password(SERVICE_NAME, record.key)
        assert raw is not None
        assert json.loads(raw)["api_key"] == SECRETS["api_key"]
        assert CredentialStore().load(record) == SECRETS
    finally:
        assert store.delete(record) is True
    assert keyring.get_password(SERVICE_NAME, record.key) is None


def test_find_by_api_base(isolated_dirs: dict[str, Path]) -> None:
    accounts = Accounts(CredentialStore(MemoryBackend()))
    real = accounts.add(_signed_in("alice", "1", api_base="https://api.x.com"))
    local = accounts.add(_signed_in("alice", "1", api_base="http://127.0.0.1:8400"))
    assert real.key != local.key  # same user id, different servers: two accounts
    assert accounts.find("@alice", api_base="https://api.x.com") == real
    assert accounts.find(api_base="http://127.0.0.1:8400") == local
    with pytest.raises(AccountNotFound, match=r"on http://127\.0\.0\.1:1\."):
        accounts.find(api_base="http://127.0.0.1:1")
