from __future__ import annotations

import logging
from pathlib import Path

from avatar_studio.core.logsetup import setup_logging


def test_file_log_in_state_dir_and_oauthlib_silenced(isolated_dirs: dict[str, Path]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
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
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
        root.setLevel(level)
