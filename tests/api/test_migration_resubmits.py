"""0015 gives entries their resubmits_id (issue 17): entries stored before resubmit nothing;
the column takes a rejected entry's id and is indexed. The downgrade drops it and keeps
every row, with the table's other indexes and foreign keys (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)

AT = "'2025-01-01 00:00:00'"
ENTRY = ("INSERT INTO entry (id, member_id, org_id, rule_code, kind, occurred_on, year, "
         "quarter, quantity, points, status, note, created_by, created_at, decided_by, "
         "decided_at, reason) VALUES ")
ROWS = (
    f"INSERT INTO org (id, name, kind, path, created_at) VALUES "
    f"(1, '某镇党委', 'committee', '/1/', {AT}), (2, '第一支部', 'branch', '/1/2/', {AT})",
    "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
    f"password_changed_at, created_at) VALUES (1, 'admin', 'x', NULL, true, {AT}, {AT})",
    "INSERT INTO member (id, name, org_id, category, joined_on, created_at) VALUES "
    f"(1, '张伟', 2, 'active', '2010-07-01', {AT})",
    ENTRY + f"(1, 1, 2, 'P01', 'positive', '2025-03-05', 2025, 1, 1, 2, 'rejected', '学习', "
            f"1, {AT}, 1, {AT}, '日期不对'), "
            f"(2, 1, 2, 'P03', 'positive', '2025-03-06', 2025, 1, 1, 2, 'approved', '', "
            f"1, {AT}, 1, {AT}, NULL)",
)


def _indexes(connection: sa.Connection) -> set[str]:
    return {i["name"] for i in sa.inspect(connection).get_indexes("entry") if i["name"]}


def _foreign_keys(connection: sa.Connection) -> set[str]:
    return {f["name"] for f in sa.inspect(connection).get_foreign_keys("entry") if f["name"]}


def test_0015_adds_resubmits_id_to_entries(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0014")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(sa.text(statement))
    with engine.connect() as connection:
        indexes, foreign_keys = _indexes(connection), _foreign_keys(connection)

    upgrade(fresh_database, "0015")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, status, reason, resubmits_id FROM entry ORDER BY id")).all() == [
            (1, "rejected", "日期不对", None), (2, "approved", None, None)]
        assert _indexes(connection) == indexes | {"ix_entry_resubmits_id"}
        # A soft reference, as audit_log.object_id: no foreign key to entry (scaling.md §2).
        assert _foreign_keys(connection) == foreign_keys
    with engine.begin() as connection:
        connection.execute(sa.text(
            ENTRY.replace(", reason)", ", reason, resubmits_id)")
            + f"(3, 1, 2, 'P01', 'positive', '2025-03-07', 2025, 1, 1, 2, 'pending', '改日期', "
              f"1, {AT}, NULL, NULL, NULL, 1)"))
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id FROM entry WHERE resubmits_id = 1")).scalars().all() == [3]

    command.downgrade(alembic_config(fresh_database), "0014")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, status, reason FROM entry ORDER BY id")).all() == [
            (1, "rejected", "日期不对"), (2, "approved", None), (3, "pending", None)]
        columns = {c["name"] for c in sa.inspect(connection).get_columns("entry")}
        assert "resubmits_id" not in columns and "reason" in columns
        assert (_indexes(connection), _foreign_keys(connection)) == (indexes, foreign_keys)
    upgrade(fresh_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT resubmits_id FROM entry ORDER BY id")).scalars().all() == [None] * 3
    engine.dispose()
