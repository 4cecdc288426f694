"""Keep native decoder libraries from writing on the user's terminal.

libtiff prints its warnings and errors ("ZIPDecode: Decoding error at scanline 0", ...)
straight to the process's stderr, beside our one ``error:`` line, through handlers that
are process-wide. Pillow learns of every failure from libtiff's return codes and raises,
and the image module turns that into a DamagedImage with its own message, so the printed
copy is pure noise: the handlers are switched off once, in the libtiff Pillow loaded.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_done: list[bool] = []


def _loaded_library(fragment: str) -> str | None:
    """The path of a shared library already mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                path = line.rsplit(" ", 1)[-1].strip()
                if fragment in os.path.basename(path) and ".so" in path:
                    return path
    except OSError:
        return None
    return None


def silence_libtiff() -> bool:
    """Switch libtiff's stderr handlers off (once); True if they are off."""
    with _lock:
        if _done:
            return _done[0]
        ok = False
        try:
            from PIL import _imaging  # noqa: F401 - maps Pillow's libtiff into the process

            path = _loaded_library("libtiff")
            if path is not None:
                # RTLD_NOLOAD: the copy Pillow uses, never a second one.
                lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
                for name in ("TIFFSetWarningHandler", "TIFFSetErrorHandler"):
                    func = getattr(lib, name)
                    func.restype = ctypes.c_void_p
                    func.argtypes = [ctypes.c_void_p]
                    func(None)
                ok = True
        except (OSError, AttributeError, ImportError) as exc:
            log.info("libtiff diagnostics stay on stderr: %s", exc)
        _done.append(ok)
        return ok
