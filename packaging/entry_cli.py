"""Frozen entry point of the command line (Qt-free: the spec keeps PySide6 out of it)."""

import sys

from avatar_studio.core.cli import main

sys.exit(main())
