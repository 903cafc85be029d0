"""0020 gives the resources the API answers their updated_at (issue 18): existing rows start at
the latest time they record themselves (created_at, a decision, a publication, a withdrawal),
and the sync reads get their (updated_at, id) indexes, the audit log (at, id). The downgrade
drops them and keeps every row (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)

T0, T1, T2 = "'2025-01-01 00:00:00'", "'2025-02-01 08:30:00'", "'2025-03-01 12:00:00'"
ROWS = (
    f"INSERT INTO org (id, name, kind, path, created_at) VALUES "
    f"(1, '某镇党委', 'committee', '/1/', {T0}), (2, '第一支部', 'branch', '/1/2/', {T1})",
    "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
    f"password_changed_at, created_at) VALUES (1, 'admin', 'x', NULL, true, {T0}, {T0})",
    "INSERT INTO member (id, name, org_id, category, joined_on, created_at) VALUES "
    f"(1, '张伟', 2, 'active', '2010-07-01', {T0})",
    "INSERT INTO entry (id, member_id, org_id, rule_code, kind, occurred_on, year, quarter, "
    "quantity, points, status, note, created_by, created_at, decided_by, decided_at, "
    "revoked_by, revoked_at) VALUES "
    f"(1, 1, 2, 'P01', 'positive', '2025-01-05', 2025, 1, 1, 2, 'pending', '', 1, {T0}, "
    "NULL, NULL, NULL, NULL), "
    f"(2, 1, 2, 'P01', 'positive', '2025-01-05', 2025, 1, 1, 2, 'approved', '', 1, {T0}, "
    f"1, {T1}, NULL, NULL), "
    f"(3, 1, 2, 'P01', 'positive', '2025-01-05', 2025, 1, 1, 2, 'revoked', '', 1, {T0}, "
    f"1, {T1}, 1, {T2})",
    "INSERT INTO review (id, org_id, year, quarter, status, created_by, created_at, "
    f"published_by, published_at) VALUES (1, 2, 2025, 1, 'published', 1, {T0}, 1, {T2})",
    "INSERT INTO objection (id, review_id, member_id, text, status, created_at, resolved_at) "
    f"VALUES (1, 1, 1, '分数不对', 'resolved', {T0}, {T1})",
    "INSERT INTO rating (id, org_id, year, status, created_by, created_at, approved_by, "
    f"approved_at) VALUES (1, 2, 2025, 'approved', 1, {T1}, 1, {T2})",
    "INSERT INTO member_exemption (id, member_id, year, reason_kind, note, status, "
    f"created_at, withdrawn_at) VALUES (1, 1, 2025, 'other', '出国', 'withdrawn', {T0}, {T2})",
    "INSERT INTO member_suspension (id, member_id, kind, starts_on, note, created_by, "
    f"created_at) VALUES (1, 1, 'detained', '2025-01-02', '', 1, {T1})",
)
EXPECTED = {
    "org": [T0, T1], "member": [T0], "entry": [T0, T1, T2], "review": [T2],
    "objection": [T1], "rating": [T2], "member_exemption": [T2], "member_suspension": [T1],
}
SYNC_INDEXES = {"org", "member", "entry", "review", "rating", "disposal_case"}


def _times(connection: sa.Connection, table: str) -> list[str]:
    rows = connection.execute(sa.text(f"SELECT updated_at FROM {table} ORDER BY id")).scalars()
    return [f"'{str(value)[:19]}'" for value in rows]


def _indexes(connection: sa.Connection, table: str) -> set[str]:
    return {i["name"] for i in sa.inspect(connection).get_indexes(table) if i["name"]}


def _counts(connection: sa.Connection) -> dict[str, Any]:
    return {t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in EXPECTED}


def test_0020_adds_updated_at_from_each_rows_latest_time(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0019")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(sa.text(statement))
        counts = _counts(connection)
        audit_indexes = _indexes(connection, "audit_log")

    upgrade(fresh_database, "0020")
    with engine.connect() as connection:
        assert {t: _times(connection, t) for t in EXPECTED} == EXPECTED
        for table in SYNC_INDEXES:
            assert f"ix_{table}_updated_at_id" in _indexes(connection, table), table
        assert _indexes(connection, "audit_log") == \
            audit_indexes - {"ix_audit_log_at"} | {"ix_audit_log_at_id"}

    command.downgrade(alembic_config(fresh_database), "0019")
    with engine.connect() as connection:
        assert _counts(connection) == counts
        for table in EXPECTED:
            columns = {c["name"] for c in sa.inspect(connection).get_columns(table)}
            assert "updated_at" not in columns and "created_at" in columns, table
        assert _indexes(connection, "audit_log") == audit_indexes
    upgrade(fresh_database)
    with engine.connect() as connection:
        assert {t: _times(connection, t) for t in EXPECTED} == EXPECTED
    engine.dispose()
