"""Publish one crop to several accounts at once: the one use case the CLI and the window run.

Qt-free; callers see only the service interface (:mod:`avatar_studio.core.services.base`).

How to use it::

    publisher = Publisher()                      # long-lived: pools + per-account locks
    run = publisher.start(renderer, [Target(key, label, open_session), ...],
                          on_event=print)        # returns at once
    run.cancel("x:https://api.x.com:42")         # one lane; run.cancel() = all of them
    results = run.wait()                         # one LaneResult per target, in order
    publisher.close()

* **Rendering** happens once per distinct :class:`RenderSpec`: each lane asks its session
  for ``render_spec()`` and the run's :class:`RenderCache` (keyed by the crop and the spec)
  renders on the *render* pool, which is separate from the network pool, so a slow upload
  never delays a render (or a preview using the same cache).
* **Lanes**: per target, on the *network* pool: open the session, render, ``publish``
  (bytes-sent progress), ``confirm`` (each check reported). Lanes for different accounts
  run in parallel; two runs for the same account take turns (a per-account lock), so one
  account never has two uploads in flight.
* **Events**: ``on_event(LaneEvent)`` is called on the lane's thread for every phase
  change and progress step; a GUI marshals it to its own thread. It must not raise (an
  exception from it is logged and ignored).
* **Results**: :class:`LaneResult` per target: ``ok`` with the receipt and confirmation,
  or ``error`` (a :class:`~avatar_studio.core.errors.UserFacingError` as raised by the
  session, or :class:`~avatar_studio.core.services.errors.Cancelled`). A failing lane
  never stops the others.
* **Check again** without uploading twice: a :class:`Target` with ``resume`` (the
  :class:`Receipt` of a ``NotPublishedYet``) skips rendering and publishing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from avatar_studio.core.imaging.render import RenderResult
from avatar_studio.core.imaging.spec import RenderSpec
from avatar_studio.core.services.base import Confirmed, Publication, Receipt, Session
from avatar_studio.core.services.errors import Cancelled, NotPublishedYet, UploadCancelled

log = logging.getLogger(__name__)

#: Renders the crop for one spec (runs on the render pool).
Renderer = Callable[[RenderSpec], RenderResult]


class Phase(Enum):
    QUEUED = "queued"
    OPENING = "opening"  # reading the secret, opening the session
    RENDERING = "rendering"
    UPLOADING = "uploading"
    PROCESSING = "processing"  # the service accepted the bytes; before the first check
    CHECKING = "checking"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL = (Phase.DONE, Phase.FAILED, Phase.CANCELLED)


@dataclass(frozen=True)
class Target:
    """One account to publish to; ``open_session`` runs on the lane's thread."""

    key: str
    #: How messages name it ("@alice", "x:@alice").
    label: str
    open_session: Callable[[], Session]
    #: Check again after NotPublishedYet: no render, no second upload.
    resume: Receipt | None = None


@dataclass(frozen=True)
class LaneResult:
    key: str
    label: str
    #: The service key ("" if the session never opened).
    service: str = ""
    rendered: RenderResult | None = None
    receipt: Receipt | None = None
    confirmed: Confirmed | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class LaneEvent:
    key: str
    phase: Phase
    #: UPLOADING: bytes handed to the socket so far, and the total.
    sent: int = 0
    total: int = 0
    #: CHECKING: the number of the check just made (1-based).
    check: int = 0
    #: PROCESSING: how long the service takes at least (0 = unknown).
    wait_s: float = 0.0
    #: In a final phase: the lane's result.
    result: LaneResult | None = None


EventCallback = Callable[[LaneEvent], None]


class RenderCache:
    """One render per spec for one crop, shared by every lane (and thread-safe).

    ``crop_key`` says which crop the renderer draws (the document's generation, or the
    input path plus crop options); :meth:`get` for another crop key is a bug.
    """

    def __init__(self, crop_key: Hashable, renderer: Renderer, pool: ThreadPoolExecutor,
                 *, seeded: dict[RenderSpec, RenderResult] | None = None) -> None:
        self.crop_key = crop_key
        self._renderer = renderer
        self._pool = pool
        self._lock = threading.Lock()
        self._futures: dict[tuple[Hashable, RenderSpec], Future[RenderResult]] = {}
        #: How many renders actually ran (the figure the tests check).
        self.renders = 0
        for spec, result in (seeded or {}).items():
            done: Future[RenderResult] = Future()
            done.set_result(result)
            self._futures[(crop_key, spec)] = done

    def _render(self, spec: RenderSpec) -> RenderResult:
        with self._lock:
            self.renders += 1
        return self._renderer(spec)

    def future(self, spec: RenderSpec) -> Future[RenderResult]:
        with self._lock:
            key = (self.crop_key, spec)
            found = self._futures.get(key)
            if found is None:
                found = self._pool.submit(self._render, spec)
                self._futures[key] = found
            return found

    def get(self, spec: RenderSpec) -> RenderResult:
        return self.future(spec).result()


