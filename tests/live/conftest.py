"""A real server for the concurrency and fault tests: uvicorn in its own process group.

Each test gets a fresh database built by the migrations (a SQLite file, or a new database
on the PostgreSQL server of JIFEN_TEST_DATABASE_URL) and a server with two worker
processes on a free port, so requests really run in parallel, in several processes, as
behind a load balancer. The server runs on the real clock; the tests date their records
in the previous year, all of whose quarters are over.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db import make_engine
from app.migrate import upgrade
from tests.live.support import LiveServer


@pytest.fixture
def live_database(tmp_path: os.PathLike[str]) -> Iterator[str]:
    """URL of an empty database at the head revision, dropped after the test."""
    base = os.environ.get("JIFEN_TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path}/live.db"
        upgrade(url)
        yield url
        return
    name = f"jifen_live_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def live_server(live_database: str, tmp_path: os.PathLike[str]) -> Iterator[LiveServer]:
    server = LiveServer(live_database, workdir=Path(tmp_path))
    server.start()
    try:
        yield server
    finally:
        server.kill()
