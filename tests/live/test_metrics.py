"""/metrics of a server with two worker processes: whichever answers the scrape, it counts
the requests both served (PROMETHEUS_MULTIPROC_DIR, as `jifen serve --workers N` sets)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx2 as httpx

from tests.api.test_ops import metric
from tests.live.support import LiveServer


def test_every_worker_counts_in_every_scrape(live_database: str,
                                             tmp_path: os.PathLike[str]) -> None:
    shared = Path(tmp_path) / "metrics"
    shared.mkdir()
    server = LiveServer(live_database, workdir=Path(tmp_path),
                        env={"PROMETHEUS_MULTIPROC_DIR": str(shared)})
    server.start()

    def healthz_count() -> float:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        return metric(text, "jifen_http_requests_total", method="GET", route="/healthz",
                      status="200") or 0

    try:
        # The start-up's own checks, once settled: on a loaded machine a readiness probe
        # the client gave up on may still be answered (and counted) after the first scrape.
        before, previous = healthz_count(), -1.0
        for _ in range(20):
            if before == previous:
                break
            time.sleep(0.5)
            before, previous = healthz_count(), before
        for _ in range(40):  # a new connection each: the kernel spreads them over workers
            assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200
        # Each worker that answered keeps its counts in its own file.
        assert len({p.name.rsplit("_", 1)[-1] for p in shared.glob("counter_*.db")}) == 2
        for _ in range(6):  # whichever worker answers, the sum of both
            assert healthz_count() == before + 40
    finally:
        server.kill()
