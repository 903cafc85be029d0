"""`jifen backup` and `jifen restore`: the demo's every score, and every row of its annual
ratings' steps (the ballot's voters and counts, self-assessments, objections, exemptions),
survives a round trip.

SQLite always (a file database of the test's own); PostgreSQL when
JIFEN_TEST_DATABASE_URL points at one (scratch databases beside it).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlmodel import Session, col, select

from app import backup as backups
from app import db, settings
from app.api.members import score_out
from app.cli import main
from app.clock import FixedClock
from app.demo import load_demo
from app.migrate import alembic_config, upgrade
from app.models import Account, Member
from app.services.access import load_actor
from app.services.member_score import member_score

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 2026 Q4: 2025 rated, 2026 under way
YEARS = (2025, 2026)
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes to get back " * 50

# The schema a backup of a current database names: the newest migration.
HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


# The annual rating's steps (appraisal.md §2) and standings (§1): every row, every column.
APPRAISAL = {
    "rating": "id", "rating_item": "id", "rating_voter": "rating_id, member_id",
    "rating_tally": "rating_id, member_id, grade", "self_assessment": "id",
    "objection": "id", "member_exemption": "id", "member_suspension": "id",
    "rule_set": "year", "member": "id",
}


@dataclass(frozen=True)
class Snapshot:
    scores: dict[tuple[int, int], dict[str, Any]]  # (member, year): the whole ScoreOut
    counts: dict[str, int]  # rows per table
    appraisal: dict[str, list[tuple[Any, ...]]]  # APPRAISAL's tables, row by row


def appraisal_rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {table: [tuple(row) for row in connection.execute(
            sa.text(f"SELECT * FROM {table} ORDER BY {key}"))]
            for table, key in APPRAISAL.items()}


def snapshot(url: str) -> Snapshot:
    """Every member's score of both years, as the API computes it, the row counts, and the
    appraisal's rows."""
    engine = db.make_engine(url)
    try:
        rows = appraisal_rows(engine)
        with Session(engine) as session:
            admin = load_actor(session, session.exec(
                select(Account).where(Account.username == "admin")).one())
            clock = FixedClock(NOW)
            scores = {
                (member_id, year): score_out(member_score(session, admin, member_id, year,
                                                          clock.now())).model_dump()
                for member_id in session.exec(select(Member.id).order_by(col(Member.id))).all()
                if member_id is not None
                for year in YEARS
            }
            session.rollback()
    finally:
        engine.dispose()
    return Snapshot(scores, backups.database_counts(url), rows)


def build_demo(url: str) -> Snapshot:
    upgrade(url)
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            load_demo(session, NOW)
            session.commit()
    finally:
        engine.dispose()
    return snapshot(url)


def damage(engine: sa.Engine) -> None:
    """What a bad night does: entries gone, tables emptied, names and counts overwritten."""
    with engine.begin() as connection:
        for statement in ("DELETE FROM entry WHERE mod(id, 3) = 0", "DELETE FROM review_score",
                          "DELETE FROM rating_item", "UPDATE member SET name = 'overwritten'",
                          "DELETE FROM rating_tally", "DELETE FROM self_assessment",
                          "UPDATE rating_voter SET voted = false",
                          "UPDATE rating SET cast_paper = 0, sent_back_reason = 'x'"):
            connection.execute(sa.text(statement))


