"""Hostile image files through ``avatar-studio-cli render``: the seeded mutation corpus.

Every case must end with exit 0 (and a valid, uploadable file) or one of the image exit
codes 10-19 with exactly one ``error:`` line: never exit 70, never a traceback, never a
library's diagnostics on stderr, never a temp file left behind.
``AVATAR_STUDIO_FUZZ_CASES=5000`` runs more cases; ``AVATAR_STUDIO_FUZZ_SEED`` others.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from avatar_studio.core import cli
from avatar_studio.core.services.x.spec import X_SPEC
from PIL import Image

from tests.hostile import corpus

IMAGE_CODES = frozenset(range(10, 20))


def _check_output(out: Path) -> str | None:
    """What is wrong with a written render, or None."""
    size = out.stat().st_size
    if not 0 < size < X_SPEC.max_bytes_exclusive:
        return f"output is {size} bytes"
    with Image.open(out) as im:
        fmt = im.format
        im.load()
        w, h = im.size
    if fmt not in X_SPEC.formats:
        return f"output is {fmt}"
    if not (w == h and 1 <= w <= X_SPEC.output_side):
        return f"output is {w}×{h}"
    return None


def _stderr_problem(err: str) -> str | None:
    if "Traceback" in err:
        return "traceback on stderr"
    lines = [line for line in err.splitlines() if line.strip()]
    stray = [line for line in lines if not line.startswith(("error: ", "warning: "))]
    if stray:
        return f"stray stderr line {stray[0]!r}"
    if sum(line.startswith("error: ") for line in lines) > 1:
        return "more than one error line"
    return None


@pytest.mark.allow_log_warnings  # damaged colour profiles are logged, and ignored
def test_mutation_corpus_in_process(tmp_path: Path, capfd: pytest.CaptureFixture[str]):
    work = tmp_path / "in"
    work.mkdir()
    out = tmp_path / "out" / "avatar.png"
    out.parent.mkdir()
    failures: list[str] = []
    outcomes: dict[int, int] = {}
    slowest = (0.0, -1, "")
    tried = 0
    for case in corpus.cases():
        tried += 1
        src = work / case.file_name
        src.write_bytes(case.data)
        out.unlink(missing_ok=True)
        started = time.perf_counter()
        code = cli.main(["render", str(src), "-o", str(out)])
        elapsed = time.perf_counter() - started
        _, err = capfd.readouterr()
        if elapsed > slowest[0]:
            slowest = (elapsed, case.number, case.sample)
        outcomes[code] = outcomes.get(code, 0) + 1
        problem = None
        if code == 0:
            problem = _check_output(out)
        elif code not in IMAGE_CODES:
            problem = f"exit {code}"
        elif out.exists():
            problem = "an output was written for a failed render"
        problem = problem or _stderr_problem(err)
        leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
        if leftovers:
            problem = problem or f"left {leftovers}"
        if problem:
            failures.append(f"case {case.number} ({case.sample}: {case.what}): {problem}\n"
                            f"  stderr: {err.strip()[-300:]}")
        src.unlink()
    with capfd.disabled():
        print(f"\nimage corpus: {tried} cases, {len(failures)} failures, outcomes "
              f"{dict(sorted(outcomes.items()))}, slowest case {slowest[1]} "
              f"({slowest[2]}) {slowest[0] * 1000:.0f} ms")
    assert tried >= min(corpus.case_count(), 300)
    # Every sample decodes unharmed in some cases, and damage is seen in others.
    assert outcomes.get(0, 0) > 0
    assert outcomes.get(15, 0) > 0
    assert not failures, "\n".join(failures[:20])


def _whole_process_cases() -> list[corpus.Case]:
    """A few cases per noisy decoder (libtiff, libavif, libheif) for real processes."""
    wanted = {"tiff": 3, "tiff-deflate": 3, "avif": 3, "heic": 2, "jpeg": 1, "gif-animated": 1}
    chosen: list[corpus.Case] = []
    for case in corpus.cases(600):
        if wanted.get(case.sample, 0) > 0:
            wanted[case.sample] -= 1
            chosen.append(case)
    return chosen


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "avatar_studio.core.cli", *args],
                          capture_output=True, text=True, timeout=60, cwd=cwd, check=False)


def test_mutation_corpus_as_whole_processes(tmp_path: Path):
    """The real process: native libraries print on fd 2 and Python prints warnings
    there; none of it may reach the user's terminal."""
    failures = []
    cases = _whole_process_cases()
    for case in cases:
        src = tmp_path / case.file_name
        src.write_bytes(case.data)
        done = _cli("render", str(src), "-o", str(tmp_path / "o.png"), cwd=tmp_path)
        problem = (f"exit {done.returncode}" if done.returncode not in IMAGE_CODES | {0}
                   else _stderr_problem(done.stderr))
        if problem:
            failures.append(f"case {case.number} ({case.sample}): {problem}: {done.stderr!r}")
    assert len(cases) == 13
    assert not failures, "\n".join(failures)


def test_damaged_tiff_prints_one_error_line_and_no_libtiff_diagnostics(tmp_path: Path):
    data = bytearray(corpus.samples()["tiff-deflate"])
    data[len(data) // 3: len(data) // 3 + 64] = bytes(64)  # zeroed deflate stream
    src = tmp_path / "damaged.tiff"
    src.write_bytes(bytes(data))
    done = _cli("render", str(src), "-o", str(tmp_path / "o.png"), cwd=tmp_path)
    assert done.returncode == 15, done.stderr
    assert done.stderr.splitlines() == [
        line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(done.stderr.splitlines()) == 1, done.stderr


def test_damaged_avif_is_a_damaged_image_not_an_internal_error(tmp_path, capsys):
    # Decodes its header but not its colour planes: libavif's RuntimeError.
    data = bytearray(corpus.samples()["avif"])
    i = len(data) - 200
    data[i:i] = bytes(data[i - 300:i])
    src = tmp_path / "broken.avif"
    src.write_bytes(bytes(data))
    code = cli.main(["render", str(src), "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 15, err
    assert err.startswith("error: broken.avif is damaged"), err


@pytest.mark.parametrize(("screen", "frame"), [((1, 1), (65535, 65535)),
                                               ((100, 100), (65535, 65535)),
                                               ((65535, 65535), (65535, 65535))])
def test_huge_gif_frame_is_too_many_pixels(tmp_path, capsys, screen, frame):
    src = tmp_path / "huge.gif"
    src.write_bytes(corpus.gif(screen, frame))
    code = cli.main(["render", str(src), "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert code == 16, err
    # "has 4294.8 megapixels;" or "is 65535×65535 pixels (4294.8 megapixels);"
    assert "4294.8 megapixels" in err
    assert "the limit is 80 megapixels" in err


def test_huge_png_header_is_too_many_pixels(tmp_path, capsys):
    src = tmp_path / "huge.png"
    src.write_bytes(corpus.png_huge_size())
    code = cli.main(["render", str(src), "-o", str(tmp_path / "o.png")])
    assert code == 16
    assert "1000000×1000000 pixels" in capsys.readouterr().err
