"""Upgrading a database that holds data: every revision from the first, on SQLite and
PostgreSQL (a fresh database on JIFEN_TEST_DATABASE_URL's server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db import make_engine
from app.migrate import upgrade
from tests.databases import empty_database


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    with empty_database(tmp_path, "jifen_upgrade") as url:
        yield url


def test_0002_upgrades_a_database_with_rules_and_entries(fresh_database: str) -> None:
    """0002 adds rule_set.revision under rule_item's foreign key (a batch rebuild of the
    table failed here on SQLite once it held rows)."""
    upgrade(fresh_database, "0001")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO rule_set (year, review_max, review_default, star_thresholds, "
            "unqualified_below, basic_below, basic_single_deduction, excellent_min, "
            "excellent_divisor, created_at) VALUES (2025, 5, 5, '60,70,80,90,96', 60, 70, "
            "10, 90, 3, '2025-01-01 00:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO rule_item (year, position, code, kind, name, points, cap, "
            "categories) VALUES (2025, 1, 'P01', 'positive', '参加集中学习', 2, 8, "
            "'active,mobile,retired,rural')"))
    upgrade(fresh_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT year, revision FROM rule_set")).all() == [
            (2025, "initial")]
        assert connection.execute(sa.text("SELECT count(*) FROM rule_item")).scalar() == 1
    engine.dispose()
