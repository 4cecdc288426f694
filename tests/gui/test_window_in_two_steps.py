"""The window as the app builds it (issue 15): the frame paints first, the parts are
imported on a worker thread after that paint and built into it, and nothing the user sees
moves when they arrive."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from avatar_studio.core.settings import Settings
from avatar_studio.gui.context import AppContext
from avatar_studio.gui.mainwindow import MENUS, SIDE_COLUMN_WIDTH, MainWindow
from avatar_studio.gui.tasks import TaskRunner
from PySide6.QtCore import QRect

from tests.gui.helpers import make_context


def _deferred(qtbot, make=None, off_thread=None) -> tuple[MainWindow, list[TaskRunner]]:
    runners: list[TaskRunner] = []

    def context(runner: TaskRunner) -> AppContext:
        runners.append(runner)
        return dataclasses.replace(make_context(), runner=runner)

    window = MainWindow(settings=Settings())
    qtbot.addWidget(window)
    window.build_later(make or context, off_thread=off_thread)
    window.show()
    return window, runners


def test_the_frame_shows_first_and_the_parts_arrive_without_moving_it(qtbot) -> None:
    window, runners = _deferred(qtbot)
    ready_at_first = window.is_ready
    assert not ready_at_first
    assert not hasattr(window, "editor")  # only the frame so far
    assert [a.text() for a in window.menuBar().actions()] == [t for _k, t in MENUS]
    qtbot.waitExposed(window)
    before: dict[str, QRect] = {}

    def remember() -> None:
        for name in ("placeholder", "side_scroll", "action_bar"):
            before[name] = getattr(window, name).geometry()

    qtbot.waitUntil(lambda: window.placeholder.isVisible())
    remember()
    size = window.size()
    column = window.side_scroll.minimumWidth()
    with qtbot.waitSignal(window.ready, timeout=20_000):
        pass
    assert window.is_ready
    # The parts are there, on the runner the window started for them.
    assert window.context.runner is runners[0]
    assert window.open_action.shortcut().toString() == "Ctrl+O"
    # Shown by their layouts on the next turn of the event loop.
    qtbot.waitUntil(lambda: window.account_panel.isVisible()
                    and window.preview_panel.isVisible())
    # Nothing jumped: the drop area, the column and the bar kept their places and the
    # window its size; the column the parts need is the one the frame kept for them.
    assert window.size() == size
    assert window.side_column.minimumSizeHint().width() == SIDE_COLUMN_WIDTH
    assert window.side_scroll.minimumWidth() == column  # (the screen may narrow both)
    for name, rect in before.items():
        assert getattr(window, name).geometry() == rect, name
    assert window.stack.widget(0) is window.placeholder


def test_what_waits_for_the_parts_runs_once_they_are_built(qtbot) -> None:
    window, _runners = _deferred(qtbot)
    seen: list[bool] = []
    window.when_ready(lambda: seen.append(hasattr(window, "loader")))
    assert seen == []
    qtbot.waitUntil(lambda: seen == [True], timeout=20_000)
    window.when_ready(lambda: seen.append(True))  # already ready: at once
    assert seen == [True, True]


def test_closing_before_the_parts_arrive_builds_nothing(qtbot) -> None:
    gate = threading.Event()  # holds the worker until the window is closed
    window, runners = _deferred(qtbot, off_thread=lambda: gate.wait(20))
    qtbot.waitUntil(lambda: hasattr(window, "parts_runner"), timeout=5_000)
    runner = window.parts_runner
    window.close()
    assert not window.isVisible()
    with qtbot.waitSignal(runner.busy_changed, timeout=20_000,
                          check_params_cb=lambda busy: not busy):
        gate.set()  # the import finishes; what it would build is dropped
    assert runners == []  # no context was made
    assert not window.is_ready
    assert not hasattr(window, "editor")


@pytest.mark.allow_log_warnings
def test_a_failure_to_build_is_reported_not_raised(qtbot) -> None:
    def broken(_runner: TaskRunner) -> AppContext:
        raise RuntimeError("no context")

    window, _runners = _deferred(qtbot, make=broken)
    with qtbot.waitSignal(window.start_failed, timeout=20_000) as blocker:
        pass
    assert isinstance(blocker.args[0], RuntimeError)
    assert not window.is_ready
