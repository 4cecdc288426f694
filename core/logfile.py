"""The log file's handler: rotating, created 0600 (rotated files keep that mode).

Its own module so that ``logsetup`` stays cheap to import: logging.handlers (~13 ms) and
safefile load only when a log file is set up; the window does that off the GUI thread
after its first paint (:func:`avatar_studio.core.logsetup.attach_log_file`).
"""

from __future__ import annotations

import io
import logging.handlers
import os
import stat
from pathlib import Path

from avatar_studio.core import safefile


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0600 (rotated files keep that mode)."""

    def _open(self) -> io.TextIOWrapper:
        # Never through a link, never blocking on a FIFO, never into a device.
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND
                     | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise safefile.NotARegularFile(Path(self.baseFilename),
                                               safefile.describe(st.st_mode))
            os.set_blocking(fd, True)
            os.fchmod(fd, 0o600)  # a log written by an older release was 0644
        except BaseException:
            os.close(fd)
            raise
        stream = open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115
        assert isinstance(stream, io.TextIOWrapper)
        return stream
