"""Throwaway databases for tests that need one of their own (not the rolled-back test one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from app.db import make_engine


@contextmanager
def new_databases(base_url: str) -> Iterator[Callable[[str], str]]:
    """make(prefix): the URL of a new empty database on base_url's PostgreSQL server;
    every one made is dropped when the block ends."""
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as connection:
            for name in made:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def fresh_database(base_url: str, name: str) -> str:
    """The URL of an empty database called name on base_url's PostgreSQL server (one left
    by an interrupted run is dropped first)."""
    admin = make_engine(base_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop url's database, connected to its server's `postgres` database."""
    target = sa.make_url(url)
    admin = make_engine(target.set(database="postgres").render_as_string(
        hide_password=False)).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    admin.dispose()


@contextmanager
def empty_database(tmp_path: Path, prefix: str) -> Iterator[str]:
    """An empty database: a SQLite file in tmp_path, or a new database on the PostgreSQL
    server of JIFEN_TEST_DATABASE_URL, dropped afterwards."""
    base = os.environ.get("JIFEN_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path}/{prefix}.db"
        return
    with new_databases(base) as make:
        yield make(prefix)
