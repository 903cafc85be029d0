"""Engine and the request's session: the one place that commits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Annotated, Any

import anyio
import anyio.to_thread
import sqlalchemy as sa
from fastapi import Depends, Request
from sqlmodel import Session

from app.settings import get_settings

# Execution option marking a connection that only reads (see _sqlite_begin).
READ_ONLY = "jifen_read_only"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Seconds libpq waits for each PostgreSQL host to answer a new connection.
CONNECT_TIMEOUT = 3


def make_engine(url: str) -> sa.Engine:
    """The app's engine. Its errors, and so the logs, never show a statement's values
    (hide_parameters): a member's name, a password hash, an API key's digest."""
    settings = get_settings()
    pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True, **pool
        )

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()
            # Let SQLAlchemy, not pysqlite, decide when transactions begin, so
            # SAVEPOINTs and rollbacks behave as they do on PostgreSQL.
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(connection: sa.Connection) -> None:
            # A writer takes SQLite's one write lock when it begins (IMMEDIATE), so writers
            # queue on busy_timeout instead of failing when a read-then-write transaction
            # finds its snapshot stale (SQLITE_BUSY_SNAPSHOT). Readers (GET pages) stay
            # DEFERRED and run beside the writer, on the WAL.
            read_only = connection.get_execution_options().get(READ_ONLY, False)
            connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    # A server that does not answer (a machine gone, a network cut) fails a connection
    # after CONNECT_TIMEOUT seconds per host of the URL, unless the URL says otherwise: a
    # request, /readyz too, is then answered 503 rather than held (docs/deployment.md).
    given = sa.make_url(url).query
    connect = {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT}
    return sa.create_engine(url, pool_pre_ping=True, connect_args=connect,
                            hide_parameters=True, **pool)


@lru_cache
def get_engine() -> sa.Engine:
    return make_engine(get_settings().database_url)


def get_read_engine() -> sa.Engine:
    """The same engine and pool, for requests that only read (SQLite: deferred BEGIN)."""
    return _read_only(get_engine())


@lru_cache(maxsize=4)
def _read_only(engine: sa.Engine) -> sa.Engine:
    return engine.execution_options(**{READ_ONLY: True})


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[Session]:
    """A session committed when the block ends, rolled back if it raised."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; committed when the handler returns, rolled back if it raised.

    Unsafe methods (POST, PUT, ...) are writers: on SQLite they begin IMMEDIATE, so two
    committee members approving at once queue for the lock; the second then sees the
    first's decision and is refused (409), never a 503. On PostgreSQL the services lock the
    branch row first (app/services/locking.py).

    Async: making the session does no I/O (it connects at its first query, in the thread
    of whatever runs it), so only the commit and the close cost a worker-thread hop, and
    none when a read's endpoint ended its transaction in its own thread (app/hops.py). They
    are shielded: a client that goes away cannot leave the connection checked out.
    """
    engine = get_read_engine() if request.method in SAFE_METHODS else get_engine()
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        if _ended(session):
            session.close()
            raise
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end, session, False)
        raise
    if _ended(session):
        session.close()
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_end, session, True)


def _ended(session: Session) -> bool:
    """Nothing begun, or already ended in the endpoint's thread (a read, app/hops.py):
    closing does no I/O, so it needs no hop to a thread."""
    return not session.in_transaction() and not (session.new or session.dirty or session.deleted)


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": the commit happens before the answer is sent, so a failed
# commit is an error answer, never a success that was not stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def core(session: Session, statement: sa.Executable,
         params: dict[str, Any] | list[dict[str, Any]] | None = None,
         ) -> sa.CursorResult[*tuple[Any, ...]]:
    """Run a Core statement on the session's transaction: plain rows, no ORM processing.

    For the hot read paths (a prebuilt SELECT costs a fraction of an ORM query). Pending ORM
    changes are flushed first, as `session.execute` would, so the statement sees them.
    """
    session.flush()
    return session.connection().execute(statement, params)


def bulk_insert(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL (about 7 times
    faster than an executemany of INSERTs), executemany elsewhere. No ids come back."""
    if not rows:
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    names = ", ".join(connection.dialect.identifier_preparer.quote(c) for c in columns)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
