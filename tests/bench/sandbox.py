"""Benchmark: the sandbox's own speed (start/stop, users/show under load, image processing).

Figures only, no targets: they show the sandbox is never the slow part of a test or demo.
Run: ``python -m tests.bench sandbox`` (or ``python -m tests.bench.sandbox``).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from avatar_studio.core.sandbox import images
from avatar_studio.core.sandbox.config import SandboxConfig
from avatar_studio.core.sandbox.server import SandboxServer
from PIL import Image
from requests_oauthlib import OAuth1

CLIENTS = 20
REQUESTS_PER_CLIENT = 50


def _photo(side: int) -> bytes:
    img = Image.effect_mandelbrot((side, side), (-2.0, -1.5, 1.0, 1.5), 100).convert("RGB")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def run() -> dict[str, float]:
    figures: dict[str, float] = {}
    started = time.perf_counter()
    server = SandboxServer(SandboxConfig(processing_delay=0.0,
                                         rate_limits={"users_show": 10**6}))
    base = server.start()
    figures["sandbox_start_ms"] = (time.perf_counter() - started) * 1000
    demo = server.demo
    auth = OAuth1(demo.api_key, demo.api_secret, demo.access_token, demo.access_secret)
    latencies: list[float] = []

    def client(_: int) -> None:
        with requests.Session() as session:
            for _ in range(REQUESTS_PER_CLIENT):
                t0 = time.perf_counter()
                response = session.get(f"{base}/1.1/users/show.json", auth=auth, timeout=30,
                                       params={"user_id": demo.user_id})
                latencies.append(time.perf_counter() - t0)
                response.raise_for_status()

    t0 = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    wall = time.perf_counter() - t0
    total = CLIENTS * REQUESTS_PER_CLIENT
    latencies.sort()
    figures["users_show_req_per_s"] = total / wall
    figures["users_show_p50_ms"] = statistics.median(latencies) * 1000
    figures["users_show_p95_ms"] = latencies[int(0.95 * len(latencies)) - 1] * 1000

    photo = _photo(2000)
    t0 = time.perf_counter()
    images.process(photo)
    figures["process_2000px_png_ms"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    server.stop()
    figures["sandbox_stop_ms"] = (time.perf_counter() - t0) * 1000

    print(f"start {figures['sandbox_start_ms']:.0f} ms, stop {figures['sandbox_stop_ms']:.0f} ms")
    print(f"users/show, {CLIENTS} clients x {REQUESTS_PER_CLIENT}: "
          f"{figures['users_show_req_per_s']:.0f} req/s, p50 "
          f"{figures['users_show_p50_ms']:.1f} ms, p95 {figures['users_show_p95_ms']:.1f} ms")
    print(f"processing a 2000x2000 PNG into 6 variants: "
          f"{figures['process_2000px_png_ms']:.0f} ms")
    return figures


if __name__ == "__main__":
    run()
    sys.exit(0)
