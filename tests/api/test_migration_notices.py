"""0007 adds account.notices_seen_at ("seen up to" of the member's notices), on a database
that holds accounts, and takes it away again, rows kept (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)


def test_0007_adds_notices_seen_at_and_takes_it_away(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0006")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO org (id, name, kind, path, created_at) VALUES "
            "(1, '某镇党委', 'committee', '/1/', '2025-01-01 00:00:00'), "
            "(2, '第一支部', 'branch', '/1/2/', '2025-01-01 00:00:00')",
            "INSERT INTO member (id, name, org_id, category, joined_on, exempt, created_at) "
            "VALUES (1, '张三', 2, 'active', '2020-07-01', false, '2025-01-01 00:00:00')",
            "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
            "password_changed_at, created_at) VALUES (1, 'zhangsan', 'x', 1, false, "
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00'), (2, 'admin', 'y', NULL, true, "
            "'2025-01-02 00:00:00', '2025-01-02 00:00:00')",
            "INSERT INTO entry (id, member_id, org_id, rule_code, kind, occurred_on, year, "
            "quarter, quantity, points, status, note, created_by, created_at) VALUES "
            "(1, 1, 2, 'P01', 'positive', '2025-08-06', 2025, 3, 1, 2, 'approved', '', 2, "
            "'2025-08-06 00:00:00')",
        ):
            connection.execute(sa.text(statement))
        before = connection.execute(sa.text("SELECT * FROM account ORDER BY id")).all()
        entries = connection.execute(sa.text("SELECT * FROM entry")).all()

    upgrade(fresh_database, "0007")
    with engine.begin() as connection:
        # Nobody has seen anything yet; the other columns are as they were.
        rows = connection.execute(sa.text(
            "SELECT id, username, notices_seen_at FROM account ORDER BY id")).all()
        assert rows == [(1, "zhangsan", None), (2, "admin", None)]
        connection.execute(sa.text(
            "UPDATE account SET notices_seen_at = '2025-09-01 08:00:00' WHERE id = 1"))
        seen = connection.execute(sa.text(
            "SELECT notices_seen_at FROM account WHERE id = 1")).scalar()
        assert str(seen).startswith("2025-09-01 08:00:00")
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("account")}
    assert columns["notices_seen_at"]["nullable"] is True

    command.downgrade(alembic_config(fresh_database), "0006")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT * FROM account ORDER BY id")).all() == before
        assert connection.execute(sa.text("SELECT * FROM entry")).all() == entries
    assert "notices_seen_at" not in {c["name"] for c in sa.inspect(engine).get_columns(
        "account")}
    engine.dispose()
