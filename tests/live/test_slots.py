"""Many more simultaneous requests than database connections and threads: none stalls.

The server gets 2 connections (pool 1 + overflow 1) and 1 worker thread per process, and 40
requests arrive at once. Each request takes a connection in one thread hop (who is calling)
and gives it back in a later one (the commit). Without app.limits.RequestSlots, the one
thread ends up held by a request waiting for a connection while both connections are held
by requests waiting for the thread: every request then waits for the pool's 30-second
timeout and fails. With it, at most 2 requests are inside at once and all 40 are answered.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.support import Api, LiveServer, at_once, build_world

TINY = {"JIFEN_DB_POOL_SIZE": "1", "JIFEN_DB_MAX_OVERFLOW": "0", "JIFEN_WORKER_THREADS": "1"}


@pytest.fixture
def tiny_server(live_database: str, tmp_path: os.PathLike[str]) -> Iterator[LiveServer]:
    server = LiveServer(live_database, workdir=Path(tmp_path), workers=1, env=TINY)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def test_more_requests_than_connections_and_threads_are_all_answered(
        tiny_server: LiveServer) -> None:
    api: Api = build_world(tiny_server)
    api.headers("a1")
    api.headers("sec_a")
    member = api.members["a1"]
    calls = [(lambda who=who: api.call(who, "GET", f"/members/{member}/score"))
             for who in ("a1", "sec_a") * 20]
    started = time.monotonic()
    answers = at_once(calls)
    elapsed = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 40, [a.text for a in answers[:3]]
    assert len({a.json()["score"] for a in answers}) == 1
    # The pool's timeout is 30 s: a stall would show as that, or as failures.
    assert elapsed < 20, elapsed
