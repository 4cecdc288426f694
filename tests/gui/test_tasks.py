from __future__ import annotations

import threading

import pytest
from avatar_studio.gui.tasks import TaskCancelled, TaskContext, TaskRunner


@pytest.fixture
def runner(qtbot):
    r = TaskRunner(max_workers=2)
    yield r
    r.shutdown()


def test_result_comes_back_on_gui_thread(qtbot, runner: TaskRunner) -> None:
    main = threading.get_ident()
    seen: dict[str, object] = {}

    def work(ctx: TaskContext) -> int:
        seen["worker"] = threading.get_ident()
        ctx.progress(1, 2)
        return 41 + 1

    progress: list[tuple[int, int]] = []
    with qtbot.waitSignal(runner.busy_changed, check_params_cb=lambda b: b is False):
        runner.run(work, on_success=lambda v: seen.update(result=v, cb=threading.get_ident()),
                   on_progress=lambda a, b: progress.append((a, b)))
    assert seen["result"] == 42
    assert seen["cb"] == main
    assert seen["worker"] != main
    assert progress == [(1, 2)]


def test_error_goes_to_on_error(qtbot, runner: TaskRunner) -> None:
    errors: list[BaseException] = []

    def work(ctx: TaskContext) -> None:
        raise RuntimeError("nope")

    with qtbot.waitSignal(runner.busy_changed, check_params_cb=lambda b: b is False):
        runner.run(work, on_error=errors.append)
    assert [str(e) for e in errors] == ["nope"]


def test_cancel_reaches_the_task(qtbot, runner: TaskRunner) -> None:
    started = threading.Event()
    outcome: list[str] = []

    def work(ctx: TaskContext) -> str:
        started.set()
        ctx.cancel_event.wait(10)
        ctx.check_cancelled()
        return "finished"

    handle = runner.run(work, on_success=outcome.append,
                        on_cancelled=lambda: outcome.append("cancelled"))
    assert started.wait(5)
    with qtbot.waitSignal(runner.busy_changed, check_params_cb=lambda b: b is False):
        handle.cancel()
    assert outcome == ["cancelled"]


@pytest.mark.parametrize("ending", ["returns", "raises", "raises TaskCancelled"])
def test_after_cancel_only_on_cancelled_is_called(qtbot, runner: TaskRunner,
                                                  ending: str) -> None:
    release = threading.Event()
    outcome: list[str] = []

    def work(ctx: TaskContext) -> str:
        release.wait(10)  # ignores the cancel flag, as a blocking network call would
        if ending == "raises":
            raise RuntimeError("late failure")
        if ending == "raises TaskCancelled":
            raise TaskCancelled
        return "late result"

    handle = runner.run(work, on_success=outcome.append,
                        on_error=lambda exc: outcome.append(f"error {exc}"),
                        on_cancelled=lambda: outcome.append("cancelled"))
    handle.cancel()
    with qtbot.waitSignal(runner.busy_changed, check_params_cb=lambda b: b is False):
        release.set()
    assert outcome == ["cancelled"]


def test_task_raising_task_cancelled_counts_as_cancelled(qtbot, runner: TaskRunner) -> None:
    outcome: list[str] = []

    def work(ctx: TaskContext) -> None:
        raise TaskCancelled

    with qtbot.waitSignal(runner.busy_changed, check_params_cb=lambda b: b is False):
        runner.run(work, on_error=lambda exc: outcome.append("error"),
                   on_cancelled=lambda: outcome.append("cancelled"))
    assert outcome == ["cancelled"]


def test_bounded_shutdown_does_not_wait_for_a_task_stuck_on_the_network(qtbot) -> None:
    runner = TaskRunner(max_workers=1)
    stuck = threading.Event()
    release = threading.Event()

    def work(ctx: TaskContext) -> None:
        stuck.set()
        release.wait(30)  # like a request that ignores the cancel flag until its timeout

    runner.run(work)
    assert stuck.wait(5)
    try:
        assert runner.shutdown(timeout=0.05) is False
    finally:
        release.set()
    assert runner.shutdown(timeout=10) is True


def test_shutdown_does_not_wait_for_a_task_it_cancelled_in_the_queue(qtbot) -> None:
    # One worker, busy until cancelled; a second task waits in the queue. shutdown()
    # cancels the queued one without running it: it must not be waited for (it would
    # never finish), while the running one is, until it sees its cancel flag.
    runner = TaskRunner(max_workers=1)
    started = threading.Event()

    def busy(ctx: TaskContext) -> None:
        started.set()
        ctx.cancel_event.wait(30)

    runner.run(busy)
    queued = runner.run(lambda ctx: None)
    assert started.wait(5)
    assert runner.shutdown(timeout=10) is True
    assert queued.future.cancelled()


def test_closing_the_window_is_not_held_by_stuck_work(qtbot) -> None:
    import dataclasses

    from tests.gui.helpers import make_context, show_window

    window = show_window(qtbot, dataclasses.replace(make_context(), close_grace_s=0.05))
    stuck = threading.Event()
    release = threading.Event()

    def work(ctx: TaskContext) -> None:
        stuck.set()
        release.wait(30)

    window.context.runner.run(work)
    assert stuck.wait(5)
    try:
        window.close()  # returns although the task is still blocked
        assert not window.isVisible()
        assert window.abandoned_work
    finally:
        release.set()


def test_the_window_process_prefers_the_gui_thread() -> None:
    import sys

    from avatar_studio.gui.tasks import GUI_SWITCH_INTERVAL_S, prefer_gui_thread

    saved = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)  # Python's default
        prefer_gui_thread()
        assert sys.getswitchinterval() == pytest.approx(GUI_SWITCH_INTERVAL_S, rel=0.01)
        sys.setswitchinterval(0.0002)  # a decoder's hand-over is running: kept
        prefer_gui_thread()
        assert sys.getswitchinterval() == pytest.approx(0.0002, rel=0.01)
    finally:
        sys.setswitchinterval(saved)
