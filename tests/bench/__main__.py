"""``python -m tests.bench [NAME ...]``: run the benchmarks (default: all of them).

A benchmark module has either ``run() -> dict[str, float]`` (it prints its own table and
returns its figures) or ``main(argv) -> int`` (it prints its own report; non-zero means a
target was missed). The figures of every benchmark are merged and printed as the LAST
line, one JSON object, for machines to read.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

#: Benchmark modules under tests.bench, in the order they run.
BENCHMARKS: tuple[str, ...] = ("imaging", "refresh", "gui", "sandbox")


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
    print(json.dumps(figures), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
