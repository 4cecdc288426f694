"""Benchmark: the window never stalls, and panning stays smooth.

* Longest event-loop stall (a 5 ms QTimer heartbeat; stall = longest gap minus 5 ms)
  while a 24-megapixel JPEG opens (until its exact preview is shown), and while an upload
  and refresh run against the in-process sandbox. Target: under 50 ms.
* The window's real proxy path: file -> ImageSource -> the loader's 2048-px proxy and its
  premultiplied QImage (gui/loader.py), against the 1/8-scale DCT decode floor.
* Opened file -> exact preview shown, counted from the moment the editor shows the
  picture (target: 150 ms).
* Pan steps through Qt's paint: one drag step = the move, the editor's synchronous
  repaint and the quick 400×400 preview, all on the GUI thread, as a mouse drag does them
  (p95 target 8 ms; the max is printed beside it).
* Three lanes: one Publish to the X, Mastodon and Bluesky sandboxes at once (a lane per
  account through the publish use case), with the longest stall meanwhile.
* Sharp zoom: zoomed in 8× on the 24 MP photo, the time from the last zoom step (the
  pause starts there) to the sharp tile from the full image on screen — first with the
  full decode, then after a pan with the decode cached — and the longest stall meanwhile.

Run: ``python -m tests.bench gui`` (offscreen unless QT_QPA_PLATFORM says otherwise).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LANG", "C.UTF-8")

STALL_TARGET_MS = 50.0
HEARTBEAT_MS = 5


def _isolate() -> Path:
    """Never touch the user's settings, logs or keyring."""
    base = Path(tempfile.mkdtemp(prefix="avatar-bench-"))
    for name in ("CONFIG", "STATE", "CACHE"):
        os.environ[f"AVATAR_STUDIO_{name}_DIR"] = str(base / name.lower())
    return base


def _photo(path: Path) -> Path:
    """The CLI benchmark's 24 MP photo: EXIF orientation 6, Adobe RGB, fine detail."""
    from tests.bench import cli
    from tests.core.imaging import samples
    cli._photo(6000, 4000, 3).save(path, "JPEG", quality=92, exif=samples.exif_bytes(6),
                                   icc_profile=samples.adobe_rgb_profile())
    return path


