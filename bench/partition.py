"""Turn the migrated ``entry`` table into one partitioned by ``year`` (PostgreSQL only).

    python bench/run.py --members 10000 --database-url postgresql+psycopg://... \\
        --partition-entries

What a national deployment would do with its biggest table (docs/scaling.md), tried here on
the schema the migrations build, so the app's own code and the benchmark run against it.
``partition_entries`` runs in one transaction, right after the migrations and before any
data is loaded (rows already there are copied over):

- ``entry`` becomes ``PARTITION BY RANGE (year)`` with one partition per given year
  (``entry_y2025`` holds ``FROM (2025) TO (2026)``) and a ``DEFAULT`` partition
  (``entry_default``) for any other year, so an insert never fails for want of one;
- the columns, their types, NOT NULL, defaults, CHECK constraints, storage and comments are
  copied (``LIKE ... INCLUDING ALL EXCLUDING INDEXES``); the id keeps its sequence
  (``entry_id_seq``, re-owned by the new column), so ``INSERT ... RETURNING id`` from the
  app works unchanged; an identity column would keep counting from where it was;
- the primary key becomes ``(id, year)``: PostgreSQL requires every unique constraint of a
  partitioned table to contain the partition key. ``id`` stays unique in practice (one
  sequence feeds every partition) but the database no longer enforces it across years.
  The same is done to any other unique constraint (there is none today);
- every other index is created again under its own name on the partitioned table (so on
  every partition); every foreign key from ``entry`` is created again under its own name;
- a foreign key *to* ``entry`` would have to reference ``(id, year)``, so the referencing
  table would need a ``year`` column: the migrations define none, and this refuses if one
  appears rather than drop it silently.

The ORM keeps mapping ``Entry.id`` as the primary key: ``session.get(Entry, id)`` and the
app's ``UPDATE entry ... WHERE id = ?`` still work, probing the primary-key index of each
partition (no pruning without ``year``). ``alembic check`` passes on a partitioned
database (migrations/env.py leaves partitions out of the comparison); this is still a
benchmark and a rehearsal, not a migration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.db import make_engine

TABLE = "entry"
KEY = "year"
DEFAULT_PARTITION = f"{TABLE}_default"


@dataclass
class Layout:
    """What the table looks like: for the run's metadata and the tests."""

    partitioned: bool
    partitions: dict[str, str] = field(default_factory=dict)  # name -> bound
    primary_key: list[str] = field(default_factory=list)
    indexes: dict[str, str] = field(default_factory=dict)  # name -> definition
    foreign_keys: dict[str, str] = field(default_factory=dict)
    sequence: str | None = None
    rows: dict[str, int] = field(default_factory=dict)  # partition -> live rows (estimate)

    def as_dict(self) -> dict[str, Any]:
        return {"partitioned": self.partitioned, "partitions": self.partitions,
                "primary_key": self.primary_key, "indexes": self.indexes,
                "foreign_keys": self.foreign_keys, "sequence": self.sequence}


def _require_postgresql(bind: sa.Engine | sa.Connection) -> None:
    if bind.dialect.name != "postgresql":
        raise SystemExit(f"partitioning {TABLE} needs PostgreSQL, not {bind.dialect.name}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_partitioned(engine: sa.Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        return bool(connection.execute(sa.text(
            "SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass(:t)"),
            {"t": TABLE}).scalar())


def partition_names(url: str) -> list[str]:
    """The partitions of ``entry`` in the database at ``url`` (none: not partitioned)."""
    engine = make_engine(url)
    try:
        return sorted(describe(engine).partitions)
    finally:
        engine.dispose()


def _columns_of(connection: sa.Connection, conkey_sql: str) -> list[str]:
    return list(connection.execute(sa.text(conkey_sql), {"t": TABLE}).scalars())


def describe(engine: sa.Engine) -> Layout:
    """The table as it is now: partitions with their bounds, keys, indexes, sequence."""
    _require_postgresql(engine)
    with engine.connect() as connection:
        return _describe(connection)


