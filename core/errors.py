"""The base of every error the user may see: a short message, never a traceback."""

from __future__ import annotations


class UserFacingError(Exception):
    """An error with a message written for the user.

    ``exit_code`` is what the command line exits with; subclasses set their own
    (the table is in README.md, "Exit codes").
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"