def _proxy_path(photo: Path) -> tuple[float, float]:
    """Median ms of the window's proxy path and of the 1/8 DCT decode floor, in turn."""
    from avatar_studio.core.imaging.source import ImageSource
    from avatar_studio.gui.loader import _prepare
    from PIL import Image

    def ours() -> None:
        _prepare(ImageSource.open_path(photo), str(photo), photo, 0)

    def floor() -> None:
        with Image.open(photo) as im:
            im.draft("RGB", (im.width // 8, im.height // 8))
            im.load()
    ours()
    floor()
    a: list[float] = []
    b: list[float] = []
    for _ in range(7):
        for fn, out in ((ours, a), (floor, b)):
            t0 = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(a), statistics.median(b)


class Heartbeat:
    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer
        self.gaps: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._beat)

    def _beat(self) -> None:
        now = time.perf_counter()
        self.gaps.append(now - self._last)
        self._last = now

    def start(self) -> None:
        self.gaps.clear()
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        """Longest stall in ms."""
        self.timer.stop()
        return max(0.0, (max(self.gaps, default=0.0) * 1000) - HEARTBEAT_MS)


def spin_until(condition: Callable[[], bool], timeout_s: float = 120.0) -> float:
    """Run the event loop until ``condition``; returns the seconds it took."""
    from PySide6.QtCore import QEventLoop, QTimer
    started = time.perf_counter()
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(2)

    def check() -> None:
        if condition() or time.perf_counter() - started > timeout_s:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError("benchmark step did not finish in time")
    return time.perf_counter() - started


def run() -> dict[str, float]:
    base = _isolate()
    from avatar_studio.core.credentials import CredentialStore, MemoryBackend
    from avatar_studio.core.sandbox.config import SandboxConfig
    from avatar_studio.core.services import registry
    from avatar_studio.core.services.base import Service
    from avatar_studio.core.services.x.refresh import PollPolicy
    from avatar_studio.core.services.x.service import XService
    from avatar_studio.core.settings import Settings
    from avatar_studio.gui.context import AppContext
    from avatar_studio.gui.mainwindow import MainWindow
    from avatar_studio.gui.sandboxhost import BlueskySandboxHost, MastodonSandboxHost, SandboxHost
    from avatar_studio.gui.tasks import TaskRunner, prefer_gui_thread
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    prefer_gui_thread()  # as the app's main() does
    print("making a 24 MP JPEG…", flush=True)
    photo = _photo(base / "photo-24mp.jpg")
    proxy_ms, floor_ms = _proxy_path(photo)
    poll = PollPolicy(min_wait_s=1.0)  # the real schedule, the 5 s wait shortened

    x = XService(poll=poll)

    def services(key: str) -> Service:
        return x if key == "x" else registry.get(key)

    context = AppContext(runner=TaskRunner(),
                         store=CredentialStore(MemoryBackend(), services=services),
                         services=services,
                         sandbox=SandboxHost(SandboxConfig(processing_delay=1.0)),
                         mastodon_sandbox=MastodonSandboxHost(),
                         bluesky_sandbox=BlueskySandboxHost(),
                         settings=Settings())
    window = MainWindow(context)
    window.resize(1280, 900)
    window.show()
    beat = Heartbeat()

    # 1. Open the 24 MP JPEG, until the exact preview is on screen.
    beat.start()
    started = time.perf_counter()
    window.open_path(photo)
    spin_until(lambda: window.document.loaded is not None)
    t_editor = time.perf_counter() - started
    spin_until(lambda: window.previews.current() is not None)
    t_exact = time.perf_counter() - started
    stall_open = beat.stop()

    # 2. Preview frame rate while panning (GUI-thread cost of one drag step).
    editor = window.editor
    steps = []
    for i in range(240):
        t0 = time.perf_counter()
        editor.pan_pixels(3 if (i // 60) % 2 == 0 else -3, 1 if i % 2 else -1)
        editor.repaint()  # synchronous: the frame is drawn before we stop the clock
        steps.append(time.perf_counter() - t0)
    frame_ms = statistics.median(steps) * 1000
    frame_p95 = sorted(steps)[int(len(steps) * 0.95)] * 1000
    frame_max = max(steps) * 1000
    spin_until(lambda: window.previews.current() is not None)

    # 3. Sharp zoom: from the pause to the full-resolution tile on screen.
    beat.start()
    editor.zoom_by(8.0)
    started = time.perf_counter()
    spin_until(lambda: editor.showing_refined)
    t_sharp_first = time.perf_counter() - started
    editor.pan_pixels(40, 25)
    started = time.perf_counter()
    spin_until(lambda: editor.showing_refined)
    t_sharp_again = time.perf_counter() - started
    stall_sharp = beat.stop()
    spin_until(lambda: window.previews.current() is not None)

    # 4. Sign in to the sandbox, then upload and follow the refresh.
    window.start_sandbox_demo()
    spin_until(lambda: window.accounts.current is not None
               and window.accounts.current.identity is not None
               and not window.accounts.avatar.isNull())
    beat.start()
    started = time.perf_counter()
    window.upload.start()
    spin_until(lambda: window.upload.phase in ("done", "failed", "cancelled"))
    t_upload = time.perf_counter() - started
    stall_upload = beat.stop()
    phase = window.upload.phase

    # 5. Three lanes at once: the Mastodon and Bluesky sandboxes join X's.
    for key in ("mastodon", "bluesky"):
        before = len(window.accounts.records())
        dialog = window.show_sign_in()
        dialog.choose(key)
        getattr(dialog.page(key), "sandbox_button").click()  # noqa: B009
        spin_until(lambda: len(window.accounts.records()) > before)  # noqa: B023
    for row in window.targets.rows.values():
        row.check.setChecked(True)
    lanes = len(window.targets.targets())
    window.editor.zoom_by(1.1)
    spin_until(lambda: window.previews.current() is not None)
    results: list[object] = []
    window.multi.finished.connect(results.append)
    beat.start()
    started = time.perf_counter()
    window.publish()
    spin_until(lambda: bool(results))
    t_lanes = time.perf_counter() - started
    stall_lanes = beat.stop()
    lanes_done = len(results[0].done) if results else 0  # type: ignore[attr-defined]
    window.close()
    app.processEvents()

    after_editor = (t_exact - t_editor) * 1000
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    rows = [
        ("proxy path: file -> 2048 px proxy + QImage", f"{proxy_ms:.0f} ms",
         f"{proxy_ms / floor_ms:.2f} x the 1/8 decode floor ({floor_ms:.0f} ms)"),
        ("open 24 MP JPEG: editor shown", f"{t_editor * 1000:.0f} ms", ""),
        ("open 24 MP JPEG: exact preview shown", f"{t_exact * 1000:.0f} ms", ""),
        ("  exact preview after the editor shows it", f"{after_editor:.0f} ms",
         "ok (<= 150)" if after_editor <= 150 else "MISSED (target 150 ms)"),
        ("  longest event-loop stall", f"{stall_open:.1f} ms",
         "ok" if stall_open < STALL_TARGET_MS else "MISSED"),
        ("pan: one drag step through Qt's paint, p95", f"{frame_p95:.1f} ms",
         "ok (<= 8)" if frame_p95 <= 8 else "MISSED (target 8 ms)"),
        ("  median / max", f"{frame_ms:.1f} / {frame_max:.1f} ms",
         "ok" if frame_max < STALL_TARGET_MS else "MISSED (a stall)"),
        ("zoom 8x: pause -> sharp tile (full decode)", f"{t_sharp_first * 1000:.0f} ms", ""),
        ("zoom 8x: pause -> sharp tile (decode cached)", f"{t_sharp_again * 1000:.0f} ms",
         ""),
        ("  longest event-loop stall", f"{stall_sharp:.1f} ms",
         "ok" if stall_sharp < STALL_TARGET_MS else "MISSED"),
        (f"upload + refresh ({phase}, 1 s processing)", f"{t_upload * 1000:.0f} ms", ""),
        ("  longest event-loop stall", f"{stall_upload:.1f} ms",
         "ok" if stall_upload < STALL_TARGET_MS else "MISSED"),
        (f"publish, {lanes} lanes (X, Mastodon, Bluesky; {lanes_done} done)",
         f"{t_lanes * 1000:.0f} ms", ""),
        ("  longest event-loop stall", f"{stall_lanes:.1f} ms",
         "ok" if stall_lanes < STALL_TARGET_MS else "MISSED"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{load}; every stall target < {STALL_TARGET_MS:.0f} ms")
    print(f"{'measure':<{width}}  {'value':>16}  target")
    for name, value, verdict in rows:
        print(f"{name:<{width}}  {value:>16}  {verdict}")
    return {
        "gui_proxy_path_ms": round(proxy_ms, 1),
        "gui_proxy_floor_ms": round(floor_ms, 1),
        "gui_open_24mp_editor_ms": round(t_editor * 1000, 1),
        "gui_exact_after_editor_ms": round(after_editor, 1),
        "gui_open_24mp_exact_ms": round(t_exact * 1000, 1),
        "gui_open_24mp_max_stall_ms": round(stall_open, 1),
        "gui_pan_step_median_ms": round(frame_ms, 2),
        "gui_pan_step_p95_ms": round(frame_p95, 2),
        "gui_pan_step_max_ms": round(frame_max, 2),
        "gui_load_1min": round(os.getloadavg()[0], 2),
        "gui_sharp_zoom_first_ms": round(t_sharp_first * 1000, 1),
        "gui_sharp_zoom_cached_ms": round(t_sharp_again * 1000, 1),
        "gui_sharp_zoom_max_stall_ms": round(stall_sharp, 1),
        "gui_upload_refresh_ms": round(t_upload * 1000, 1),
        "gui_upload_refresh_max_stall_ms": round(stall_upload, 1),
        "gui_upload_done": 1.0 if phase == "done" else 0.0,
        "gui_publish_lanes": float(lanes),
        "gui_publish_lanes_done": float(lanes_done),
        "gui_publish_lanes_ms": round(t_lanes * 1000, 1),
        "gui_publish_lanes_max_stall_ms": round(stall_lanes, 1),
    }


if __name__ == "__main__":
    import json
    print(json.dumps(run()))
