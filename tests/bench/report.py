"""The issue-15 table: today's figures (as measured when the issue was filed) beside this
run's, with the targets and the load average. Printed by ``python -m tests.bench`` when
the cli, startup and gui benchmarks ran."""

from __future__ import annotations

import math
import os

#: Issue 15's figures for the code before this work (2-core machine, medians of 7-9
#: paired runs, its own photo): the "today" column.
TODAY = {
    "jpeg24": "639 ms, 64 MB, 37.8 dB; 2.75 x vips (232 ms)",
    "jpeg48": "716 ms; 1.97 x vips (363 ms)",
    "png": "1478 ms, 200 MB; 1.29 x vips (1142 ms, 108 MB)",
    "first_paint": "669 ms, 105 MB; 3.6 x hello world (186 ms)",
    "exact": "429 ms",
    "pan": "8-10 ms (p95)",
    "stall": "17 ms",
}


def _g(f: dict[str, float], key: str) -> float:
    return f.get(key, math.nan)


def table(f: dict[str, float]) -> list[tuple[str, str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, str, bool | None]] = []
    for case, label in (("jpeg24", "CLI render, 24 MP JPEG, whole process"),
                        ("jpeg48", "CLI render, 47 MP JPEG, whole process"),
                        ("png", "CLI render, 4000² RGBA PNG, whole process")):
        p = f"cli_{case}_"
        ratio = _g(f, p + "vipsthumbnail_ours_over_this")
        ms, mb, db = _g(f, p + "ours_wall_ms"), _g(f, p + "ours_rss_mb"), _g(f, p + "ours_psnr_db")
        v = p + "vipsthumbnail_"
        new = (f"{ms:.0f} ms, {mb:.0f} MB, {db:.1f} dB; {ratio:.2f} x vips "
               f"({_g(f, v + 'wall_ms'):.0f} ms, {_g(f, v + 'rss_mb'):.0f} MB, "
               f"{_g(f, v + 'psnr_db'):.1f} dB)")
        if case == "jpeg24":
            exact = _g(f, p + "exact_path_psnr_db")
            target = f"<= 1.0 x vips, <= 45 MB, >= exact path - 0.5 = {exact - 0.5:.1f} dB"
            ok = ratio <= 1.0 and mb <= 45 and db >= exact - 0.5
        elif case == "png":
            target = "<= 1.0 x vips, <= 130 MB"
            ok = ratio <= 1.0 and mb <= 130
        else:
            target, ok = "-", None
        default = p + "ours_default_"
        if default + "wall_ms" in f:
            new += (f"; default crop (face framing) {_g(f, default + 'wall_ms'):.0f} ms, "
                    f"{_g(f, default + 'rss_mb'):.0f} MB")
        rows.append((label, TODAY[case], new, target, ok))
    ratio = _g(f, "startup_ratio")
    rows.append(("window cold start -> first paint",
                 TODAY["first_paint"],
                 f"{_g(f, 'startup_app_first_paint_ms'):.0f} ms, "
                 f"{_g(f, 'startup_app_rss_mb'):.0f} MB; {ratio:.2f} x hello world "
                 f"({_g(f, 'startup_hello_first_paint_ms'):.0f} ms)",
                 "<= 1.6 x hello world", ratio <= 1.6))
    rows.append(("window cold start -> painted with every part (ready for input)", "-",
                 f"{_g(f, 'startup_app_ready_ms'):.0f} ms", "-", None))
    rows.append(("window peak memory (24 MP photo, exact preview)", "-",
                 f"{_g(f, 'window_peak_rss_mb'):.0f} MB", "-", None))
    exact = _g(f, "gui_exact_after_editor_ms")
    rows.append(("file opened -> exact preview (after the editor shows it)", TODAY["exact"],
                 f"{exact:.0f} ms", "<= 150 ms", exact <= 150))
    p95, top = _g(f, "gui_pan_step_p95_ms"), _g(f, "gui_pan_step_max_ms")
    rows.append(("pan step through Qt's paint (p95 / max)", TODAY["pan"],
                 f"{p95:.1f} / {top:.1f} ms", "p95 <= 8 ms", p95 <= 8))
    stalls = [_g(f, k) for k in ("gui_open_24mp_max_stall_ms", "gui_sharp_zoom_max_stall_ms",
                                 "gui_upload_refresh_max_stall_ms", "gui_pan_step_max_ms",
                                 "startup_stall_ms")]
    worst = max((s for s in stalls if not math.isnan(s)), default=math.nan)
    rows.append(("longest stall (start-up, open, sharp zoom, upload, pan step)",
                 TODAY["stall"],
                 f"{worst:.0f} ms", "< 50 ms", worst < 50))
    return rows


def print_table(f: dict[str, float]) -> None:
    one, five, fifteen = os.getloadavg()
    print(f"== issue 15: today vs this run (load average now {one:.2f} {five:.2f} "
          f"{fifteen:.2f} on {os.cpu_count()} CPUs; cli run at {_g(f, 'cli_load_1min'):.2f}, "
          f"gui at {_g(f, 'gui_load_1min'):.2f}) ==")
    print("| job | today (issue 15) | this run | target | met |")
    print("|---|---|---|---|---|")
    for job, today, new, target, ok in table(f):
        verdict = "-" if ok is None else ("yes" if ok else "NO")
        print(f"| {job} | {today} | {new} | {target} | {verdict} |")
