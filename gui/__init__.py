"""The Qt window: thin widgets plus the glue that runs core work off the GUI thread."""

from avatar_studio.gui.refcounts import pin_singletons

# Before any Qt call: see refcounts.py (PySide6 6.12 on Python 3.11 drops references).
pin_singletons()
