"""Frozen entry point of the window: the same function as the ``avatar-studio`` script."""

import sys

from avatar_studio.gui.app import main

sys.exit(main())
