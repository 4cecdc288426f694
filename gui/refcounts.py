"""Work around PySide6 6.12 dropping references to None, True and False on Python 3.11.

Measured here (PySide6-Essentials 6.12.0, CPython 3.11.7): every call of a void Qt
method (``QLabel.setText``, ``QTimer.start``, ``QWidget.update``, ...) returns None
without taking a reference, so None's count falls by one per call; some bool returns do
the same to True/False. A busy window makes hundreds of thousands of such calls, and
CPython aborts with "Fatal Python error: none_dealloc" (100 000 ``setText`` calls are
enough). Python 3.12 made these objects immortal (PEP 683), which is why the bug does
not show there. Until PySide fixes it, we give the three objects a reference count so
large that no session can use it up — what 3.12 does by design.
"""

from __future__ import annotations

import ctypes
import sys

#: Added once to each count: 2**40 void calls is years of non-stop use.
PIN = 1 << 40

_done = False


def pin_singletons() -> bool:
    """Make None, True and False effectively immortal on Python < 3.12 (idempotent)."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field of every CPython object (Py_ssize_t).
        ctypes.c_ssize_t.from_address(id(obj)).value += PIN
    _done = True
    return True
