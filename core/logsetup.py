"""Logging for the window and the command line: stderr plus a rotating file."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from avatar_studio.core import paths

LOG_FILE_NAME = "avatar-studio.log"

# These libraries log OAuth base strings, signatures and headers at DEBUG: they stay at
# WARNING even with --debug so no secret reaches a log.
_QUIET_LOGGERS = ("oauthlib", "requests_oauthlib", "urllib3", "PIL", "werkzeug", "keyring")


def log_file() -> Path:
    return paths.log_dir() / LOG_FILE_NAME


def setup_logging(*, debug: bool = False, to_file: bool = True,
                  stream_level: int | None = None) -> Path | None:
    """Configure the root logger once; return the log file path (None if not writable)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_avatar_studio", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(stream_level if stream_level is not None
                    else (logging.DEBUG if debug else logging.WARNING))
    stream.setFormatter(fmt)
    stream._avatar_studio = True  # type: ignore[attr-defined]
    root.addHandler(stream)

    written: Path | None = None
    if to_file:
        path = log_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        except OSError as exc:
            logging.getLogger(__name__).warning("Cannot write the log file %s: %s", path, exc)
        else:
            file_handler.setFormatter(fmt)
            file_handler.setLevel(logging.DEBUG)
            file_handler._avatar_studio = True  # type: ignore[attr-defined]
            root.addHandler(file_handler)
            written = path
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return written
