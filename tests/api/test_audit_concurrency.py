"""Two transactions appending to the audit log at once never chain to the same row.

On a SQLite file of the test's own, and on PostgreSQL (a schema of the test's own in
JIFEN_TEST_DATABASE_URL's database) when that points at one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel, col, select

from app.db import make_engine
from app.models import AuditLog
from app.services import audit
from app.services.integrity import Report, check_audit_chain

NOW = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
SCHEMA = "jifen_audit_race"


@pytest.fixture(params=["sqlite", "postgresql"])
def race_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An empty database with the tables, of this test's own, that threads may commit to."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'race.db'}")
        SQLModel.metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    url = os.environ.get("JIFEN_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("JIFEN_TEST_DATABASE_URL does not point at PostgreSQL")
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
    SQLModel.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {SCHEMA} CASCADE")
        admin.dispose()


def in_threads(*targets: Callable[[], None], timeout: float = 60) -> None:
    """Run the targets in threads at once; re-raise the first error any of them met."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # handed to the test below
                errors.append(error)
        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a writer hung"
    if errors:
        raise errors[0]


def chain(engine: sa.Engine) -> list[AuditLog]:
    with Session(engine) as session:
        rows = list(session.exec(select(AuditLog).order_by(col(AuditLog.id))).all())
        report = Report()
        check_audit_chain(session, report)
    assert report.ok, report.problems
    hashes = [row.prev_hash for row in rows]
    assert len(set(hashes)) == len(hashes), "two rows chain to the same previous row"
    return rows


def record(session: Session, action: str, object_id: int = 1) -> AuditLog:
    return audit.record(session, actor_id=None, action=action, object_type="test",
                        object_id=object_id, at=NOW, after={"n": object_id})


def test_a_second_writer_waits_for_the_first_and_chains_to_its_row(
    race_engine: sa.Engine,
) -> None:
    """B starts appending while A's row is written but not committed: B must wait for A
    and chain to A's row, not to the row before it (which is what A chained to)."""
    with Session(race_engine) as session:
        record(session, "test.first")
        session.commit()
    a_written, b_appending = threading.Event(), threading.Event()
    moments: dict[str, float] = {}

    def writer_a() -> None:
        with Session(race_engine) as session:
            record(session, "test.a")
            session.flush()
            a_written.set()
            assert b_appending.wait(10)
            time.sleep(0.5)  # B is inside record() by now, and must be kept waiting
            moments["a_committed"] = time.monotonic()
            session.commit()

    def writer_b() -> None:
        assert a_written.wait(10)
        with Session(race_engine) as session:
            b_appending.set()
            record(session, "test.b")
            moments["b_chained"] = time.monotonic()
            session.commit()

    in_threads(writer_a, writer_b)
    rows = chain(race_engine)
    assert [r.action for r in rows] == ["test.first", "test.a", "test.b"]
    assert rows[2].prev_hash == rows[1].hash and rows[1].prev_hash == rows[0].hash
    assert moments["b_chained"] >= moments["a_committed"]


def test_many_writers_make_one_chain(race_engine: sa.Engine) -> None:
    """Writers that each read first, as a request does, then append; a writer the database
    turns away (SQLite: "database is locked" when its snapshot is stale, answered 503 by
    the app) tries again, as a client would. The log ends as one unbroken chain."""
    writers, appends = 4, 10
    refused: list[int] = []

    def writer(number: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(appends):
                for _attempt in range(200):
                    try:
                        with Session(race_engine) as session:
                            session.exec(select(sa.func.count()).select_from(AuditLog)).one()
                            record(session, f"test.w{number}", i)
                            session.commit()
                        break
                    except OperationalError:
                        refused.append(number)
                        time.sleep(0.01)
                else:
                    raise AssertionError(f"writer {number} never got to append")
        return run

    in_threads(*(writer(n) for n in range(writers)))
    rows = chain(race_engine)
    assert len(rows) == writers * appends
    if race_engine.dialect.name == "postgresql":
        assert not refused  # writers wait for the lock there, nobody is turned away


def test_the_lock_is_held_until_the_transaction_ends(race_engine: sa.Engine) -> None:
    """After record(), another transaction cannot append until this one ends, even when
    it rolls back; then the other chains to the last committed row."""
    with Session(race_engine) as session:
        first_hash = record(session, "test.first").hash
        session.commit()
    done: dict[str, Any] = {}
    holding = threading.Event()

    def holder() -> None:
        with Session(race_engine) as session:
            record(session, "test.rolled_back")
            session.flush()
            holding.set()
            time.sleep(0.5)
            done["released"] = time.monotonic()
            session.rollback()

    def other() -> None:
        assert holding.wait(10)
        with Session(race_engine) as session:
            row = record(session, "test.other")
            done["appended"] = time.monotonic()
            session.commit()
            done["prev"] = row.prev_hash

    in_threads(holder, other)
    assert done["appended"] >= done["released"]
    assert done["prev"] == first_hash
    assert [r.action for r in chain(race_engine)] == ["test.first", "test.other"]
