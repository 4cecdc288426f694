from __future__ import annotations

import threading

import pytest
from avatar_studio.gui.tasks import TaskContext, TaskRunner


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
