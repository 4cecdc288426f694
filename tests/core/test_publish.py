"""The publish use case on its own: render once per spec, one lane per account (parallel
across accounts, serial per account), events, results, cancel one or all.

The sessions here are small stand-ins that record calls and wait on events the test
controls (what is under test is the use case's scheduling, not a service); the same use
case against the real X sandbox is tests/core/x/test_multi_upload.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.publish import (
    FINAL,
    LaneEvent,
    Phase,
    Publisher,
    Target,
)
from avatar_studio.core.services.base import (
    ConfirmCallback,
    Confirmed,
    Identity,
    ProgressCallback,
    Publication,
    Receipt,
    Secret,
)
from avatar_studio.core.services.errors import NotPublishedYet, ServerError, UploadCancelled
from PIL import Image

SPEC_A = RenderSpec("a", 10_000, ("PNG",), 8)
SPEC_B = RenderSpec("b", 10_000, ("PNG",), 4)
WAIT = 10.0


class _Facts:
    def __init__(self, key: str) -> None:
        self.key = key


class FakeSession:
    """Records calls; ``gate`` (if given) must be set before publish returns."""

    def __init__(self, key: str, spec: RenderSpec = SPEC_A, *,
                 gate: threading.Event | None = None,
                 fail: BaseException | None = None,
                 confirm_error: BaseException | None = None,
                 on_publish: Callable[[], None] | None = None) -> None:
        self.identity = Identity("fake", "https://fake.example", key, f"@{key}")
        self.spec = spec
        self.gate = gate
        self.fail = fail
        self.confirm_error = confirm_error
        self.on_publish = on_publish
        self.published: list[Publication] = []
        self.confirmed: list[Receipt] = []
        self.closed = False
        #: Only its key is read; a full Service is not needed here.
        self.service: Any = _Facts("fake")

    def whoami(self, *, cancel: threading.Event | None = None) -> Identity:
        return self.identity

    def render_spec(self) -> RenderSpec:
        return self.spec

    def publish(self, picture: Publication, *, progress: ProgressCallback | None = None,
                cancel: threading.Event | None = None) -> Receipt:
        assert cancel is not None
        if self.on_publish is not None:
            self.on_publish()
        if self.gate is not None:
            while not self.gate.wait(0.01):
                if cancel.is_set():
                    raise UploadCancelled(service="fake")
        if self.fail is not None:
            raise self.fail
        if progress is not None:
            progress(len(picture.data) // 2, len(picture.data))
            progress(len(picture.data), len(picture.data))
        self.published.append(picture)
        return Receipt(self.identity, "old", accepted_at=1.0, processing_s=0.25)

    def confirm(self, receipt: Receipt, *, on_check: ConfirmCallback | None = None,
                cancel: threading.Event | None = None, timeout_s: float | None = None
                ) -> Confirmed:
        self.confirmed.append(receipt)
        if on_check is not None:
            on_check(1)
        if self.confirm_error is not None:
            raise self.confirm_error
        return Confirmed(self.identity, "new", b"picture", 1, 0.5)

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        return b""

    def secret(self) -> Secret:
        return Secret("fake", {})

    def sign_out(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def _renderer(calls: list[tuple[RenderSpec, str]]) -> Callable[[RenderSpec], RenderResult]:
    def render(spec: RenderSpec) -> RenderResult:
        calls.append((spec, threading.current_thread().name))
        image = Image.new("RGB", (spec.output_side, spec.output_side))
        return RenderResult(data=b"x" * (100 * spec.output_side), format="PNG",
                            mime_type="image/png", extension="png",
                            width=spec.output_side, height=spec.output_side, decoded=image)
    return render


def _target(session: FakeSession, **kwargs: object) -> Target:
    return Target(session.identity.account_id, session.identity.handle, lambda: session,
                  **kwargs)  # type: ignore[arg-type]


class Events:
    def __init__(self) -> None:
        self.seen: list[LaneEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: LaneEvent) -> None:
        with self.lock:
            self.seen.append(event)

    def phases(self, key: str) -> list[Phase]:
        with self.lock:
            phases = [e.phase for e in self.seen if e.key == key]
        # Consecutive repeats (progress steps) count once.
        return [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] is not p]


@pytest.fixture
def publisher() -> Iterator[Publisher]:
    made = Publisher(network_workers=4)
    yield made
    made.close()


def test_renders_once_per_distinct_spec_on_the_render_pool(publisher: Publisher) -> None:
    calls: list[tuple[RenderSpec, str]] = []
    seeded_result = _renderer([])(SPEC_B)
    cache = publisher.render_cache("crop-1", _renderer(calls), seeded={SPEC_B: seeded_result})
    sessions = [FakeSession("a1"), FakeSession("a2"), FakeSession("b1", SPEC_B),
                FakeSession("a3")]
    events = Events()
    results = publisher.start(cache, [_target(s) for s in sessions],
                              on_event=events).wait(WAIT)
    assert [r.ok for r in results] == [True] * 4
    assert [spec for spec, _ in calls] == [SPEC_A]  # B came rendered (the preview's)
    assert cache.renders == 1
    assert all(name.startswith("publish-render") for _, name in calls)
    assert results[2].rendered is seeded_result
    assert results[0].rendered is results[1].rendered is results[3].rendered
    assert [len(s.published) for s in sessions] == [1, 1, 1, 1]
    assert all(s.closed for s in sessions)
    assert events.phases("a1") == [Phase.QUEUED, Phase.OPENING, Phase.RENDERING,
                                   Phase.UPLOADING, Phase.PROCESSING, Phase.CHECKING,
                                   Phase.DONE]
    done = next(e for e in events.seen if e.key == "a1" and e.phase is Phase.DONE)
    assert done.result is results[0]
    (processing,) = [e for e in events.seen if e.key == "a1" and e.phase is Phase.PROCESSING]
    assert processing.wait_s == 0.25
    uploads = [e for e in events.seen if e.key == "a1" and e.phase is Phase.UPLOADING]
    assert uploads[-1].sent == uploads[-1].total == 800
    assert results[0].confirmed is not None
    assert results[0].service == "fake"


def test_lanes_for_different_accounts_run_at_the_same_time(publisher: Publisher) -> None:
    both = threading.Barrier(2, timeout=WAIT)  # breaks unless both publish at once

    def meet() -> None:
        both.wait()

    sessions = [FakeSession(k, on_publish=meet) for k in ("p", "q")]
    cache = publisher.render_cache("c", _renderer([]))
    results = publisher.start(cache, [_target(s) for s in sessions]).wait(WAIT)
    assert [r.ok for r in results] == [True, True]


def test_two_runs_for_one_account_take_turns(publisher: Publisher) -> None:
    gate = threading.Event()
    first = FakeSession("same", gate=gate)
    second = FakeSession("same")
    entered = threading.Event()
    first.on_publish = entered.set
    events = Events()
    cache = publisher.render_cache("c", _renderer([]))
    run1 = publisher.start(cache, [_target(first)], on_event=events)
    assert entered.wait(WAIT)
    run2 = publisher.start(cache, [Target("same", "@same", lambda: second)], on_event=events)
    # The second run is queued behind the first's upload: it has not opened its session.
    assert not run2.done()
    assert [e.phase for e in events.seen].count(Phase.OPENING) == 1
    gate.set()
    assert run1.wait(WAIT)[0].ok
    assert run2.wait(WAIT)[0].ok
    assert first.published
    assert second.published


def test_a_failing_lane_does_not_stop_the_others(publisher: Publisher) -> None:
    bad = FakeSession("bad", fail=ServerError("down", service="fake"))
    good = FakeSession("good")
    events = Events()
    cache = publisher.render_cache("c", _renderer([]))
    results = publisher.start(cache, [_target(bad), _target(good)], on_event=events).wait(WAIT)
    assert isinstance(results[0].error, ServerError)
    assert not results[0].ok
    assert results[0].receipt is None
    assert results[0].rendered is not None
    assert results[1].ok
    assert events.phases("bad")[-1] is Phase.FAILED
    assert events.phases("good")[-1] is Phase.DONE


def test_cancel_one_lane_then_all(publisher: Publisher) -> None:
    gates = {k: threading.Event() for k in ("c1", "c2", "c3")}
    started = {k: threading.Event() for k in gates}
    sessions = {k: FakeSession(k, gate=gates[k], on_publish=started[k].set) for k in gates}
    events = Events()
    cache = publisher.render_cache("c", _renderer([]))
    run = publisher.start(cache, [_target(s) for s in sessions.values()], on_event=events)
    assert run.keys == ["c1", "c2", "c3"]
    assert all(e.wait(WAIT) for e in started.values())
    run.cancel("c1")
    assert run.cancelled("c1")
    assert not run.cancelled("c2")
    gates["c2"].set()
    with pytest.raises(TimeoutError):
        run.wait(0.05)  # c3 still waits
    run.cancel()
    results = run.wait(WAIT)
    assert run.done()
    assert isinstance(results[0].error, UploadCancelled)
    assert results[1].ok
    assert isinstance(results[2].error, UploadCancelled)
    assert events.phases("c1")[-1] is Phase.CANCELLED
    assert all(events.phases(k)[-1] in FINAL for k in gates)


def test_cancelled_before_the_lane_starts(publisher: Publisher) -> None:
    opened: list[str] = []
    gate = threading.Event()
    blocker = FakeSession("k", gate=gate)
    cache = publisher.render_cache("c", _renderer([]))
    first = publisher.start(cache, [_target(blocker)])
    def open_session() -> FakeSession:
        opened.append("k")
        return blocker

    second = publisher.start(cache, [Target("k", "@k", open_session)])
    second.cancel()
    gate.set()
    assert first.wait(WAIT)[0].ok
    result = second.wait(WAIT)[0]
    assert isinstance(result.error, UploadCancelled)
    assert opened == []  # never opened a session


def test_not_published_yet_is_a_failure_unless_the_user_stopped_waiting(
        publisher: Publisher) -> None:
    late = FakeSession("late", confirm_error=NotPublishedYet("later", service="fake"))
    stopped = FakeSession("stopped", confirm_error=NotPublishedYet(
        "stopped", cancelled=True, service="fake"))
    events = Events()
    cache = publisher.render_cache("c", _renderer([]))
    results = publisher.start(cache, [_target(late), _target(stopped)],
                              on_event=events).wait(WAIT)
    assert isinstance(results[0].error, NotPublishedYet)
    assert results[0].receipt is not None  # what "check again" needs
    assert events.phases("late")[-1] is Phase.FAILED
    assert events.phases("stopped")[-1] is Phase.CANCELLED


def test_resume_checks_again_without_rendering_or_uploading(publisher: Publisher) -> None:
    session = FakeSession("r")
    receipt = Receipt(session.identity, "old")
    result = publisher.start(None, [_target(session, resume=receipt)]).wait(WAIT)[0]
    assert result.ok
    assert session.published == []
    assert session.confirmed == [receipt]
    assert result.rendered is None


def test_without_confirm_the_lane_ends_after_the_upload(publisher: Publisher) -> None:
    session = FakeSession("n")
    cache = publisher.render_cache("c", _renderer([]))
    result = publisher.start(cache, [_target(session)], confirm=False).wait(WAIT)[0]
    assert result.ok
    assert result.confirmed is None
    assert session.confirmed == []
    assert result.receipt is not None


def test_mistakes_by_the_caller(publisher: Publisher) -> None:
    session = FakeSession("m")
    with pytest.raises(ValueError, match="twice"):
        publisher.start(None, [_target(session), _target(session)])
    result = publisher.start(None, [_target(session)]).wait(WAIT)[0]
    assert isinstance(result.error, ValueError)


@pytest.mark.allow_log_warnings
def test_a_broken_listener_does_not_break_the_upload(publisher: Publisher,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: LaneEvent) -> None:
        raise RuntimeError("listener bug")

    cache = publisher.render_cache("c", _renderer([]))
    with caplog.at_level("ERROR", logger="avatar_studio.core.publish"):
        result = publisher.start(cache, [_target(FakeSession("l"))],
                                 on_event=broken).wait(WAIT)[0]
    assert result.ok
    assert "listener failed" in caplog.text
