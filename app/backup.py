"""`jifen backup` and `jifen restore`: the database and the evidence photos.

SQLite: SQLite's online backup API (safe while the app serves: one step, one read
snapshot), then `PRAGMA integrity_check` on the copy. PostgreSQL: `pg_dump
--format=custom --no-owner` and `pg_restore --clean --if-exists --no-owner
--single-transaction`; the password goes to them through PGPASSWORD, never the command
line. The photos folder travels beside the database as `<backup>-uploads.tar.gz`.

Plain functions; the CLI (app/cli.py) prints what they return.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.migrate import upgrade

Backend = Literal["sqlite", "postgresql"]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
UPLOADS_ARCNAME = "uploads"
# Tables whose rows a refused restore names: what a branch would lose.
NAMED_COUNTS = (("member", "members"), ("entry", "entries"))


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


class TargetNotEmpty(BackupError):
    """Restoring would overwrite data, and overwriting was not confirmed."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self.counts = dict(counts)
        named = ", ".join(f"{counts.get(table, 0)} {label}" for table, label in NAMED_COUNTS)
        others = sum(counts.values()) - sum(counts.get(t, 0) for t, _ in NAMED_COUNTS)
        super().__init__(
            f"The configured database is not empty ({named} and {others} other rows); "
            "restoring would overwrite all of it. Run again with --yes to replace it.")


@dataclass(frozen=True)
class Written:
    path: Path
    size: int  # bytes


@dataclass(frozen=True)
class BackupReport:
    backend: Backend
    database: Written
    uploads: Written | None  # None: no uploads folder, or --no-uploads
    counts: dict[str, int] | None  # rows per table in the copy (SQLite)
    revision: str | None  # the schema revision of the copy (SQLite)
    seconds: float


@dataclass(frozen=True)
class RestoreReport:
    backend: Backend
    counts: dict[str, int]  # rows per table after the restore and the migrations
    revision: str | None
    uploads: Path | None  # the archive restored, if any
    upload_files: int
    seconds: float


# --- shared -----------------------------------------------------------------------------

def backend_of(database_url: str) -> Backend:
    name = sa.engine.make_url(database_url).get_backend_name()
    if name in ("sqlite", "postgresql"):
        return name  # type: ignore[return-value]
    raise BackupError(f"Backups are made of SQLite and PostgreSQL databases, not {name}.")


def default_name(backend: Backend, now: datetime) -> str:
    suffix = ".db" if backend == "sqlite" else ".dump"
    return f"jifen-backup-{now:%Y%m%d-%H%M%S}{suffix}"


def uploads_archive_for(backup_path: Path) -> Path:
    """Where the photos of a backup are: beside it, `<name>-uploads.tar.gz`."""
    return backup_path.with_name(f"{backup_path.stem}-uploads.tar.gz")


def human_size(size: int) -> str:
    amount = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{size} bytes" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def _counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per table (alembic_version left out); {} for a database without tables."""
    with engine.connect() as connection:
        tables = [t for t in sa.inspect(connection).get_table_names() if t != "alembic_version"]
        return {
            table: int(connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one())
            for table in sorted(tables)
        }


def _revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


