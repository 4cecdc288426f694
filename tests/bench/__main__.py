"""``python -m tests.bench [NAME ...]``: run the benchmarks (default: all of them).

A benchmark module has either ``run() -> dict[str, float]`` (it prints its own table and
returns its figures) or ``main(argv) -> int`` (it prints its own report; non-zero means a
target was missed). The figures of every benchmark are merged and printed as the LAST
line, one JSON object, for machines to read; before it, when cli, startup and gui ran,
the issue-15 table (today's figures beside this run's, with the load average).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

#: Benchmark modules under tests.bench, in the order they run.
BENCHMARKS: tuple[str, ...] = ("cli", "startup", "gui", "refresh", "sandbox", "faces")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    figures: dict[str, float] = {}
    status = 0
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"== {name} ==", flush=True)
        if hasattr(module, "run"):
            figures.update(module.run())
        else:
            code = int(module.main([]))
            figures[f"{name}_exit_code"] = code
            status = status or code
        sys.stdout.flush()
    if {"cli", "startup", "gui"} <= set(args.names or BENCHMARKS):
        from tests.bench.report import print_table
        print_table(figures)
    print(json.dumps(figures), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
