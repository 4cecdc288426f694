"""Undo and redo over immutable snapshots, Qt-free.

Each step is a whole snapshot of what the user edits (small frozen dataclasses), so undo
is "go back to that value" and can never drift out of step with the model. A step
recorded with the same ``merge`` key as the one before replaces it: one drag, one run
of wheel turns or one run of arrow-key nudges is one undo step, like QUndoCommand's
mergeWith, without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Steps kept; the oldest are dropped beyond this.
LIMIT = 200


@dataclass(frozen=True)
class Step(Generic[T]):
    value: T
    #: What the change was, for "Undo Rotate" in the menu ("" for the starting point).
    label: str = ""
    merge: str | None = None


class History(Generic[T]):
    """A line of snapshots with a cursor; recording after an undo drops the redo side."""

    def __init__(self, initial: T, *, limit: int = LIMIT) -> None:
        self._steps: list[Step[T]] = [Step(initial)]
        self._index = 0
        self._limit = limit
        #: Set by :meth:`seal`: the next step never merges into the current one.
        self._sealed = False

    @property
    def current(self) -> T:
        return self._steps[self._index].value

    def can_undo(self) -> bool:
        return self._index > 0

    def can_redo(self) -> bool:
        return self._index < len(self._steps) - 1

    def undo_label(self) -> str:
        return self._steps[self._index].label if self.can_undo() else ""

    def redo_label(self) -> str:
        return self._steps[self._index + 1].label if self.can_redo() else ""

    def record(self, value: T, label: str, merge: str | None = None) -> bool:
        """Add ``value`` as the newest step; False when it equals the current one."""
        if value == self.current:
            return False
        del self._steps[self._index + 1:]
        top = self._steps[-1]
        if (merge is not None and not self._sealed and self._index > 0
                and top.merge == merge):
            self._steps[-1] = Step(value, label, merge)
        else:
            self._steps.append(Step(value, label, merge))
            if len(self._steps) > self._limit:
                del self._steps[0]
        self._index = len(self._steps) - 1
        self._sealed = False
        return True

    def seal(self) -> None:
        """End a gesture: the next step starts a new undo step even with the same key."""
        self._sealed = True

    def undo(self) -> T | None:
        if not self.can_undo():
            return None
        self._index -= 1
        self._sealed = True
        return self.current

    def redo(self) -> T | None:
        if not self.can_redo():
            return None
        self._index += 1
        self._sealed = True
        return self.current

    def replace_current(self, value: T) -> None:
        """Change the current step in place (a value refined without a user edit)."""
        step = self._steps[self._index]
        self._steps[self._index] = Step(value, step.label, step.merge)
