"""The real Secret Service that `make test` starts is there and works."""

from __future__ import annotations

import uuid

import keyring

from tests.secret_service import in_session


@in_session
def test_real_secret_service_round_trip() -> None:
    backend = keyring.get_keyring()
    assert type(backend).__module__ == "keyring.backends.SecretService"
    user = f"probe-{uuid.uuid4().hex}"
    keyring.set_password("avatar-studio-test", user, "s3cret")
    try:
        assert keyring.get_password("avatar-studio-test", user) == "s3cret"
    finally:
        keyring.delete_password("avatar-studio-test", user)
    assert keyring.get_password("avatar-studio-test", user) is None
