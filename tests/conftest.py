"""Test configuration shared by the whole suite.

* The offscreen Qt platform is chosen before any QApplication exists (unless the
  Makefile asked for xcb under Xvfb).
* Every test gets its own config, state and cache folders under tmp_path.
* Our own log records at WARNING or above fail a test unless it declares them: the
  ``expect_log`` fixture (``with expect_log("WARNING", "unreadable"):`` — the block must
  log a matching record, and only those are let through), or the ``allow_log_warnings``
  mark for a whole test (as qutebrowser's logfail does).
* Hypothesis keeps no example database in the checkout (the suite writes nothing there).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.configuration import set_hypothesis_home_dir

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")

from avatar_studio.core import paths

# No ".hypothesis/" in the checkout: no example database, and Hypothesis' other files
# (its constants cache) go to a temporary folder.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "avatar-studio-hypothesis")
hypothesis_settings.register_profile("avatar-studio", database=None)
hypothesis_settings.load_profile("avatar-studio")


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


_handler_key = pytest.StashKey[_FailOnWarning]()


@pytest.fixture(autouse=True)
def fail_on_log_warnings(request: pytest.FixtureRequest) -> Iterator[None]:
    handler = _FailOnWarning()
    request.node.stash[_handler_key] = handler
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if request.node.get_closest_marker("allow_log_warnings") is None and handler.records:
        lines = "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in handler.records)
        pytest.fail(f"unexpected log records at WARNING or above:\n{lines}", pytrace=False)


ExpectLog = Callable[..., contextlib.AbstractContextManager[list[logging.LogRecord]]]


@pytest.fixture
def expect_log(request: pytest.FixtureRequest,
               fail_on_log_warnings: None) -> ExpectLog:
    """``with expect_log(level, pattern, logger="avatar_studio"):`` — the block must log
    at least one record at ``level`` whose message matches ``pattern`` (re.search);
    those records are expected and do not fail the test, any other warning still does.
    The context gives the matching records."""
    handler = request.node.stash[_handler_key]

    @contextlib.contextmanager
    def expect(level: str | int, pattern: str, *,
               logger: str = "avatar_studio") -> Iterator[list[logging.LogRecord]]:
        wanted = logging.getLevelName(level) if isinstance(level, str) else level
        start = len(handler.records)
        matched: list[logging.LogRecord] = []
        yield matched
        fresh = handler.records[start:]
        for record in fresh:
            if (record.levelno == wanted and record.name.startswith(logger)
                    and re.search(pattern, record.getMessage())):
                matched.append(record)
        if not matched:
            seen = "; ".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in fresh)
            pytest.fail(f"expected a {logging.getLevelName(wanted)} record matching "
                        f"{pattern!r} from {logger}; got: {seen or 'none'}", pytrace=False)
        del handler.records[start:]
        handler.records.extend(r for r in fresh if r not in matched)

    return expect


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_log_warnings: the test expects our code to log warnings")
