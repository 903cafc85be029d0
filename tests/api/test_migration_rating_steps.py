"""0012 gives ratings their steps (appraisal.md §2): a rating approved before keeps its
status and grades with ballot `none`; a draft goes on as a draft; objections to reviews
stay; the year's rule set gets the procedural defaults. The downgrade takes published and
submitted ratings back to draft and drops what the old schema cannot hold (SQLite and
PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)


def test_0012_keeps_approved_ratings_and_their_grades(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0011")
    engine = make_engine(fresh_database)
    at = "'2025-01-01 00:00:00'"
    with engine.begin() as connection:
        for statement in (
            f"INSERT INTO org (id, name, kind, path, created_at) VALUES "
            f"(1, '某镇党委', 'committee', '/1/', {at}), (2, '第一支部', 'branch', '/1/2/', {at})",
            "INSERT INTO member (id, name, org_id, category, joined_on, created_at) VALUES "
            f"(1, '张三', 2, 'retired', '2000-07-01', {at})",
            "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
            f"password_changed_at, created_at) VALUES (1, 'admin', 'x', NULL, true, {at}, {at})",
            "INSERT INTO rule_set (year, review_max, review_default, star_thresholds, "
            "unqualified_below, basic_below, basic_single_deduction, excellent_min, "
            f"excellent_divisor, created_at) VALUES (2024, 5, 5, '60,70,80,90,96', 60, 70, "
            f"10, 90, 3, {at})",
            "INSERT INTO rating (id, org_id, year, status, created_by, created_at, approved_by,"
            f" approved_at) VALUES (1, 2, 2024, 'approved', 1, {at}, 1, {at}),"
            f" (2, 2, 2025, 'draft', 1, {at}, NULL, NULL)",
            "INSERT INTO rating_item (id, rating_id, member_id, name, score, stars, vetoed, "
            "exempt, deducted, largest_deduction, proposed_grade, grade, reason) VALUES "
            "(1, 1, 1, '张三', 95, 4, false, false, 0, 0, 'excellent', 'qualified', '见会议记录')",
            "INSERT INTO review (id, org_id, year, quarter, status, created_by, created_at) "
            f"VALUES (1, 2, 2025, 1, 'published', 1, {at})",
            "INSERT INTO objection (id, review_id, member_id, text, status, created_at) VALUES "
            f"(1, 1, 1, '少记一次', 'open', {at})",
        ):
            connection.execute(sa.text(statement))

    upgrade(fresh_database, "0012")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, status, ballot, voters, cast_online, cast_paper, approved_by "
            "FROM rating ORDER BY id")).all() == [
            (1, "approved", "none", None, 0, 0, 1), (2, "draft", "none", None, 0, 0, None)]
        assert connection.execute(sa.text(
            "SELECT grade, reason FROM rating_item")).all() == [("qualified", "见会议记录")]
        assert connection.execute(sa.text(
            "SELECT review_id, rating_id, text FROM objection")).all() == [(1, None, "少记一次")]
        assert connection.execute(sa.text(
            "SELECT ballot_required, rating_notice_days, rectify_months FROM rule_set"
        )).one() == (True, 5, 6)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE rating SET status = 'published', ballot = 'closed', voters = 1 "
            "WHERE id = 2"))
        connection.execute(sa.text(
            "INSERT INTO objection (id, rating_id, member_id, text, status, created_at) "
            f"VALUES (2, 2, 1, '等次偏低', 'open', {at})"))
        # An objection is about a review or a rating, never both nor neither.
        for subject in ("1, 2", "NULL, NULL"):
            with _refused(), connection.begin_nested():
                connection.execute(sa.text(
                    "INSERT INTO objection (review_id, rating_id, member_id, text, status, "
                    f"created_at) VALUES ({subject}, 1, 'x', 'open', {at})"))

    command.downgrade(alembic_config(fresh_database), "0011")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, status FROM rating ORDER BY id")).all() == [(1, "approved"), (2, "draft")]
        assert connection.execute(sa.text(
            "SELECT id, review_id FROM objection")).all() == [(1, 1)]
    engine.dispose()


class _refused:
    """The statement inside fails on a constraint (and its savepoint is rolled back)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        assert kind is not None and issubclass(kind, sa.exc.IntegrityError), kind
        return True
