"""Logging for the window and the command line: stderr plus a rotating file.

The file (0600, in a 0700 folder: it names the user's files and accounts) gets
everything, libraries and Python warnings included. Without --debug, stderr gets only our
own warnings and errors, one short ``warning: ...`` line each: library noise and
tracebacks go to the file. With --debug stderr gets every record in full.

Importing this module and routing warnings stay cheap: paths (platformdirs), safefile and
the file handler (``logfile``, logging.handlers) load only when a log file is set up, so
``avatar-studio-cli render`` can start decoding its input before the rest has loaded.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from pathlib import Path

LOG_FILE_NAME = "avatar-studio.log"
#: Our own loggers' prefix; records from any other logger are library noise on stderr.
OWN_LOGGER = "avatar_studio"
#: ``log.error(..., extra={STREAM_OFF: True})`` keeps a record (with its traceback) out of
#: stderr: the caller prints its own one line there.
STREAM_OFF = "avatar_studio_file_only"

# These libraries log OAuth base strings, signatures and headers at DEBUG: they stay at
# WARNING even with --debug so no secret reaches a log.
_QUIET_LOGGERS = ("oauthlib", "requests_oauthlib", "urllib3", "PIL", "werkzeug", "keyring")


_FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def log_file() -> Path:
    from avatar_studio.core import paths

    return paths.log_dir() / LOG_FILE_NAME


class _Backlog(logging.Handler):
    """Holds the records logged before the log file is opened (see ``file_later``)."""

    LIMIT = 10_000

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) < self.LIMIT:
            self.records.append(record)


class _ConsoleFilter(logging.Filter):
    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, STREAM_OFF, False):
            return False
        return self.debug or record.name.split(".", 1)[0] == OWN_LOGGER


class _ConsoleFormatter(logging.Formatter):
    """``warning: message`` (no traceback: that is in the log file)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _log_warning(message: Warning | str, category: type[Warning], filename: str,
                 lineno: int, file: TextIO | None = None, line: str | None = None) -> None:
    logging.getLogger("py.warnings").info(
        "%s", warnings.formatwarning(message, category, filename, lineno, line).rstrip())


def route_warnings_to_log() -> None:
    """Python warnings (with their file paths) go to the log, not to the user's stderr.

    Call inside ``warnings.catch_warnings()`` to undo it on exit.
    """
    warnings.simplefilter("default")
    warnings.showwarning = _log_warning


def setup_logging(*, debug: bool = False, to_file: bool = True,
                  stream_level: int | None = None, file_later: bool = False) -> Path | None:
    """Configure the root logger once; return the log file path (None if not writable).

    With ``file_later`` the file is opened by :func:`attach_log_file` (the window calls it
    off the GUI thread after its first paint: opening it imports ``logging.handlers``,
    ~13 ms); what is logged until then is kept and written there first. The returned
    path is then where the log will be.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_avatar_studio", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    fmt = logging.Formatter(_FILE_FORMAT)

    stream = logging.StreamHandler(sys.stderr)
    stream.setLevel(stream_level if stream_level is not None
                    else (logging.DEBUG if debug else logging.WARNING))
    stream.setFormatter(fmt if debug else _ConsoleFormatter())
    stream.addFilter(_ConsoleFilter(debug))
    stream._avatar_studio = True  # type: ignore[attr-defined]
    root.addHandler(stream)

    written: Path | None = None
    if to_file and file_later:
        backlog = _Backlog()
        backlog._avatar_studio = True  # type: ignore[attr-defined]
        root.addHandler(backlog)
        written = log_file()
    elif to_file:
        added = _add_file_handler(root, fmt)
        written = added[0] if added is not None else None
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return written


def _add_file_handler(root: logging.Logger,
                      fmt: logging.Formatter) -> tuple[Path, logging.Handler] | None:
    from avatar_studio.core import safefile
    from avatar_studio.core.logfile import PrivateRotatingFileHandler

    path = log_file()
    try:
        safefile.ensure_dir(path.parent, private=True)
        file_handler = PrivateRotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError as exc:
        logging.getLogger(__name__).warning("Cannot write the log file %s: %s", path, exc)
        return None
    file_handler.setFormatter(fmt)
    file_handler.setLevel(logging.DEBUG)
    file_handler._avatar_studio = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    return path, file_handler


def attach_log_file() -> Path | None:
    """Open the log file that ``setup_logging(file_later=True)`` left for later and write
    into it what was logged meanwhile; the path, or None when it cannot be written.
    Safe from any thread (logging's handlers are)."""
    root = logging.getLogger()
    backlogs = [h for h in root.handlers if isinstance(h, _Backlog)]
    if not backlogs:
        return None
    # The file first, then the backlog goes: no record of another thread is lost between.
    opened = time.time()
    added = _add_file_handler(root, logging.Formatter(_FILE_FORMAT))
    for backlog in backlogs:
        root.removeHandler(backlog)
        if added is not None:
            for record in backlog.records:
                if record.created < opened:  # later ones went to the file already
                    added[1].handle(record)
        backlog.close()
    return added[0] if added is not None else None


def file_only(**extra: Any) -> dict[str, Any]:
    """``extra=`` for a record that must stay out of stderr."""
    return {STREAM_OFF: True, **extra}
