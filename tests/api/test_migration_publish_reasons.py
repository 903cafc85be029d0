"""0014 gives the rule set its min_notice_days and reviews and ratings their reasons for early
steps (issue 17): a year's rule set stored before gets the default, 5; reviews and ratings
published, finalized or submitted before keep what they were, with no reason. The downgrade
drops the new columns and keeps the rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)

AT = "'2025-01-01 00:00:00'"
ROWS = (
    f"INSERT INTO org (id, name, kind, path, created_at) VALUES "
    f"(1, '某镇党委', 'committee', '/1/', {AT}), (2, '第一支部', 'branch', '/1/2/', {AT})",
    "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
    f"password_changed_at, created_at) VALUES (1, 'admin', 'x', NULL, true, {AT}, {AT})",
    "INSERT INTO rule_set (year, review_max, review_default, star_thresholds, "
    "unqualified_below, basic_below, basic_single_deduction, excellent_min, "
    f"excellent_divisor, rating_notice_days, created_at) VALUES (2024, 5, 5, "
    f"'60,70,80,90,96', 60, 70, 10, 90, 3, 7, {AT}), (2025, 5, 5, '60,70,80,90,96', 60, 70, "
    f"10, 90, 3, 0, {AT})",
    "INSERT INTO review (id, org_id, year, quarter, status, created_by, created_at, "
    f"published_by, published_at, finalized_by, finalized_at) VALUES (1, 2, 2024, 4, "
    f"'finalized', 1, {AT}, 1, {AT}, 1, {AT}), (2, 2, 2025, 1, 'published', 1, {AT}, 1, "
    f"{AT}, NULL, NULL)",
    "INSERT INTO rating (id, org_id, year, status, created_by, created_at, published_by, "
    f"published_at, submitted_by, submitted_at) VALUES (1, 2, 2024, 'submitted', 1, {AT}, 1, "
    f"{AT}, 1, {AT})",
)


def test_0014_gives_the_default_minimum_and_no_reasons(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0013")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(sa.text(statement))

    upgrade(fresh_database, "0014")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT year, rating_notice_days, min_notice_days FROM rule_set ORDER BY year"
        )).all() == [(2024, 7, 5), (2025, 0, 5)]
        assert connection.execute(sa.text(
            "SELECT id, status, publish_reason, finalize_reason FROM review ORDER BY id"
        )).all() == [(1, "finalized", None, None), (2, "published", None, None)]
        assert connection.execute(sa.text(
            "SELECT id, status, publish_reason, submit_reason FROM rating")).all() == [
            (1, "submitted", None, None)]
    with engine.begin() as connection:
        # The columns take what the services store: up to 500 characters.
        connection.execute(sa.text(
            "UPDATE review SET finalize_reason = :reason WHERE id = 1"), {"reason": "理" * 500})
        connection.execute(sa.text("UPDATE rule_set SET min_notice_days = 0 WHERE year = 2025"))

    command.downgrade(alembic_config(fresh_database), "0013")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, status FROM review ORDER BY id")).all() == [(1, "finalized"),
                                                                    (2, "published")]
        assert connection.execute(sa.text("SELECT id, status FROM rating")).all() == [
            (1, "submitted")]
        columns = {c["name"] for c in sa.inspect(connection).get_columns("rule_set")}
        assert "min_notice_days" not in columns and "rating_notice_days" in columns
    upgrade(fresh_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT min_notice_days FROM rule_set ORDER BY year")).scalars().all() == [5, 5]
    engine.dispose()
