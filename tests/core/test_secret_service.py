"""The real Secret Service that `make test` starts is there and works."""

from __future__ import annotations

import os
import uuid

import keyring
import pytest

in_session = pytest.mark.skipif(
    not os.environ.get("AVATAR_STUDIO_IN_KEYRING_SESSION"),
    reason="needs tests/harness/with-keyring.sh (make test runs the suite inside it)")


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
