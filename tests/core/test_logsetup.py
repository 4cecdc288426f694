from __future__ import annotations

import logging
from pathlib import Path

from avatar_studio.core.logsetup import attach_log_file, setup_logging

from tests.logstate import restored_root_logging


def test_file_log_in_state_dir_and_oauthlib_silenced(isolated_dirs: dict[str, Path]) -> None:
    with restored_root_logging() as root:
        path = setup_logging(debug=True)
        assert path is not None
        assert path.parent == isolated_dirs["state"] / "log"
        logging.getLogger("avatar_studio.test").info("hello from the test")
        logging.getLogger("oauthlib.oauth1").debug("Base signing string: SECRET")
        for h in root.handlers:
            h.flush()
        text = path.read_text(encoding="utf-8")
        assert "hello from the test" in text
        assert "SECRET" not in text


def test_a_log_file_opened_later_gets_what_was_logged_before_once(
        isolated_dirs: dict[str, Path]) -> None:
    """The window opens its log file after its first paint (issue 15): nothing logged
    before is lost, nothing is written twice, and stderr still works meanwhile."""
    with restored_root_logging() as root:
        path = setup_logging(file_later=True)
        assert path is not None
        assert not path.exists()  # not yet opened
        logging.getLogger("avatar_studio.test").info("before the file")
        assert attach_log_file() == path
        logging.getLogger("avatar_studio.test").info("after the file")
        assert attach_log_file() is None  # once only
        for h in root.handlers:
            h.flush()
        lines = path.read_text(encoding="utf-8").splitlines()
        assert [line.split(": ", 1)[1] for line in lines] == ["before the file",
                                                             "after the file"]
        assert path.stat().st_mode & 0o777 == 0o600
