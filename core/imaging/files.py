"""Reading a source file: once, read-only, within a byte budget; and the budgets.

No Pillow here: ``avatar-studio-cli render`` reads its input on one core while Pillow
loads on the other (core/cli/render.py, ``start``).
"""

from __future__ import annotations

import os
from pathlib import Path

from avatar_studio.core.imaging.errors import FileTooLarge, FileUnreadable, MissingFile, NotAFile

#: Source files larger than this are refused (the default of SourceLimits.max_bytes).
MAX_BYTES = 200 * 1024 * 1024
#: Images with more pixels are refused before any is decoded (SourceLimits.max_pixels).
#: Kept below Pillow's own decompression-bomb threshold (about 89 MP) so that our
#: message, with the dimensions, is the one users see.
MAX_PIXELS = 80_000_000


def read_source(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES
                ) -> tuple[bytes, str]:
    """The bytes of the image file at ``path`` and its name for messages; raises the
    user-facing error for a missing, unreadable, too large or not regular file."""
    p = Path(path)
    name = p.name or str(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MissingFile(f"{name}: no such file") from None
    except OSError as exc:
        raise FileUnreadable(f"{name}: cannot read it ({exc.strerror or exc})") from None
    if p.is_dir():
        raise NotAFile(f"{name} is a folder, not an image file")
    if not p.is_file():
        raise NotAFile(f"{name} is not a regular file")
    if st.st_size > max_bytes:
        raise FileTooLarge(f"{name} is {mb(st.st_size)}; images up to {mb(max_bytes)} "
                           "can be opened")
    try:
        # Opened read-only; read at most one byte past the budget in case it grew.
        with open(p, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileUnreadable(f"{name}: cannot read it ({exc.strerror or exc})") from None
    return data, name


def mb(n: int) -> str:
    """A byte count for messages."""
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"
