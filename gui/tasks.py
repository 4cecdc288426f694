"""The one way to run work off the GUI thread.

``TaskRunner.run(fn, on_success=..., on_error=...)`` runs ``fn(ctx)`` on a worker thread
and delivers its result, its error or its progress reports back on the GUI thread
through a queued signal. ``fn`` gets plain data in and returns plain data (bytes, PIL
images, dataclasses): it never touches a widget. :func:`prefer_gui_thread` is how the
window's process lets the GUI thread through while workers run Python.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The interpreter's switch interval while the window runs. Every Qt slot the GUI thread
#: runs needs the GIL; behind busy workers (a three-lane publish beside the in-process
#: sandboxes and a preview render) each wait could last Python's default 5 ms, and a
#: burst of them made stalls of 50-65 ms; at 1 ms they stay under 45 even with a
#: sampling profiler loading the GIL too.
GUI_SWITCH_INTERVAL_S = 0.001


def prefer_gui_thread() -> None:
    """Shorten the switch interval for this process (never lengthen it)."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GUI_SWITCH_INTERVAL_S))


class TaskCancelled(Exception):
    """Raised inside a task (by ``ctx.check_cancelled()``) after ``cancel()``."""


@dataclass(slots=True)
class TaskContext:
    """What a running task can see: a cancel flag and a progress reporter."""

    _cancel: threading.Event = field(default_factory=threading.Event)
    _progress: Callable[..., None] = lambda *args: None

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        return self._cancel

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise TaskCancelled

    def progress(self, *args: Any) -> None:
        self._progress(*args)


class TaskHandle(Generic[T]):
    """A running task: cancel it, or ask whether it has finished."""

    def __init__(self, ctx: TaskContext, future: Future[T]) -> None:
        self._ctx = ctx
        self.future = future

    def cancel(self) -> None:
        self._ctx._cancel.set()
        self.future.cancel()

    @property
    def cancelled(self) -> bool:
        return self._ctx.cancelled

    def done(self) -> bool:
        return self.future.done()


class TaskRunner(QObject):
    """Runs callables on a thread pool; callbacks come back on the GUI thread.

    Signals:
        _deliver(object): internal; carries a closure to run on the GUI thread.
        busy_changed(bool): whether any task is running.
    """

    _deliver = Signal(object)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, max_workers: int = 4,
                 default_on_error: Callable[[BaseException], None] | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=max_workers,
                                        thread_name_prefix="avatar-task")
        self._running: set[TaskHandle[Any]] = set()
        self._default_on_error = default_on_error
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _on_deliver(self, closure: Callable[[], None]) -> None:
        closure()

    def run(self, fn: Callable[[TaskContext], T], *,
            on_success: Callable[[T], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None,
            on_progress: Callable[..., None] | None = None,
            on_cancelled: Callable[[], None] | None = None) -> TaskHandle[T]:
        def report(*args: Any) -> None:
            if on_progress is not None:
                self._deliver.emit(lambda: on_progress(*args))

        ctx = TaskContext(_progress=report)
        if self._closed:
            # A late timer after shutdown (window closing): nothing runs, nothing reports.
            log.debug("Task %s dropped: the runner is shut down", getattr(fn, "__name__", fn))
            ctx._cancel.set()
            dead: Future[T] = Future()
            dead.cancel()
            return TaskHandle(ctx, dead)
        future: Future[T] = self._pool.submit(fn, ctx)
        handle: TaskHandle[T] = TaskHandle(ctx, future)
        was_idle = not self._running
        self._running.add(handle)
        if was_idle:
            self.busy_changed.emit(True)

        def finished(fut: Future[T]) -> None:
            self._deliver.emit(lambda: self._finish(handle, fut, on_success, on_error,
                                                    on_cancelled))

        future.add_done_callback(finished)
        return handle

    def _finish(self, handle: TaskHandle[T], fut: Future[T],
                on_success: Callable[[T], None] | None,
                on_error: Callable[[BaseException], None] | None,
                on_cancelled: Callable[[], None] | None) -> None:
        self._running.discard(handle)
        if not self._running:
            self.busy_changed.emit(False)
        exc = None if fut.cancelled() else fut.exception()
        # Once cancelled, whatever the task still returned or raised is not reported.
        if fut.cancelled() or handle.cancelled or isinstance(exc, TaskCancelled):
            if on_cancelled is not None:
                on_cancelled()
            return
        if exc is not None:
            handler = on_error or self._default_on_error
            if handler is None:
                log.error("Background task failed", exc_info=exc)
            else:
                handler(exc)
            return
        if on_success is not None:
            on_success(fut.result())

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def shutdown(self, *, wait: bool = True, timeout: float | None = None) -> bool:
        """Cancel what can be cancelled and (by default) wait for the rest.

        With ``timeout`` the wait is bounded: a task blocked in a network call that does
        not look at its cancel flag must not hold the window open. Returns True when
        nothing is left running.
        """
        self._closed = True
        running = list(self._running)
        for handle in running:
            handle.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)
        # A task still queued was just cancelled without notifying futures.wait()'s
        # waiters (CANCELLED, never CANCELLED_AND_NOTIFIED): waiting for it would never
        # end. Only tasks that started can still be running.
        started = [handle.future for handle in running if not handle.future.cancelled()]
        if not wait:
            return all(f.done() for f in started)
        _, pending = futures_wait(started, timeout=timeout)
        return not pending
