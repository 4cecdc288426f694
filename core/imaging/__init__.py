"""Image pipeline: open anything, crop model, WYSIWYG render under a service's limits."""