class PublishRun:
    """The lanes of one :meth:`Publisher.start`: cancel one or all, wait for the results."""

    def __init__(self, targets: Sequence[Target]) -> None:
        self.targets = list(targets)
        self._cancel = {t.key: threading.Event() for t in self.targets}
        self._futures: dict[str, Future[LaneResult]] = {}

    @property
    def keys(self) -> list[str]:
        return [t.key for t in self.targets]

    def cancel(self, key: str | None = None) -> None:
        """Cancel the lane for ``key``, or every lane. A lane whose upload the service
        has already accepted stops waiting for the confirmation only."""
        for lane_key, event in self._cancel.items():
            if key is None or lane_key == key:
                event.set()

    def cancelled(self, key: str) -> bool:
        return self._cancel[key].is_set()

    def done(self) -> bool:
        return all(f.done() for f in self._futures.values())

    def wait(self, timeout: float | None = None) -> list[LaneResult]:
        """Every lane's result, in the order of the targets (TimeoutError after
        ``timeout`` seconds if some lane is still running)."""
        return [self._futures[t.key].result(timeout) for t in self.targets]


class Publisher:
    """Long-lived: the render and network pools, and one lock per account."""

    def __init__(self, *, network_workers: int = 4, render_workers: int = 1) -> None:
        self._network = ThreadPoolExecutor(max_workers=network_workers,
                                           thread_name_prefix="publish-net")
        self._render = ThreadPoolExecutor(max_workers=render_workers,
                                          thread_name_prefix="publish-render")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def render_cache(self, crop_key: Hashable, renderer: Renderer, *,
                     seeded: dict[RenderSpec, RenderResult] | None = None) -> RenderCache:
        """A cache on this publisher's render pool (previews may share it)."""
        return RenderCache(crop_key, renderer, self._render, seeded=seeded)

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    def start(self, cache: RenderCache | None, targets: Sequence[Target], *,
              on_event: EventCallback | None = None, confirm: bool = True,
              confirm_timeout_s: float | None = None, alt_text: str = "") -> PublishRun:
        """Start one lane per target and return at once. ``cache`` may be None only when
        every target resumes. ``confirm=False`` stops each lane after the upload.
        ``alt_text`` goes to the services that store it (Mastodon 4.6+)."""
        if len({t.key for t in targets}) != len(targets):
            raise ValueError("the same account twice in one run")
        run = PublishRun(targets)
        for target in targets:
            lane = _Lane(target, cache, run._cancel[target.key], self._lock(target.key),
                         on_event, confirm, confirm_timeout_s, alt_text=alt_text)
            lane.emit(Phase.QUEUED)  # before the lane can emit anything else
            run._futures[target.key] = self._network.submit(lane.run)
        return run

    def close(self, *, wait: bool = True) -> None:
        self._network.shutdown(wait=wait, cancel_futures=True)
        self._render.shutdown(wait=wait, cancel_futures=True)


@dataclass
class _Lane:
    target: Target
    cache: RenderCache | None
    cancel: threading.Event
    lock: threading.Lock
    on_event: EventCallback | None
    confirm: bool
    confirm_timeout_s: float | None
    service: str = field(default="")
    alt_text: str = ""

    def emit(self, phase: Phase, **values: object) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(LaneEvent(self.target.key, phase, **values))  # type: ignore[arg-type]
        except Exception:  # a broken listener must not break the upload
            log.exception("Publish event listener failed")

    def _check(self) -> None:
        if self.cancel.is_set():
            raise UploadCancelled()

    def run(self) -> LaneResult:
        rendered: RenderResult | None = None
        receipt = self.target.resume
        try:
            with self.lock:
                self._check()
                self.emit(Phase.OPENING)
                session = self.target.open_session()
                try:
                    self.service = session.service.key
                    if receipt is None:
                        rendered = self._rendered(session)
                        receipt = self._publish(session, rendered)
                    confirmed = self._confirm(session, receipt) if self.confirm else None
                finally:
                    session.close()
        except Exception as exc:  # noqa: BLE001 - every lane reports, none raises
            result = LaneResult(self.target.key, self.target.label, self.service, rendered,
                                receipt, None, exc)
            cancelled = isinstance(exc, Cancelled) or (
                isinstance(exc, NotPublishedYet) and exc.cancelled)
            log.info("Publishing to %s: %s (%s)", self.target.label,
                     "cancelled" if cancelled else "failed", type(exc).__name__)
            self.emit(Phase.CANCELLED if cancelled else Phase.FAILED, result=result)
            return result
        result = LaneResult(self.target.key, self.target.label, self.service, rendered,
                            receipt, confirmed)
        self.emit(Phase.DONE, result=result)
        return result

    def _rendered(self, session: Session) -> RenderResult:
        if self.cache is None:
            raise ValueError("nothing to publish: no render cache and no receipt")
        self.emit(Phase.RENDERING)
        rendered = self.cache.get(session.render_spec())
        self._check()
        return rendered

    def _publish(self, session: Session, rendered: RenderResult) -> Receipt:
        self.emit(Phase.UPLOADING, sent=0, total=len(rendered.data))
        picture = Publication(rendered.data, rendered.mime_type,
                              f"avatar.{rendered.extension.lstrip('.')}", rendered.width,
                              rendered.height, frames=getattr(rendered, "frame_count", 1),
                              alt_text=self.alt_text)
        receipt = session.publish(
            picture, cancel=self.cancel,
            progress=lambda sent, total: self.emit(Phase.UPLOADING, sent=sent, total=total))
        self.emit(Phase.PROCESSING, wait_s=receipt.processing_s)
        return receipt

    def _confirm(self, session: Session, receipt: Receipt) -> Confirmed:
        return session.confirm(receipt, cancel=self.cancel,
                               on_check=lambda n: self.emit(Phase.CHECKING, check=n),
                               timeout_s=self.confirm_timeout_s)
