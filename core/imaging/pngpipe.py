"""A PNG decoded on two cores: zlib-ng inflates its IDAT data on one thread while
Pillow's PNG decoder unfilters on the other.

Pillow's decoder does both in one pass, with the system zlib (1.2.13 here): on a
4000 × 4000 RGBA photo ~390 ms of inflate and ~380 of unfiltering, one after the other.
Here a producer thread inflates with zlib-ng (~280 ms) and re-wraps every ~1 MiB it gets
as *stored* deflate blocks (level 0: a copy and a checksum, ~35 ms in all) in IDAT chunks
of their own; Pillow reads the PNG through :class:`_PipedPng`, a file whose IDAT chunks
are those, and its decoder only copies the stored blocks while it unfilters. Both
libraries release the GIL, so the two run at once: the decode takes about the longer of
the two. Pillow decodes exactly what it would have (same pixels, same checks, same
errors for a damaged or truncated file); only the file it reads differs.

Used for a still PNG with at least :data:`MIN_IDAT_BYTES` of image data; :func:`open_piped`
returns None for anything else (an APNG, a small file, no zlib-ng), and the caller opens
the file as usual.
"""

from __future__ import annotations

import io
import logging
import queue
import struct
import threading
from typing import IO, TYPE_CHECKING, cast

if TYPE_CHECKING:
    from PIL import PngImagePlugin

log = logging.getLogger(__name__)

#: Below this much IDAT data a second thread costs more than it saves.
MIN_IDAT_BYTES = 1 << 20
#: Inflated bytes per re-wrapped IDAT chunk (and Pillow's read size): small, for memory.
PIECE = 1 << 18
#: Pieces inflated ahead of the decoder: with PIECE, about a MiB in flight.
AHEAD = 4
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ANIMATION = (b"acTL", b"fcTL", b"fdAT")


def _chunks(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """(type, data offset, length) of every chunk, or None if the framing is broken
    (the usual decode then reports it)."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    out: list[tuple[bytes, int, int]] = []
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = bytes(data[pos + 4:pos + 8])
        if pos + 12 + length > len(data):
            return None
        out.append((kind, pos + 8, length))
        pos += 12 + length
        if kind == b"IEND":
            break
    return out


def open_piped(data: bytes) -> PngImagePlugin.PngImageFile | None:
    """``data`` (a whole PNG file) opened to decode on two cores, or None when this does
    not apply: then open it as usual. The pixel count is not checked here (the caller
    checked it when the file was first opened)."""
    try:
        from zlib_ng import zlib_ng  # noqa: F401 - only to know it is there
    except ImportError:  # pragma: no cover - a dependency; a broken install falls back
        return None
    from PIL import PngImagePlugin
    chunks = _chunks(data)
    if chunks is None or any(kind in _ANIMATION for kind, _, _ in chunks):
        return None
    idat = [(offset, length) for kind, offset, length in chunks if kind == b"IDAT"]
    if not idat or sum(length for _, length in idat) < MIN_IDAT_BYTES:
        return None
    first = idat[0][0] - 8
    last = idat[-1][0] + idat[-1][1] + 4
    # Between the first IDAT and the last there must be only IDAT chunks (the PNG rule).
    if any(kind != b"IDAT" and first < offset < last for kind, offset, _ in chunks):
        return None
    # A file object as far as Pillow goes (read, seek, tell); typing wants IO[bytes].
    reader = cast("IO[bytes]", _PipedPng(data, first, last, idat))
    im = PngImagePlugin.PngImageFile(reader)
    im.decodermaxblock = max(im.decodermaxblock, PIECE)
    return im


def _inflate(data: bytes, idat: list[tuple[int, int]], out: queue.Queue[object],
             abandoned: threading.Event) -> None:
    """The producer: IDAT data inflated and re-wrapped as stored-block IDAT chunks, then
    None; an exception object if the data is damaged. Stops when the reader is gone."""
    from zlib_ng import zlib_ng

    def put(item: object) -> bool:
        while not abandoned.is_set():
            try:
                out.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def chunk(raw: bytes, *, final: bool) -> bytes:
        body = wrap.compress(raw) + wrap.flush(zlib_ng.Z_FINISH if final
                                                else zlib_ng.Z_SYNC_FLUSH)
        crc = zlib_ng.crc32(body, zlib_ng.crc32(b"IDAT"))
        return struct.pack(">I", len(body)) + b"IDAT" + body + struct.pack(">I", crc)

    try:
        inflate = zlib_ng.decompressobj()
        wrap = zlib_ng.compressobj(0)
        view = memoryview(data)
        pending: list[bytes] = []
        size = 0
        for offset, length in idat:
            raw = inflate.decompress(view[offset:offset + length])
            if raw:
                pending.append(raw)
                size += len(raw)
            if size >= PIECE:
                if not put(chunk(b"".join(pending), final=False)):
                    return
                pending, size = [], 0
        pending.append(inflate.flush())
        if put(chunk(b"".join(pending), final=True)):
            put(None)
    except Exception as exc:  # noqa: BLE001 - handed to the reader, which raises it
        put(exc)


class _PipedPng(io.RawIOBase):
    """The PNG file as Pillow reads it: the original bytes before the first IDAT chunk
    and after the last, and in between the producer's re-wrapped IDAT chunks. Reads
    only forwards (Pillow seeks only to where it already is)."""

    def __init__(self, data: bytes, first: int, last: int,
                 idat: list[tuple[int, int]]) -> None:
        super().__init__()
        view = memoryview(data)
        self._parts: list[memoryview | None] = [view[:first], None, view[last:]]
        self._queue: queue.Queue[object] = queue.Queue(maxsize=AHEAD)
        self._abandoned = threading.Event()
        self._buffer = memoryview(b"")
        self._pos = 0
        # The thread holds no reference to this reader: when Pillow drops it, close()
        # runs and the producer stops.
        threading.Thread(target=_inflate, args=(data, idat, self._queue, self._abandoned),
                         name="png-inflate", daemon=True).start()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (whence, offset) in ((io.SEEK_SET, self._pos), (io.SEEK_CUR, 0)):
            return self._pos
        raise io.UnsupportedOperation("this PNG reader only reads forwards")

    def _next(self) -> bool:
        """The next run of bytes into the buffer; False at the end."""
        while self._parts:
            part = self._parts[0]
            if part is not None:
                self._parts.pop(0)
                self._buffer = part
                return True
            item = self._queue.get()
            if item is None:
                self._parts.pop(0)
                continue
            if isinstance(item, BaseException):
                self._parts = []
                raise OSError(f"broken PNG image data ({item})") from item
            assert isinstance(item, bytes)
            self._buffer = memoryview(item)
            return True
        return False

    def read(self, size: int | None = -1) -> bytes:
        want = size if size is not None and size >= 0 else 1 << 62
        out: list[bytes] = []
        while want > 0 and (self._buffer or self._next()):
            take = self._buffer[:want]
            self._buffer = self._buffer[len(take):]
            out.append(bytes(take))
            want -= len(take)
        data = b"".join(out)
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._abandoned.set()
        super().close()