def has_ballots(url: str) -> None:
    """The demo holds what the round trip must carry: two closed ballots with their voters
    and counts (online and paper), self-assessments, an objection to a rating, a 预备党员,
    exemptions with their reason kind and dates."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            def one(statement: str) -> Any:
                return connection.execute(sa.text(statement)).scalar_one()

            assert one("SELECT count(*) FROM rating WHERE ballot = 'closed' AND cast_online > 0 "
                       "AND cast_paper > 0 AND voters = cast_online + cast_paper") == 2
            assert one("SELECT count(*) FROM rating_voter WHERE voted") > 20
            assert one("SELECT sum(count) FROM rating_tally") > 100
            assert one("SELECT count(*) FROM self_assessment") >= 5
            assert one("SELECT count(*) FROM objection WHERE rating_id IS NOT NULL") == 1
            assert one("SELECT count(*) FROM member WHERE standing = 'probationary'") >= 1
            assert one("SELECT count(*) FROM member_exemption WHERE reason_kind = 'bedridden' "
                       "AND meeting_on IS NOT NULL AND parent_consent_on IS NOT NULL") == 2
    finally:
        engine.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    with contextlib.closing(sqlite3.connect(source)) as a, \
            contextlib.closing(sqlite3.connect(target)) as b:
        a.backup(b)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Snapshot]:
    """The demo loaded once into a SQLite file; tests work on copies of it."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    return path, build_demo(f"sqlite:///{path}")


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the CLI at a database and an upload folder (JIFEN_ variables)."""

    def use(url: str, upload_dir: Path) -> None:
        monkeypatch.setenv("JIFEN_DATABASE_URL", url)
        monkeypatch.setenv("JIFEN_UPLOAD_DIR", str(upload_dir))
        settings.get_settings.cache_clear()
        db.get_engine.cache_clear()

    yield use
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_sqlite_round_trip_restores_every_score(
    demo_file: tuple[Path, Snapshot], tmp_path: Path, configure: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo, before = demo_file
    live = tmp_path / "jifen.db"
    copy_sqlite(demo, live)
    url = f"sqlite:///{live}"
    has_ballots(url)
    uploads = tmp_path / "uploads"
    (uploads / "2026" / "11").mkdir(parents=True)
    (uploads / "2026" / "11" / "photo.jpg").write_bytes(PHOTO)
    (uploads / "2026" / "11" / "half.jpg.part").write_bytes(b"half")
    configure(url, uploads)

    started = time.perf_counter()
    umask = os.umask(0o022)  # the usual one: files readable by everyone, unless told
    try:
        assert main(["backup", "--output", f"{tmp_path / 'backups'}/"]) == 0
    finally:
        os.umask(umask)
    took_backup = time.perf_counter() - started
    out = capsys.readouterr().out
    [copy] = (tmp_path / "backups").glob("jifen-backup-*.db")
    archive = backups.uploads_archive_for(copy)
    # Password hashes, ballots, members' photos: the owner's alone.
    assert [oct(path.stat().st_mode & 0o777) for path in (copy, archive)] == ["0o600"] * 2
    assert f"backed up to {copy}" in out and "integrity_check ok" in out
    assert f"{before.counts['member']} members, {before.counts['entry']} entries" in out
    assert str(archive) in out and archive.is_file()
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["uploads", "uploads/2026", "uploads/2026/11",
                                          "uploads/2026/11/photo.jpg"]
    # One self-contained file: no WAL sidecar needed to read it.
    assert copy.read_bytes()[18:20] == b"\x01\x01"
    assert not copy.with_name(copy.name + "-wal").exists()

    engine = db.make_engine(url)
    damage(engine)
    engine.dispose()
    (uploads / "2026" / "11" / "photo.jpg").unlink()
    damaged = snapshot(url)
    assert damaged.counts["entry"] < before.counts["entry"]
    assert damaged.counts["rating_item"] == 0
    assert sum(damaged.scores[k] != before.scores[k] for k in before.scores) > 20
    assert all(damaged.appraisal[t] != before.appraisal[t] for t in (
        "rating", "rating_item", "rating_voter", "rating_tally", "self_assessment"))

    # Not without --yes: the target has rows.
    assert main(["restore", str(copy)]) == 1
    err = capsys.readouterr().err
    assert f"{damaged.counts['member']} members, {damaged.counts['entry']} entries" in err
    assert "--yes" in err and "nothing restored" in err
    assert snapshot(url) == damaged

    started = time.perf_counter()
    assert main(["restore", str(copy), "--yes"]) == 0
    took_restore = time.perf_counter() - started
    out = capsys.readouterr().out
    assert f"{before.counts['entry']} entries" in out and f"schema {HEAD}" in out
    assert "1 file from" in out
    after = snapshot(url)
    assert after.scores == before.scores
    assert after.counts == before.counts
    assert after.appraisal == before.appraisal
    assert (uploads / "2026" / "11" / "photo.jpg").read_bytes() == PHOTO
    print(f"SQLite demo: backup {took_backup:.2f} s ({copy.stat().st_size} bytes), "
          f"restore {took_restore:.2f} s")


def test_restore_refuses_a_non_empty_target_and_a_wrong_file(
    demo_file: tuple[Path, Snapshot], tmp_path: Path, configure: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo, before = demo_file
    copy = tmp_path / "backup.db"
    assert backups.backup(f"sqlite:///{demo}", output=copy, upload_dir=None,
                          now=NOW).database.path == copy
    with pytest.raises(backups.BackupError, match="never overwrites"):
        backups.backup(f"sqlite:///{demo}", output=copy, upload_dir=None, now=NOW)

    # A database with only an administrator is not empty either.
    target = tmp_path / "target.db"
    configure(f"sqlite:///{target}", tmp_path / "uploads")
    assert main(["create-admin", "--username", "root", "--password", "long-enough-1"]) == 0
    capsys.readouterr()
    assert main(["restore", str(copy), "--no-uploads"]) == 1
    assert "0 members, 0 entries and 2 other rows" in capsys.readouterr().err
    assert backups.database_counts(f"sqlite:///{target}")["account"] == 1

    # Not a backup, or a backup of the other kind of database: refused, nothing touched.
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"PGDMP\x01\x0e" + bytes(100))
    assert main(["restore", str(junk), "--yes"]) == 1
    assert "is a postgresql backup" in capsys.readouterr().err
    junk.write_text("hello")
    assert main(["restore", str(junk), "--yes"]) == 1
    assert "neither" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing.db"), "--yes"]) == 1
    assert "no backup file" in capsys.readouterr().err

    # An empty (new) database needs no --yes.
    fresh = tmp_path / "new" / "jifen.db"
    configure(f"sqlite:///{fresh}", tmp_path / "uploads")
    assert main(["restore", str(copy)]) == 0
    assert snapshot(f"sqlite:///{fresh}") == before


def test_backup_while_another_connection_writes_is_consistent(
    demo_file: tuple[Path, Snapshot], tmp_path: Path
) -> None:
    demo, demo_snapshot = demo_file
    base = demo_snapshot.counts["login_attempt"]
    live = tmp_path / "busy.db"
    copy_sqlite(demo, live)
    url = f"sqlite:///{live}"
    db.make_engine(url).dispose()  # WAL, as the app runs it
    batch, stop, written = 40, threading.Event(), [0]

    def writer() -> None:
        with contextlib.closing(sqlite3.connect(live, timeout=30, isolation_level=None)) as c:
            while not stop.is_set():
                c.execute("BEGIN IMMEDIATE")
                for i in range(batch):
                    c.execute("INSERT INTO login_attempt (username, at, success) "
                              "VALUES (?, '2026-11-26 03:00:00', 0)", (f"u{i}",))
                    if i == batch // 2:
                        time.sleep(0.001)  # a transaction left open mid-way
                c.execute("COMMIT")
                written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while written[0] < 3 and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert written[0] >= 3, "the writer did not get going"
        copies = [backups.backup(url, output=tmp_path / f"copy{n}.db", upload_dir=None,
                                 now=NOW) for n in range(5)]
    finally:
        stop.set()
        thread.join()
    seen = []
    for report in copies:
        with contextlib.closing(sqlite3.connect(report.database.path)) as c:
            assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            rows = c.execute("SELECT count(*) FROM login_attempt").fetchone()[0]
        assert (rows - base) % batch == 0  # whole transactions only
        assert report.counts and report.counts["login_attempt"] == rows
        seen.append(rows)
    assert seen == sorted(seen) and seen[0] >= base + 3 * batch
    assert written[0] > 3


def test_libpq_connection_keeps_the_password_off_the_command_line() -> None:
    url, env = backups.libpq_connection(
        "postgresql+psycopg://jifen:s%40cret@db.internal:5433/jifen?sslmode=require")
    assert url == "postgresql://jifen@db.internal:5433/jifen?sslmode=require"
    assert env["PGPASSWORD"] == "s@cret"


@pytest.mark.parametrize(("given", "libpq"), [
    # The deployment's multi-host URL: libpq's own lists, in the same order.
    ("postgresql+psycopg://jifen:pw@/jifen?host=db1:5432&host=db2:5433"
     "&target_session_attrs=read-write",
     "postgresql://jifen@/jifen?host=db1%2Cdb2&port=5432%2C5433"
     "&target_session_attrs=read-write"),
    # A port on one host only: the other gets libpq's default, said outright.
    ("postgresql+psycopg://jifen@/jifen?host=db1&host=db2:6000",
     "postgresql://jifen@/jifen?host=db1%2Cdb2&port=5432%2C6000"),
    ("postgresql+psycopg://jifen@/jifen?host=db1", "postgresql://jifen@/jifen?host=db1"),
    ("postgresql+psycopg://jifen@/jifen?host=/run/postgresql",
     "postgresql://jifen@/jifen?host=%2Frun%2Fpostgresql"),
    ("postgresql+psycopg://jifen@/jifen?host=[::1]:5433&host=db2",
     "postgresql://jifen@/jifen?host=%3A%3A1%2Cdb2&port=5433%2C5432"),
])
def test_libpq_connection_turns_the_multi_host_url_into_libpq_lists(
        given: str, libpq: str) -> None:
    url, env = backups.libpq_connection(given)
    assert url == libpq
    assert env.get("PGPASSWORD") == ("pw" if ":pw@" in given else os.environ.get("PGPASSWORD"))


def test_libpq_connection_refuses_a_host_it_cannot_read() -> None:
    with pytest.raises(backups.BackupError, match="db1:port"):
        backups.libpq_connection("postgresql+psycopg://jifen@/jifen?host=db1:port&host=db2")
    with pytest.raises(backups.BackupError, match=r"both before the database \(db0\)"):
        backups.libpq_connection("postgresql+psycopg://jifen@db0/jifen?host=db1:5432")


# --- PostgreSQL ----------------------------------------------------------------------------

def _postgres_or_skip() -> str:
    url = os.environ.get("JIFEN_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        # The SQLite run (CI's too); CI runs the suite again with the URL set.
        pytest.skip("JIFEN_TEST_DATABASE_URL does not point at PostgreSQL")
    try:
        backups.find_pg_tool("pg_dump")
        backups.find_pg_tool("pg_restore")
    except backups.BackupError as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(str(missing))
        pytest.skip(str(missing))
    return url


@contextlib.contextmanager
def scratch_databases(url: str, *names: str) -> Iterator[list[str]]:
    """Empty databases on the test server, dropped afterwards."""
    base = sa.engine.make_url(url)
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    full = [f"{base.database}_{name}" for name in names]

    def drop() -> None:
        with admin.connect() as connection:
            for name in full:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    drop()
    with admin.connect() as connection:
        for name in full:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield [base.set(database=name).render_as_string(hide_password=False) for name in full]
    finally:
        drop()
        admin.dispose()


def test_postgresql_round_trip_restores_every_score(
    tmp_path: Path, configure: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = _postgres_or_skip()
    calls: list[tuple[list[str], dict[str, str]]] = []
    real_run = subprocess.run

    def spy(command: list[str], **kwargs: Any) -> Any:
        calls.append((command, kwargs["env"]))
        return real_run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    with scratch_databases(server, "backup_live", "backup_new") as (url, new_url):
        before = build_demo(url)
        has_ballots(url)
        uploads = tmp_path / "uploads"
        (uploads / "2026").mkdir(parents=True)
        (uploads / "2026" / "photo.jpg").write_bytes(PHOTO)
        configure(url, uploads)

        started = time.perf_counter()
        umask = os.umask(0o022)
        try:
            assert main(["backup", "--output", str(tmp_path / "pg.dump")]) == 0
        finally:
            os.umask(umask)
        took_backup = time.perf_counter() - started
        assert oct((tmp_path / "pg.dump").stat().st_mode & 0o777) == "0o600"
        assert oct((tmp_path / "pg-uploads.tar.gz").stat().st_mode & 0o777) == "0o600"
        out = capsys.readouterr().out
        dump = tmp_path / "pg.dump"
        assert f"backed up to {dump}" in out and dump.read_bytes()[:5] == b"PGDMP"
        assert (tmp_path / "pg-uploads.tar.gz").is_file()
        password = sa.engine.make_url(url).password
        dumped = [(c, env) for c, env in calls if Path(c[0]).name == "pg_dump"]
        assert dumped and "--format=custom" in dumped[0][0] and "--no-owner" in dumped[0][0]
        for command, env in calls:
            assert all("+psycopg" not in arg for arg in command)
            if password:
                assert all(str(password) not in arg for arg in command)
                assert env["PGPASSWORD"] == str(password)

        engine = db.make_engine(url)
        damage(engine)
        engine.dispose()
        (uploads / "2026" / "photo.jpg").unlink()
        damaged = snapshot(url)
        assert sum(damaged.scores[k] != before.scores[k] for k in before.scores) > 20

        assert main(["restore", str(dump)]) == 1
        assert f"{damaged.counts['member']} members, {damaged.counts['entry']} entries" \
            in capsys.readouterr().err
        started = time.perf_counter()
        assert main(["restore", str(dump), "--yes"]) == 0
        took_restore = time.perf_counter() - started
        assert f"schema {HEAD}" in capsys.readouterr().out
        assert snapshot(url) == before
        assert (uploads / "2026" / "photo.jpg").read_bytes() == PHOTO
        restored = [c for c, _ in calls if Path(c[0]).name == "pg_restore" and "--list" not in c]
        assert restored and {"--clean", "--if-exists", "--no-owner",
                             "--single-transaction"} <= set(restored[-1])

        # Into a new, empty database: no --yes needed, the same scores.
        configure(new_url, tmp_path / "uploads-new")
        assert main(["restore", str(dump)]) == 0
        assert snapshot(new_url) == before
        assert (tmp_path / "uploads-new" / "2026" / "photo.jpg").read_bytes() == PHOTO
        print(f"PostgreSQL demo: backup {took_backup:.2f} s ({dump.stat().st_size} bytes), "
              f"restore {took_restore:.2f} s")


def test_postgresql_backup_and_restore_through_the_multi_host_url(
    tmp_path: Path, configure: Any, capsys: pytest.CaptureFixture[str],
) -> None:
    """The URL of docs/deployment.md, its first host gone (a failed primary): pg_dump and
    pg_restore go to the host that takes writes, as the app does."""
    server = _postgres_or_skip()
    with scratch_databases(server, "backup_hosts") as (url,):
        plain = sa.engine.make_url(url)
        with socket.socket() as closed:  # a port nothing listens on
            closed.bind(("127.0.0.1", 0))
            gone = closed.getsockname()[1]
        hosts = sa.engine.URL.create(
            plain.drivername, username=plain.username, password=plain.password,
            database=plain.database,
            query={"host": (f"127.0.0.1:{gone}", f"{plain.host}:{plain.port or 5432}"),
                   "target_session_attrs": "read-write"},
        ).render_as_string(hide_password=False)
        upgrade(hosts)  # the app's own driver reads the same URL
        configure(hosts, tmp_path / "uploads")
        assert main(["backup", "--output", str(tmp_path / "hosts.dump")]) == 0
        assert (tmp_path / "hosts.dump").read_bytes()[:5] == b"PGDMP"
        capsys.readouterr()
        assert main(["restore", str(tmp_path / "hosts.dump"), "--yes"]) == 0
        assert f"schema {HEAD}" in capsys.readouterr().out
