"""Ids past 2**31 - 1, the largest INTEGER: stored, found and read back through the API on
both databases (BIGINT on PostgreSQL since migration 0003; SQLite's INTEGER is 64-bit)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from tests.api.support import World, ok

PAST_INT4 = 2**31 + 5


@contextmanager
def numbering_past(db: Session, tables: list[str], last: int) -> Iterator[None]:
    """Inside the block, the next new row of each table gets id last + 1.

    PostgreSQL: its sequence is set to `last` and put back afterwards (setval outlives the
    test's rollback). SQLite numbers a row the largest rowid + 1, so the newest row is copied
    to id `last`; the copy goes with the rollback."""
    engine = db.get_bind().engine  # the session's database (the world's, tests/conftest.py)
    if engine.dialect.name != "postgresql":
        for table in tables:
            columns = ", ".join(c.name for c in SQLModel.metadata.tables[table].columns
                                if c.name != "id")
            db.execute(sa.text(f"INSERT INTO {table} (id, {columns}) SELECT :last, {columns} "
                               f"FROM {table} ORDER BY id DESC LIMIT 1"), {"last": last})
        yield
        return
    with engine.connect() as connection:
        sequences = {table: connection.execute(sa.text(
            "SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table}).scalar_one()
            for table in tables}
        saved = {table: connection.execute(sa.text(
            f"SELECT last_value, is_called FROM {sequence}")).one()
            for table, sequence in sequences.items()}
    for sequence in sequences.values():
        db.execute(sa.text("SELECT setval(:s, :last)"), {"s": sequence, "last": last})
    try:
        yield
    finally:
        with engine.connect() as connection:
            for table, (value, called) in saved.items():
                connection.execute(sa.text("SELECT setval(:s, :v, :c)"),
                                   {"s": sequences[table], "v": value, "c": called})
            connection.commit()


def test_an_entry_past_int4_is_stored_and_read_back(world: World, db: Session) -> None:
    a1 = world.members["a1"]
    # An ordinary id first (on SQLite the placeholder copies it: a2's, not a1's).
    world.entry("sec_a", "a2", "P01", "2025-08-06")
    with numbering_past(db, ["entry", "audit_log"], PAST_INT4):
        made = world.entry("a1", "a1", "P04", "2025-08-07", note="自我申报")
        big = made["id"]
        assert (big, made["status"]) == (PAST_INT4 + 1, "pending")
        assert ok(world.get("a1", f"/entries/{big}")) == made
        approved = ok(world.post("vice_a", f"/entries/{big}/approve"))
        assert (approved["id"], approved["status"]) == (big, "approved")
        listed = ok(world.get("admin", "/entries", member_id=a1))["items"]
        assert [e["id"] for e in listed] == [big]
        # The audit rows name the entry (object_id) and are themselves past INTEGER's range.
        audit = ok(world.get("admin", "/audit", object_type="entry", object_id=big))["items"]
        assert [(r["action"], r["object_id"]) for r in audit] == [
            ("entry.approved", big), ("entry.create", big)]
        assert all(r["id"] > PAST_INT4 for r in audit), audit
        score = ok(world.get("a1", f"/members/{a1}/score", year=2025))
        assert score["score"] > 0