@contextlib.contextmanager
def _engine(database_url: str) -> Iterator[sa.Engine]:
    """A short-lived engine that keeps no connection open (a restore must not wait on it)."""
    engine = sa.create_engine(database_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def database_counts(database_url: str) -> dict[str, int]:
    """Rows per table of the configured database ({} if it has no tables or no file)."""
    if backend_of(database_url) == "sqlite" and not _sqlite_path(database_url).exists():
        return {}
    with _engine(database_url) as engine:
        return _counts(engine)


def _output_path(output: Path | None, backend: Backend, now: datetime) -> Path:
    name = default_name(backend, now)
    path = Path.cwd() / name if output is None else output / name if output.is_dir() else output
    for taken in (path, uploads_archive_for(path)):
        if taken.exists():
            raise BackupError(f"{taken} exists already; a backup never overwrites a file.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _magic(path: Path) -> bytes:
    with path.open("rb") as source:
        return source.read(len(SQLITE_MAGIC))


# --- SQLite -----------------------------------------------------------------------------

def _sqlite_path(database_url: str) -> Path:
    url = sa.engine.make_url(database_url)
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("The configured SQLite database lives in memory; there is no file "
                          "to back up or restore.")
    return Path(url.database)


def _connect(path: Path, mode: Literal["ro", "rw", "rwc"]) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=30)


def _integrity(path: Path) -> list[str]:
    """`PRAGMA integrity_check` of a database file: ["ok"] when it is sound."""
    with contextlib.closing(_connect(path, "ro")) as connection:
        return [str(row[0]) for row in connection.execute("PRAGMA integrity_check")]


def _sqlite_backup(database_url: str, target: Path) -> None:
    source_path = _sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupError(f"There is no database file at {source_path}.")
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        with contextlib.closing(_connect(source_path, "rw")) as source, \
                contextlib.closing(sqlite3.connect(partial)) as copy:
            # pages=-1: every page in one step, under one read transaction of the
            # source, so the copy is one consistent moment even while the app writes.
            source.backup(copy, pages=-1)
            # The copy is one self-contained file, not a WAL database with sidecars.
            copy.execute("PRAGMA journal_mode=DELETE")
        problems = _integrity(partial)
        if problems != ["ok"]:
            raise BackupError("The copy failed PRAGMA integrity_check: "
                              + "; ".join(problems[:5]))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _sqlite_restore(source: Path, database_url: str) -> None:
    target = _sqlite_path(database_url)
    problems = _integrity(source)
    if problems != ["ok"]:
        raise BackupError(f"{source} fails PRAGMA integrity_check ({'; '.join(problems[:5])}); "
                          "it cannot be restored.")
    with contextlib.closing(_connect(source, "ro")) as backup:
        if backup.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'alembic_version'").fetchone() is None:
            raise BackupError(f"{source} is a SQLite database but not a Jifen backup "
                              "(it has no alembic_version table).")
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(_connect(target, "rwc")) as database:
            # The backup API in reverse: the database's pages are replaced in one
            # write transaction; connections of a running app see the old or the new.
            backup.backup(database, pages=-1)


# --- PostgreSQL ---------------------------------------------------------------------------

def find_pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = []
    for binary in Path("/usr/lib/postgresql").glob(f"*/bin/{name}"):
        version = binary.parent.parent.name
        if re.fullmatch(r"\d+(\.\d+)?", version) and os.access(binary, os.X_OK):
            candidates.append((float(version), str(binary)))
    if not candidates:
        raise BackupError(f"{name} was not found on PATH or in /usr/lib/postgresql/*/bin "
                          "(Debian: apt-get install postgresql-client).")
    return max(candidates)[1]


def libpq_connection(database_url: str) -> tuple[str, dict[str, str]]:
    """The libpq URL for pg_dump/pg_restore (no password in it) and their environment.

    `postgresql+psycopg://u:p@h/db` becomes `postgresql://u@h/db` with PGPASSWORD=p. The
    multi-host form of docs/deployment.md (`?host=h1:p1&host=h2:p2`, as SQLAlchemy's
    psycopg dialect takes it) becomes libpq's own (`?host=h1,h2&port=p1,p2`), which
    `target_session_attrs` then applies to as it does for the app.
    """
    url = sa.engine.make_url(database_url)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    query = dict(url.query)
    hosts = query.pop("host", None)
    if isinstance(hosts, tuple) or (hosts is not None and url.host is None):
        pairs = [_host_port(one) for one in ([hosts] if isinstance(hosts, str) else hosts)]
        query["host"] = ",".join(host for host, _ in pairs)
        ports = [port for _, port in pairs]
        if any(ports):
            query["port"] = ",".join(port or "5432" for port in ports)
        host, port = None, None
    else:
        if hosts is not None:
            raise BackupError("JIFEN_DATABASE_URL names a host both before the database "
                              f"({url.host}) and in ?host= ({hosts}): give them all in "
                              "?host=, as docs/deployment.md does.")
        host, port = url.host, url.port
    # Built afresh: URL.set(password=None) would keep the password.
    plain = sa.engine.URL.create("postgresql", username=url.username, host=host,
                                 port=port, database=url.database, query=query)
    return plain.render_as_string(hide_password=False), env


def _host_port(value: str) -> tuple[str, str | None]:
    """`db1:5433` → (db1, 5433); `db1`, a socket folder or `[::1]:5433` as libpq reads them."""
    if value.startswith("/"):
        return value, None
    found = re.fullmatch(r"\[(?P<v6>[^\]]+)\](?::(?P<p6>\d+))?|(?P<h>[^:]+)(?::(?P<p>\d+))?",
                         value)
    if found is None:
        raise BackupError(f"Cannot read the database host {value!r} of JIFEN_DATABASE_URL "
                          "(expected host or host:port).")
    return (found["v6"] or found["h"]), (found["p6"] or found["p"])


def _run(command: list[str], env: Mapping[str, str], what: str) -> str:
    done = subprocess.run(command, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")
    return done.stdout


def _pg_backup(database_url: str, target: Path) -> None:
    connection, env = libpq_connection(database_url)
    partial = _partial(target)
    partial.unlink(missing_ok=True)
    try:
        _run([find_pg_tool("pg_dump"), "--format=custom", "--no-owner",
              f"--file={partial}", f"--dbname={connection}"], env, "pg_dump")
        # The archive reads back (its table of contents), and it is Jifen's.
        listing = _run([find_pg_tool("pg_restore"), "--list", str(partial)], env,
                       "pg_restore --list")
        if "alembic_version" not in listing:
            raise BackupError("The dump has no alembic_version table: the configured "
                              "database is not a Jifen database (run `jifen migrate`).")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _pg_restore(source: Path, database_url: str) -> None:
    connection, env = libpq_connection(database_url)
    restore = find_pg_tool("pg_restore")
    listing = _run([restore, "--list", str(source)], env, "pg_restore --list")
    if "alembic_version" not in listing:
        raise BackupError(f"{source} is a pg_dump archive but not a Jifen backup "
                          "(it has no alembic_version table).")
    _run([restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={connection}", str(source)], env, "pg_restore")


# --- uploads ------------------------------------------------------------------------------

def _skip_partial(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Leave out half-written photos (`*.part`, renamed into place when complete)."""
    return None if info.name.endswith(".part") else info


def _archive_uploads(upload_dir: Path, target: Path) -> Written:
    partial = _partial(target)
    try:
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(upload_dir, arcname=UPLOADS_ARCNAME, filter=_skip_partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Written(target, target.stat().st_size)


def _restore_uploads(archive_path: Path, upload_dir: Path) -> int:
    """Unpack the photos into the upload folder (kept files stay); how many files came."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            members = []
            for member in archive.getmembers():
                parts = PurePosixPath(member.name).parts
                if not parts or parts[0] != UPLOADS_ARCNAME:
                    raise BackupError(f"{archive_path} is not an uploads archive of a Jifen "
                                      f"backup ({member.name!r} is outside uploads/).")
                if len(parts) > 1:
                    member.name = str(PurePosixPath(*parts[1:]))
                    members.append(member)
            upload_dir.mkdir(parents=True, exist_ok=True)
            # filter="data": nothing outside the folder, no devices, no odd permissions.
            archive.extractall(upload_dir, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"The uploads archive {archive_path} could not be restored: "
                          f"{error}") from error
    return sum(1 for member in members if member.isfile())


# --- the two commands ---------------------------------------------------------------------

def backup(database_url: str, *, output: Path | None, upload_dir: Path | None,
           now: datetime) -> BackupReport:
    """Back up the database (and the photos folder, unless upload_dir is None).

    output: a file, a folder for the default name, or None for the current folder.
    """
    started = time.perf_counter()
    backend = backend_of(database_url)
    target = _output_path(output, backend, now)
    with _private_files():
        return _backup(database_url, backend, target, upload_dir, started)


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    """Files made meanwhile (the copy, pg_dump's, the photos' archive) are the owner's alone
    (0600), whatever the umask: a backup holds password hashes, ballots and members' photos.
    (The process's umask: the command line's backup is all this process does.)"""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _backup(database_url: str, backend: Backend, target: Path, upload_dir: Path | None,
            started: float) -> BackupReport:
    counts: dict[str, int] | None = None
    revision = None
    if backend == "sqlite":
        try:
            _sqlite_backup(database_url, target)
        except sqlite3.Error as error:
            raise BackupError(f"SQLite could not make the copy: {error}") from error
        with _engine(f"sqlite:///{target}") as engine:
            counts, revision = _counts(engine), _revision(engine)
    else:
        _pg_backup(database_url, target)
    uploads = None
    if upload_dir is not None and upload_dir.is_dir():
        uploads = _archive_uploads(upload_dir, uploads_archive_for(target))
    return BackupReport(backend, Written(target, target.stat().st_size), uploads, counts,
                        revision, time.perf_counter() - started)


def restore(database_url: str, source: Path, *, uploads: Path | None, upload_dir: Path | None,
            overwrite: bool) -> RestoreReport:
    """Replace the configured database with a backup, upgrade it, unpack its photos.

    uploads: the photos archive; None looks for `<source>-uploads.tar.gz` beside it.
    upload_dir None: leave the photos alone. Refuses (TargetNotEmpty) to overwrite a
    database with rows unless overwrite is true.
    """
    started = time.perf_counter()
    backend = backend_of(database_url)
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    magic = _magic(source)
    found: Backend | None = ("sqlite" if magic.startswith(SQLITE_MAGIC)
                             else "postgresql" if magic.startswith(PG_CUSTOM_MAGIC) else None)
    if found is None:
        raise BackupError(f"{source} is neither a SQLite backup nor a pg_dump archive.")
    if found != backend:
        raise BackupError(f"{source} is a {found} backup but the configured database "
                          f"(JIFEN_DATABASE_URL) is {backend}; restore it into a {found} "
                          "database.")
    archive = None
    if upload_dir is not None:
        archive = uploads if uploads is not None else uploads_archive_for(source)
        if not archive.is_file():
            if uploads is not None:
                raise BackupError(f"There is no uploads archive at {uploads}.")
            archive = None

    existing = database_counts(database_url)
    if any(existing.values()) and not overwrite:
        raise TargetNotEmpty(existing)

    if backend == "sqlite":
        try:
            _sqlite_restore(source, database_url)
        except sqlite3.Error as error:
            raise BackupError(f"SQLite could not restore {source}: {error}") from error
    else:
        _pg_restore(source, database_url)
    upgrade(database_url)  # a backup of an older version comes back at the newest schema
    files = _restore_uploads(archive, upload_dir) if archive and upload_dir else 0
    with _engine(database_url) as engine:
        counts, revision = _counts(engine), _revision(engine)
    return RestoreReport(backend, counts, revision, archive, files,
                         time.perf_counter() - started)