def _describe(connection: sa.Connection) -> Layout:
    params = {"t": TABLE}
    relkind = connection.execute(sa.text(
        "SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), params).scalar()
    if relkind is None:
        raise SystemExit(f"there is no table {TABLE}; run the migrations first")
    layout = Layout(partitioned=relkind == "p")
    for name, bound, rows in connection.execute(sa.text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"), params):
        layout.partitions[name] = bound
        layout.rows[name] = max(int(rows), 0)
    layout.primary_key = _columns_of(connection, (
        "SELECT a.attname FROM pg_constraint c "
        "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
        "WHERE c.conrelid = to_regclass(:t) AND c.contype = 'p' ORDER BY k.n"))
    layout.indexes = {name: definition for name, definition in connection.execute(sa.text(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(:t) "
        "ORDER BY c.relname"), params)}
    layout.foreign_keys = {name: definition for name, definition in connection.execute(
        sa.text("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(:t) AND contype = 'f' ORDER BY conname"),
        params)}
    layout.sequence = connection.execute(sa.text(
        "SELECT pg_get_serial_sequence(:t, 'id')"), params).scalar()
    return layout


def partition_entries(engine: sa.Engine, years: Iterable[int]) -> Layout:
    """Make ``entry`` partitioned by year (see the module's doc); the new layout.

    Already partitioned: only adds the partitions of ``years`` that are missing.
    """
    _require_postgresql(engine)
    wanted = sorted(set(years))
    with engine.begin() as connection:
        if _describe(connection).partitioned:
            _add_partitions(connection, wanted)
        else:
            _convert(connection, wanted)
        return _describe(connection)


def _add_partitions(connection: sa.Connection, years: list[int]) -> None:
    for year in years:
        connection.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {_q(f'{TABLE}_y{year}')} PARTITION OF {_q(TABLE)} "
            f"FOR VALUES FROM ({int(year)}) TO ({int(year) + 1})")


def _convert(connection: sa.Connection, years: list[int]) -> None:
    params = {"t": TABLE}
    referencing = connection.execute(sa.text(
        "SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint "
        "WHERE confrelid = to_regclass(:t) AND contype = 'f' AND conrelid <> confrelid"),
        params).scalars().all()
    if referencing:
        raise SystemExit(f"foreign keys reference {TABLE}: {', '.join(referencing)}; each "
                         f"would have to reference ({KEY}, id), so its table needs a {KEY} "
                         "column first")
    triggers = connection.execute(sa.text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(:t) AND NOT tgisinternal"),
        params).scalars().all()
    if triggers:
        raise SystemExit(f"{TABLE} has triggers ({', '.join(triggers)}); not handled here")
    # Unique constraints (the primary key included) gain the partition key; plain indexes
    # are recreated from their definitions; foreign keys from theirs.
    unique: list[tuple[str, str, list[str]]] = []
    for oid, name, contype in connection.execute(sa.text(
            "SELECT oid, conname, contype FROM pg_constraint WHERE conrelid = to_regclass(:t) "
            "AND contype IN ('p', 'u') ORDER BY contype, conname"), params):
        columns = list(connection.execute(sa.text(
            "SELECT a.attname FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.oid = :oid ORDER BY k.n"), {"oid": oid}).scalars())
        if KEY not in columns:
            columns.append(KEY)
        unique.append((name, "PRIMARY KEY" if contype == "p" else "UNIQUE", columns))
    indexes = connection.execute(sa.text(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique, "
        "EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid "
        "        AND a.attname = :k AND a.attnum = ANY (i.indkey)) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(:t) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname"),
        params | {"k": KEY}).all()
    for name, _definition, is_unique, has_key in indexes:
        if is_unique and not has_key:
            raise SystemExit(f"unique index {name} lacks {KEY}; it cannot hold on a table "
                             f"partitioned by {KEY}")
    foreign = connection.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(:t) AND contype = 'f' ORDER BY conname"), params).all()
    identity = connection.execute(sa.text(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attnum > 0 "
        "AND NOT attisdropped AND attidentity <> ''"), params).scalars().all()
    serial = connection.execute(sa.text(
        "SELECT a.attname, pg_get_serial_sequence(:t, a.attname) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(:t) AND a.attnum > 0 AND NOT a.attisdropped "
        "AND a.attidentity = '' AND pg_get_serial_sequence(:t, a.attname) IS NOT NULL"),
        params).all()

    old = f"{TABLE}_unpartitioned"
    run = connection.exec_driver_sql
    run(f"LOCK TABLE {_q(TABLE)} IN ACCESS EXCLUSIVE MODE")
    run(f"ALTER TABLE {_q(TABLE)} RENAME TO {_q(old)}")
    run(f"CREATE TABLE {_q(TABLE)} (LIKE {_q(old)} INCLUDING ALL EXCLUDING INDEXES) "
        f"PARTITION BY RANGE ({_q(KEY)})")
    _add_partitions(connection, years)
    run(f"CREATE TABLE {_q(DEFAULT_PARTITION)} PARTITION OF {_q(TABLE)} DEFAULT")
    run(f"INSERT INTO {_q(TABLE)} OVERRIDING SYSTEM VALUE SELECT * FROM {_q(old)}")
    for column in identity:  # LIKE gave the new table its own identity sequence
        run(f"SELECT setval(pg_get_serial_sequence('{TABLE}', '{column}'), "
            f"coalesce((SELECT max({_q(column)}) FROM {_q(TABLE)}), 0) + 1, false)")
    for column, sequence in serial:  # the default still calls it; keep it past the drop
        run(f"ALTER SEQUENCE {sequence} OWNED BY {_q(TABLE)}.{_q(column)}")
    # Dropping the old table frees the index and constraint names for the new one.
    run(f"DROP TABLE {_q(old)}")
    for name, kind, columns in unique:
        run(f"ALTER TABLE {_q(TABLE)} ADD CONSTRAINT {_q(name)} {kind} "
            f"({', '.join(_q(c) for c in columns)})")
    for _name, definition, _unique, _key in indexes:
        # The definition names the table as it was when read: "... ON public.entry USING".
        run(definition)
    for name, definition in foreign:
        run(f"ALTER TABLE {_q(TABLE)} ADD CONSTRAINT {_q(name)} {definition}")
