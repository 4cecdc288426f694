"""Line coverage per package from the last `make unit` run, and the modules that must be
fully covered (the error mappings and the publish use case).

Run by `make unit` after pytest --cov; exits 1 when a must-be-full module is not.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parents[2]
#: Checkout paths that must have every line run by the suite.
MUST_BE_FULL = ("core/services/errors.py", "core/services/x/errors.py",
                "core/services/mastodon/errors.py", "core/services/bluesky/errors.py",
                "core/publish.py")


def main() -> int:
    cov = coverage.Coverage(config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    data = cov.get_data()
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_file: dict[str, tuple[int, int]] = {}
    for filename in sorted(data.measured_files()):
        path = Path(filename).resolve()
        try:
            relative = path.relative_to(ROOT)
        except ValueError:
            continue
        _, statements, _, missing, _ = cov.analysis2(filename)
        run = len(statements) - len(missing)
        per_file[relative.as_posix()] = (run, len(statements))
        package = relative.parent.as_posix()
        totals[package][0] += run
        totals[package][1] += len(statements)
    print(f"{'package':40} {'lines':>7} {'run':>7} {'cover':>7}")
    for package, (lines_run, lines) in sorted(totals.items()):
        percent = 100.0 * lines_run / lines if lines else 100.0
        print(f"{package:40} {lines:7d} {lines_run:7d} {percent:6.1f}%")
    all_run = sum(r for r, _ in totals.values())
    all_lines = sum(s for _, s in totals.values())
    print(f"{'total':40} {all_lines:7d} {all_run:7d} {100.0 * all_run / max(1, all_lines):6.1f}%")
    short = [f"{name} ({run}/{statements})" for name in MUST_BE_FULL
             for run, statements in [per_file.get(name, (0, 1))] if run < statements]
    if short:
        print("not fully covered, but must be: " + ", ".join(short), file=sys.stderr)
        return 1
    print("fully covered: " + ", ".join(MUST_BE_FULL))
    return 0


if __name__ == "__main__":
    sys.exit(main())
