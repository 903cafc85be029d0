"""Alembic environment: the only way the schema is made or changed."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app.db import make_engine
from app.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _url() -> str:
    return str(config.attributes.get("url") or get_settings().database_url)


def _partitions(connection: Any) -> frozenset[str]:
    """PostgreSQL tables that are partitions of another (entry_y2025 of a partitioned entry)."""
    if connection.dialect.name != "postgresql":
        return frozenset()
    rows = connection.exec_driver_sql(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relispartition AND n.nspname = current_schema()")
    return frozenset(name for (name,) in rows)


def _include(connection: Any) -> Any:
    """Compare the models with everything but year partitions (docs/scaling.md, section 2)
    and the benchmark's description of its data set (bench_meta)."""
    partitions: list[frozenset[str]] = []  # looked up at the first comparison, not before:
    # a query here would open the connection's transaction ahead of Alembic's own.

    def skipped(name: str | None) -> bool:
        if not partitions:
            partitions.append(_partitions(connection))
        return name in partitions[0] or name == "bench_meta"

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        if type_ == "table" and reflected and compare_to is None:
            return not skipped(name)
        if type_ == "index" and reflected and compare_to is None:
            return not skipped(getattr(obj.table, "name", None))
        return True

    return include_object


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with _one_at_a_time(engine), engine.connect() as connection:
        _run(connection)
    engine.dispose()


# The key of the PostgreSQL advisory lock migrations take (any 64-bit number Jifen alone
# uses: "jifen" in ASCII).
MIGRATION_LOCK = 0x6A6966656E


@contextmanager
def _one_at_a_time(engine: Any) -> Iterator[None]:
    """Two app servers started together (docs/deployment.md) each upgrade the schema: on
    PostgreSQL the second waits on an advisory lock until the first is done, then finds the
    schema at head and does nothing, instead of running the same migration beside it. The
    lock is held by a connection of its own and goes with it if the process dies. A SQLite
    file is locked the same way, by a lock file beside it (`_sqlite_lock`)."""
    if engine.dialect.name == "sqlite":
        with _sqlite_lock(engine.url.database):
            yield
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as locker:
        locker.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        try:
            yield
        finally:
            locker.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")


@contextmanager
def _sqlite_lock(database: str | None) -> Iterator[None]:
    """An exclusive lock (flock) on `<database>-migrate.lock`, held while migrating and
    released when the process ends, however it ends. SQLite's own write lock is not
    enough: alembic runs each SQLite migration in a transaction of its own, so one
    process can read the version, then run a migration the other applied meanwhile (the
    two-migrators test failed so once, in a full run on a loaded machine, 2026-12-07).
    An in-memory database has no second process to wait for."""
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    with open(f"{database}-migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(connection: Any) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True,
                      include_object=_include(connection))
    with _sqlite_foreign_keys_off(connection), context.begin_transaction():
        context.run_migrations()


@contextmanager
def _sqlite_foreign_keys_off(connection: Any) -> Iterator[None]:
    """SQLite changes a column by copying the table and dropping the old one (batch mode);
    with foreign keys on, dropping a table other rows refer to (rating, rule_set) fails.
    So they are off while migrating, as SQLite's documentation advises for such changes,
    and every reference is checked before they are on again. The pragma only takes effect
    outside a transaction: it is sent on the driver's connection, before Alembic begins."""
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        yield
        return
    driver = connection.connection.dbapi_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        dangling = driver.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            raise RuntimeError(f"the migration left rows referring to nothing: {dangling[:5]}")
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
