"""Image pipeline: open anything, crop model, WYSIWYG render under a service's limits.

Modules: ``source`` (open and decode), ``colour`` (to 8-bit sRGB), ``crop`` (the pure-data
crop model), ``render`` (resample and result), ``encode`` (formats and byte limits),
``errors`` (typed, user-facing errors), ``scale`` (how far a render may reduce its
source), ``early`` (a JPEG decode the CLI begins before the rest has loaded).
"""
