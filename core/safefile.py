"""The one way the app writes (and reads back) the user's files.

``write_file(path, data)`` replaces ``path`` atomically:

* Regular files only. A target that is a device, FIFO, socket or folder is refused with
  :class:`NotARegularFile` (nothing is written, the node stays as it was): ``render -o
  /dev/null`` does not replace /dev/null, and does not pretend to have written a file
  either. A symlink is followed to the regular file it names, which is replaced in its
  own folder; the link stays a link. A dangling link is refused (as ``cp`` does).
* The temporary file sits beside the target, under a short name that always fits the
  file system's NAME_MAX (a valid 250-character target name works), is flushed and
  fsync'ed before the rename, and the folder is fsync'ed after it.
* A writer killed mid-write (kill -9) leaves its temporary file; the next write in that
  folder deletes every leftover one. A temp file belongs to a live writer for as long as
  that writer holds an ``flock`` on it, so only orphans are deleted.
* ``private=True`` (settings, logs, state: anything in the user's own folders) creates
  the file 0600 and missing folders 0700. Otherwise a new file gets the mode a plain
  ``open()`` would give it, and a replaced file keeps its mode.

``read_file(path, max_bytes)`` is the matching reader: it never blocks on a FIFO, never
reads a device (a symlink to /dev/zero), and never reads more than ``max_bytes``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from pathlib import Path

#: Temporary files end with this; only such files are ever cleaned up.
TEMP_SUFFIX = ".as-tmp"
#: Bytes of the target name kept in a temp name (the rest is ".", 8 hex, suffix).
_NAME_BYTES = 32
#: A temp file younger than this is left alone even when unlocked (its writer may not
#: have locked it yet).
_STALE_AFTER_S = 2.0


class NotARegularFile(OSError):
    """The target exists and is not a regular file (or a link to one)."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{path} is {kind}, not a regular file", str(path))
        self.path = path
        self.kind = kind

    def __str__(self) -> str:
        return str(self.strerror)


class TooLarge(OSError):
    """A file read with ``read_file`` is larger than its budget."""


def describe(mode: int) -> str:
    """'a folder', 'a FIFO', ... for an ``st_mode``."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode):
        return "a regular file"
    return "not a file"


def resolve_target(path: Path) -> Path:
    """The regular file a write to ``path`` replaces (symlinks followed)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(st.st_mode):
        real = Path(os.path.realpath(path))
        try:
            st = os.stat(real)
        except FileNotFoundError:
            raise NotARegularFile(path, "a link to a missing file") from None
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(path, f"a link to {describe(st.st_mode)}")
        return real
    if not stat.S_ISREG(st.st_mode):
        raise NotARegularFile(path, describe(st.st_mode))
    return path


def ensure_dir(folder: Path, *, private: bool = False) -> None:
    """Create ``folder`` (and parents); private folders are 0700."""
    if private:
        missing = []
        probe = folder
        while not probe.exists() and probe != probe.parent:
            missing.append(probe)
            probe = probe.parent
        for part in reversed(missing):
            with contextlib.suppress(FileExistsError):
                part.mkdir(mode=0o700)
        # An existing folder of ours may predate this rule.
        if folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) & 0o077:
            with contextlib.suppress(OSError):
                os.chmod(folder, 0o700)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, f"{folder} is not a folder", str(folder))


def _temp_name(target: Path) -> str:
    raw = target.name.encode("utf-8", "surrogateescape")[:_NAME_BYTES]
    stem = raw.decode("utf-8", "ignore")  # never half a character
    return f".{stem}.{os.urandom(4).hex()}{TEMP_SUFFIX}"


def clean_stale_temps(folder: Path) -> int:
    """Delete temp files in ``folder`` whose writer is gone; return how many."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not (entry.name.startswith(".") and entry.name.endswith(TEMP_SUFFIX)):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < _STALE_AFTER_S:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live writer holds it
            continue
        try:
            os.unlink(entry.path)
            removed += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the file itself is synced
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_file(path: str | os.PathLike[str], data: bytes, *, private: bool = False) -> Path:
    """Atomically make ``path`` hold ``data``; return the file really written."""
    target = resolve_target(Path(path))
    folder = target.parent if str(target.parent) else Path(".")
    ensure_dir(folder, private=private)
    clean_stale_temps(folder)
    if private:
        mode = 0o600
    else:
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
    tmp = folder / _temp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # ours until closed: clean_stale_temps skips it
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if mode != 0o600:
            os.fchmod(fd, mode)
        os.fsync(fd)
        # Checked again just before the rename: the target may have been swapped for a
        # FIFO or device while we wrote.
        resolve_target(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    _fsync_dir(folder)
    return target


def write_text(path: str | os.PathLike[str], text: str, *, private: bool = False) -> Path:
    return write_file(path, text.encode("utf-8"), private=private)


def read_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path`` (symlinks followed), at most ``max_bytes``.

    Raises FileNotFoundError, NotARegularFile (FIFO, device, folder: never blocks, never
    reads them), TooLarge, or another OSError.
    """
    p = Path(path)
    st = os.stat(p)  # devices and FIFOs are refused before they are even opened
    if not stat.S_ISREG(st.st_mode):
        raise NotARegularFile(p, describe(st.st_mode))
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(p, describe(st.st_mode))
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise TooLarge(errno.EFBIG, f"{p} is larger than {max_bytes:,} bytes", str(p))
        return b"".join(chunks)
    finally:
        os.close(fd)
