"""/metrics of a server with two worker processes: whichever answers the scrape, it counts
the requests both served (PROMETHEUS_MULTIPROC_DIR, as `jifen serve --workers N` sets)."""

from __future__ import annotations

import os
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

    def ready_count() -> float:
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        return metric(text, "jifen_http_requests_total", method="GET", route="/readyz",
                      status="200") or 0

    try:
        # /readyz, not /healthz: the start-up polls /healthz with a 1 s timeout, and on a
        # loaded machine a probe the client gave up on may still be answered (and counted)
        # by a worker that was slow to start, after any settling this test could wait for.
        before = ready_count()
        for _ in range(40):  # a new connection each: the kernel spreads them over workers
            assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
        # Each worker that answered keeps its counts in its own file.
        assert len({p.name.rsplit("_", 1)[-1] for p in shared.glob("counter_*.db")}) == 2
        for _ in range(6):  # whichever worker answers, the sum of both
            assert ready_count() == before + 40
    finally:
        server.kill()
