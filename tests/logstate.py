"""The root logger put back as it was after a test that configures logging."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def restored_root_logging() -> Iterator[logging.Logger]:
    """Yield the root logger; afterwards remove (and close) the handlers added meanwhile
    and restore its level."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield root
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
