"""Typed errors for images: one short message each, written for the user.

Exit codes 10-19 belong to images (see README, "Exit codes").
"""

from __future__ import annotations

from avatar_studio.core.errors import UserFacingError


class ImageError(UserFacingError):
    """Base of every problem with an image the user gave us."""

    exit_code = 10


class MissingFile(ImageError):
    exit_code = 11


class NotAFile(ImageError):
    exit_code = 12


class EmptyFile(ImageError):
    exit_code = 13


class UnsupportedFormat(ImageError):
    """Not an image at all, or a kind of image we do not read."""

    exit_code = 14


class DamagedImage(ImageError):
    """Truncated or corrupt data: never shown half-decoded."""

    exit_code = 15


class TooManyPixels(ImageError):
    """Over the pixel budget (includes decompression bombs)."""

    exit_code = 16


class FileTooLarge(ImageError):
    """Over the byte budget for a source file."""

    exit_code = 17


class FrameOutOfRange(ImageError):
    exit_code = 18


class CannotMeetByteLimit(ImageError):
    """No encoding of the crop fits under the service's byte limit."""

    exit_code = 19


class FileUnreadable(ImageError):
    """The file exists but the operating system refuses to read it."""

    exit_code = 10
