"""Test configuration shared by the whole suite.

* The offscreen Qt platform is chosen before any QApplication exists (unless the
  Makefile asked for xcb under Xvfb).
* Every test gets its own config, state and cache folders under tmp_path.
* Our own log records at WARNING or above fail a test unless it declares them with
  ``caplog.at_level`` / the ``expect_log`` fixture (as qutebrowser's logfail does).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")

from avatar_studio.core import paths


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory,
                  monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("appdirs")
    dirs = {"config": base / "config", "state": base / "state", "cache": base / "cache"}
    monkeypatch.setenv(paths.CONFIG_ENV, str(dirs["config"]))
    monkeypatch.setenv(paths.STATE_ENV, str(dirs["state"]))
    monkeypatch.setenv(paths.CACHE_ENV, str(dirs["cache"]))
    return dirs


class _FailOnWarning(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("avatar_studio", "qt")):
            self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_log_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    handler = _FailOnWarning()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if request.node.get_closest_marker("allow_log_warnings") is None and handler.records:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in handler.records)
        pytest.fail(f"unexpected log records at WARNING or above:\n{lines}", pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_log_warnings: the test expects our code to log warnings")
