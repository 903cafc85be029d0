"""A real server for the concurrency and fault tests: uvicorn in its own process group.

Each test gets a fresh database built by the migrations (a SQLite file, or a new database
on the PostgreSQL server of JIFEN_TEST_DATABASE_URL) and a server with two worker
processes on a free port, so requests really run in parallel, in several processes, as
behind a load balancer. The server runs on the real clock; the tests date their records
in the previous year, all of whose quarters are over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.migrate import upgrade
from tests.databases import empty_database
from tests.live.support import LiveServer


@pytest.fixture
def live_database(tmp_path: os.PathLike[str]) -> Iterator[str]:
    """URL of an empty database at the head revision, dropped after the test."""
    with empty_database(Path(tmp_path), "jifen_live") as url:
        upgrade(url)
        yield url


@pytest.fixture
def live_server(live_database: str, tmp_path: os.PathLike[str]) -> Iterator[LiveServer]:
    server = LiveServer(live_database, workdir=Path(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.kill()
