"""The Qt window: thin widgets plus the glue that runs core work off the GUI thread."""
