"""The single source of the version (pyproject.toml reads it from here)."""

__version__ = "0.1.0"
APP_NAME = "Avatar Studio"
APP_ID = "io.github.avatarstudio.AvatarStudio"
DIST_NAME = "avatar-studio"
