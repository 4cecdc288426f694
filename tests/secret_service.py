"""Marks tests that use the real Secret Service started by tests/harness/with-keyring.sh."""

from __future__ import annotations

import os

import pytest

#: `make test` runs the whole suite inside the harness; a bare `pytest` skips these.
in_session = pytest.mark.skipif(
    not os.environ.get("AVATAR_STUDIO_IN_KEYRING_SESSION"),
    reason="needs tests/harness/with-keyring.sh (make test runs the suite inside it)")
