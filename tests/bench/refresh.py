"""Benchmark: how fast the client returns the new picture once X publishes it.

The target (issue 5): from users/show first reporting the new URL to the client returning
the image, at most 1.5 s. Measured against the in-process sandbox over loopback HTTP,
with the client's real poll schedule (1 s at first) and, optionally, added latency on
every API response to stand in for a real network.

Run: ``python -m tests.bench.refresh [--runs N] [--latency S]``
(or ``python -m tests.bench refresh`` through the dispatcher).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace

from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.x.client import AccessTokens, ConsumerKeys, XClient
from avatar_studio.core.services.x.refresh import PollPolicy

from tests.core.x.helpers import noise_png

TARGET_S = 1.5


def _ms(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms")


def measure(runs: int, latency_s: float, processing_delay_s: float) -> dict[str, list[float]]:
    config = SandboxConfig(processing_delay=processing_delay_s)
    detect: list[float] = []
    publish: list[float] = []
    with SandboxServer(config) as server:
        demo = server.demo
        # The real schedule, except the documented 5 s minimum wait (shortened so the
        # benchmark does not spend most of its time sleeping; it does not affect latency).
        policy = replace(PollPolicy(), min_wait_s=0.2)
        client = XClient(ConsumerKeys(demo.api_key, demo.api_secret),
                         AccessTokens(demo.access_token, demo.access_secret),
                         api_base=server.base_url, poll=policy)
        server.faults.set_latency(latency_s)
        for run in range(runs):
            before = client.show_user(demo.user_id)
            client.upload_profile_image(noise_png(300, seed=run), mime_type="image/png",
                                        filename="bench.png")
            # The sandbox publishes processing_delay after it accepted the upload; the
            # answer left it about one latency before we got it back.
            published_at = time.monotonic() - latency_s + processing_delay_s
            result = client.wait_for_new_image(demo.user_id, before.profile_image_url_https)
            detect.append(result.detect_to_return_s)
            publish.append(time.monotonic() - published_at)
    return {"detect": detect, "publish": publish}


def run(runs: int = 5, latencies: Sequence[float] = (0.0, 0.1),
        processing_delay_s: float = 1.3) -> dict[str, float]:
    """Print the figures and return them (for ``python -m tests.bench``)."""
    figures: dict[str, float] = {}
    for latency in latencies:
        measured = measure(runs, latency, processing_delay_s)
        worst = max(measured["detect"])
        print(f"refresh latency, added API latency {latency * 1000:.0f} ms, {runs} runs:")
        print(f"  users/show reports new URL -> image returned: {_ms(measured['detect'])} "
              f"(target <= {TARGET_S * 1000:.0f} ms: "
              f"{'met' if worst <= TARGET_S else 'MISSED'})")
        print(f"  sandbox publishes -> image returned (includes the poll interval): "
              f"{_ms(measured['publish'])}", flush=True)
        tag = f"refresh_lat{latency * 1000:.0f}ms"
        figures[f"{tag}_detect_to_return_median_ms"] = statistics.median(
            measured["detect"]) * 1000
        figures[f"{tag}_detect_to_return_max_ms"] = worst * 1000
        figures[f"{tag}_publish_to_return_median_ms"] = statistics.median(
            measured["publish"]) * 1000
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.refresh")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, action="append",
                        help="seconds added to every API response (repeatable; "
                             "default 0 and 0.1)")
    parser.add_argument("--processing-delay", type=float, default=1.3)
    args = parser.parse_args(argv)
    figures = run(args.runs, args.latency or (0.0, 0.1), args.processing_delay)
    worst = max(v for k, v in figures.items() if k.endswith("_detect_to_return_max_ms"))
    return 0 if worst <= TARGET_S * 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
