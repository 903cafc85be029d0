"""0011 turns the member's `exempt` flag into exemptions per year, losing nothing: the flag
stood for every rating not yet made (this year's, last year's unless approved, and any
draft's lines), and every rating line marked exempt was that year's exemption. Every member
is `full`. The downgrade puts this year's exemption back as the flag (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)


def test_0011_keeps_every_exemption_a_branch_recorded(fresh_database: str) -> None:  # noqa: F811
    this_year = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).year
    upgrade(fresh_database, "0010")
    engine = make_engine(fresh_database)
    at = "'2025-01-01 00:00:00'"
    with engine.begin() as connection:
        for statement in (
            f"INSERT INTO org (id, name, kind, path, created_at) VALUES "
            f"(1, '某镇党委', 'committee', '/1/', {at}), (2, '第一支部', 'branch', '/1/2/', {at}),"
            f" (3, '第二支部', 'branch', '/1/3/', {at})",
            # 1 exempt in branch 2 (a draft rating of 2023 there); 2 was exempt on branch
            # 3's approved rating of last year only; 3 exempt without a reason in branch 3.
            "INSERT INTO member (id, name, org_id, category, joined_on, exempt, exempt_reason, "
            f"created_at) VALUES (1, '张三', 2, 'retired', '2000-07-01', true, ' 长期卧床 ', {at}),"
            f" (2, '李四', 3, 'active', '2000-07-01', false, NULL, {at}),"
            f" (3, '王五', 3, 'active', '2000-07-01', true, NULL, {at})",
            "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
            f"password_changed_at, created_at) VALUES (1, 'admin', 'x', NULL, true, {at}, {at})",
            "INSERT INTO rating (id, org_id, year, status, created_by, created_at) VALUES "
            f"(1, 2, 2023, 'draft', 1, {at}), (2, 3, {this_year - 1}, 'approved', 1, {at})",
            "INSERT INTO rating_item (id, rating_id, member_id, name, score, stars, vetoed, "
            "exempt, deducted, largest_deduction, proposed_grade, grade) VALUES "
            "(1, 1, 1, '张三', 50, 0, false, true, 0, 0, 'exempt', 'exempt'), "
            "(2, 2, 2, '李四', 40, 0, false, true, 0, 0, 'exempt', 'exempt'), "
            "(3, 2, 3, '王五', 80, 3, false, false, 0, 0, 'qualified', 'qualified')",
        ):
            connection.execute(sa.text(statement))

    upgrade(fresh_database, "0011")
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT member_id, year, reason_kind, note, status FROM member_exemption "
            "ORDER BY member_id, year")).all()
        assert rows == [
            (1, 2023, "other", "长期卧床", "active"),
            (1, this_year - 1, "other", "长期卧床", "active"),
            (1, this_year, "other", "长期卧床", "active"),
            (2, this_year - 1, "other", "免评（迁移：见该年度评星定级）", "active"),
            # Branch 3's last year is approved: the flag no longer reached it.
            (3, this_year, "other", "免评（迁移：原标注未写原因）", "active"),
        ]
        assert connection.execute(sa.text(
            "SELECT DISTINCT standing FROM member")).scalars().all() == ["full"]
        assert connection.execute(sa.text(
            "SELECT standing FROM rating_item ORDER BY id")).scalars().all() == ["full"] * 3

    command.downgrade(alembic_config(fresh_database), "0010")
    assert "member_exemption" not in sa.inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, exempt, exempt_reason FROM member ORDER BY id")).all() == [
            (1, True, "长期卧床"), (2, False, None),
            (3, True, "免评（迁移：原标注未写原因）")]
    engine.dispose()
