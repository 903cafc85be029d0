"""The data set's storage: bulk inserts as fast as each driver allows, and the description
of a generated data set kept in the database itself (table bench_meta)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

META_TABLE = "bench_meta"


@dataclass
class DataSet:
    """What the runner needs to know about a generated data set (kept in bench_meta)."""

    members: int
    entries: int
    year: int
    branches: int
    seed: int
    admin: str
    password: str
    target_branch: int
    target_review: int
    target_secretary: str
    sample: list[str]  # usernames the page benchmark logs in as
    sample_ids: list[int]
    audit_max_id: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def rates(self) -> dict[str, float]:
        """Rows per second over the whole generation: entries, and every bulk row."""
        total = self.seconds.get("total") or 1.0
        return {"entries_per_s": round(self.entries / total),
                "rows_per_s": round(sum(self.rows.values()) / total)}


class BulkWriter:
    """Inserts tuples into a table's named columns, as fast as the driver allows."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.raw = engine.raw_connection()
        conn: Any = self.raw.driver_connection
        self.conn = conn
        if self.dialect == "sqlite":
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF",
                           "cache_size=-262144", "temp_store=MEMORY"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.conn.execute("BEGIN")
        elif self.dialect == "postgresql":
            import psycopg

            # Skip the per-row foreign key triggers while loading (needs a superuser; the
            # rows are consistent by construction). Without the right, load with them.
            try:
                self.conn.execute("SET session_replication_role = replica")
            except psycopg.errors.InsufficientPrivilege:
                self.conn.rollback()
        else:
            raise SystemExit(f"unsupported database {self.dialect}")

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        if self.dialect == "sqlite":
            marks = ", ".join("?" * len(columns))
            self.conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        else:
            with self.conn.cursor() as cursor, \
                    cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def commit(self) -> None:
        if self.dialect == "sqlite":
            self.conn.execute("COMMIT")
            self.conn.execute("BEGIN")
        else:
            self.conn.commit()

    def finish(self, id_tables: Iterable[str]) -> None:
        if self.dialect == "sqlite":
            self.conn.execute("COMMIT")
            self.conn.execute("PRAGMA journal_mode=WAL")
        else:
            with self.conn.cursor() as cursor:
                for table in id_tables:
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT coalesce(max(id), 1) FROM {table}))")
            self.conn.execute("RESET session_replication_role")
            self.conn.commit()
            self.conn.autocommit = True
            with self.conn.cursor() as cursor:
                # What autovacuum will have done by the time a year is rated (the January
                # after): statistics, and the visibility map, without which an index-only
                # scan (the rating's) reads every row's table page as well.
                cursor.execute("VACUUM (ANALYZE)")
            self.conn.autocommit = False
        self.raw.close()


def store_meta(engine: sa.Engine, data: DataSet) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key VARCHAR(50) PRIMARY KEY, "
            "value TEXT NOT NULL)")
        connection.exec_driver_sql(f"DELETE FROM {META_TABLE} WHERE key = 'dataset'")
        connection.execute(sa.text(f"INSERT INTO {META_TABLE} (key, value) VALUES "
                                   "('dataset', :value)"), {"value": json.dumps(asdict(data))})


def load_meta(engine: sa.Engine) -> DataSet | None:
    """The data set described in the database, or None if it holds none."""
    if not sa.inspect(engine).has_table(META_TABLE):
        return None
    with engine.connect() as connection:
        value = connection.execute(sa.text(
            f"SELECT value FROM {META_TABLE} WHERE key = 'dataset'")).scalar()
    return DataSet(**json.loads(value)) if value else None
