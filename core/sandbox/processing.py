"""Asynchronous profile image processing: an upload shows up only after a delay.

One worker thread holds the pending jobs; ``stop()`` ends and joins it. While the
``stall_processing`` fault is on, jobs wait forever (as if X never finished).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from avatar_studio.core.sandbox import images
from avatar_studio.core.sandbox.faults import Faults
from avatar_studio.core.sandbox.state import ImageRecord, SandboxState, snowflake_id

log = logging.getLogger(__name__)


@dataclass
class _Job:
    user_id: int
    data: bytes
    due: float


class ImageProcessor:
    def __init__(self, state: SandboxState, faults: Faults, *, delay_s: float,
                 old_url_ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.state = state
        self.faults = faults
        self.delay_s = delay_s
        self.old_url_ttl_s = old_url_ttl_s
        self.clock = clock
        self._jobs: list[_Job] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Count of finished jobs (tests and the status page read it).
        self.completed = 0
        faults.add_listener(self.wake)  # un-stalling takes effect at once

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-images", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def submit(self, user_id: int, data: bytes) -> None:
        with self._cond:
            self._jobs.append(_Job(user_id, data, self.clock() + self.delay_s))
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._jobs)

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._next_due()
                while job is None and not self._stopping:
                    self._cond.wait(self._wait_time())
                    job = self._next_due()
                if self._stopping:
                    return
                assert job is not None
                self._jobs.remove(job)
            try:
                self._publish(job)
            except images.ImageRejected:
                # Validation already passed at upload time; a file that still fails here
                # is dropped silently, as X leaves the old image in place.
                log.info("sandbox: processing failed for user %s", job.user_id)
            except Exception:
                log.exception("sandbox: unexpected error while processing an image")
            with self._cond:
                self.completed += 1

    def _next_due(self) -> _Job | None:
        if self.faults.stalled or not self._jobs:
            return None
        first = min(self._jobs, key=lambda j: j.due)
        return first if first.due <= self.clock() else None

    def _wait_time(self) -> float | None:
        # submit(), wake() (also on every stall switch) and stop() notify; otherwise sleep
        # until the next job is due.
        if not self._jobs or self.faults.stalled:
            return None
        return max(0.0, min(j.due for j in self._jobs) - self.clock())

    def _publish(self, job: _Job) -> None:
        processed = images.process(job.data)
        record = ImageRecord(image_id=snowflake_id(), name=self.state.new_image_name(),
                             ext=processed.extension, width=processed.width,
                             height=processed.height)
        for suffix, data in processed.variants.items():
            self.state.put_image_file(f"{record.image_id}/{record.name}{suffix}.{record.ext}",
                                      data)
        now = time.time()
        with self.state.lock:
            user = self.state.users.get(job.user_id)
            if user is None:
                return
            if user.image is not None:
                user.image.retired_at = now
                user.old_images.append(user.image)
            user.image = record
            self.expire_old_images(user.user_id, now)
            self.state.save()

    def expire_old_images(self, user_id: int, now: float | None = None) -> None:
        """Delete replaced images whose grace period is over (their URLs then 404)."""
        now = time.time() if now is None else now
        with self.state.lock:
            user = self.state.users.get(user_id)
            if user is None:
                return
            keep = []
            for old in user.old_images:
                if old.retired_at is not None and now - old.retired_at >= self.old_url_ttl_s:
                    self.state.delete_image_files(old.image_id)
                else:
                    keep.append(old)
            user.old_images = keep
