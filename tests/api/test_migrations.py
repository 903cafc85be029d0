"""Upgrading a database that holds data: every revision from the first, on SQLite and
PostgreSQL (a fresh database on JIFEN_TEST_DATABASE_URL's server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers the tables)
from app.db import make_engine
from app.migrate import alembic_config, upgrade
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


def test_the_models_match_the_migrated_schema(fresh_database: str) -> None:
    """`alembic check` in a test: autogenerate (types compared) finds nothing to do."""
    upgrade(fresh_database)
    engine = make_engine(fresh_database)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


LAST_INT4 = 2**31 - 1


def _is_id(column: str) -> bool:
    """What 0003 widens: the ids and the columns holding one (rule_set.year is a year)."""
    return column == "id" or column.endswith(("_id", "_by"))


def _column_types(connection: sa.Connection) -> dict[tuple[str, str], str]:
    """(table, column) -> declared type, for every table."""
    inspector = sa.inspect(connection)
    return {(table, column["name"]): str(column["type"]).upper()
            for table in inspector.get_table_names() if table != "alembic_version"
            for column in inspector.get_columns(table)}


def _rows(connection: sa.Connection) -> dict[str, list[Any]]:
    return {table: [tuple(r) for r in connection.execute(sa.text(
        f"SELECT * FROM {table} ORDER BY id"))] for table in (
        "org", "member", "account", "entry", "audit_log")}


def test_0003_upgrades_a_database_with_ids_to_bigint(fresh_database: str) -> None:
    """0003 keeps every row; on PostgreSQL the ids and their sequences then pass 2**31 - 1,
    on SQLite (INTEGER is 64-bit already) it changes nothing."""
    upgrade(fresh_database, "0002")
    engine = make_engine(fresh_database)
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO org (id, name, parent_id, kind, path, created_at) VALUES "
            "(1, '某镇党委', NULL, 'committee', '/1/', '2025-01-01 00:00:00'), "
            "(2, '第一支部', 1, 'branch', '/1/2/', '2025-01-01 00:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO member (id, name, org_id, category, joined_on, exempt, created_at) "
            "VALUES (1, '张三', 2, 'active', '2020-07-01', false, '2025-01-01 00:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
            "password_changed_at, created_at) VALUES (1, 'zhangsan', 'x', 1, false, "
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"))
        # The last id INTEGER holds, and (PostgreSQL) its sequence spent up to there.
        for entry_id in (1, LAST_INT4):
            connection.execute(sa.text(
                "INSERT INTO entry (id, member_id, rule_code, kind, occurred_on, year, "
                "quarter, quantity, points, status, note, created_by, created_at) VALUES "
                "(:id, 1, 'P01', 'positive', '2025-08-06', 2025, 3, 1, 2, 'approved', '', 1, "
                "'2025-08-06 00:00:00')"), {"id": entry_id})
        connection.execute(sa.text(
            "INSERT INTO audit_log (id, at, actor_id, action, object_type, object_id, "
            "prev_hash, hash) VALUES (1, '2025-08-06 00:00:00', 1, 'entry.created', 'entry', "
            ":id, '', 'h')"), {"id": LAST_INT4})
        if postgresql:
            connection.execute(sa.text("SELECT setval('entry_id_seq', :id)"), {"id": LAST_INT4})
        before = _rows(connection)
    with engine.connect() as connection:
        types_before = _column_types(connection)

    upgrade(fresh_database, "0003")
    with engine.begin() as connection:
        assert _rows(connection) == before
        types = _column_types(connection)
        # The next entry is past INTEGER's range: numbered by the sequence on PostgreSQL, by
        # the rowid (the largest + 1) on SQLite.
        connection.execute(sa.text(
            "INSERT INTO entry (member_id, rule_code, kind, occurred_on, year, quarter, "
            "quantity, points, status, note, created_by, created_at) VALUES (1, 'P01', "
            "'positive', '2025-08-07', 2025, 3, 1, 2, 'pending', '', 1, "
            "'2025-08-07 00:00:00')"))
        assert connection.execute(sa.text("SELECT max(id) FROM entry")).scalar() == 2**31
        if postgresql:
            sequences: dict[str, str] = dict(connection.execute(sa.text(
                "SELECT sequencename, data_type::text FROM pg_sequences")).all())
    if postgresql:
        assert types == {c: "BIGINT" if _is_id(c[1]) else t for c, t in types_before.items()}
        assert sum(_is_id(c) for _t, c in types) == 39
        assert len(sequences) == 13 and set(sequences.values()) == {"bigint"}, sequences
    else:
        assert types == types_before  # not rebuilt: the ids stay INTEGER PRIMARY KEY
    engine.dispose()


def _town_at_0003(url: str) -> tuple[sa.Engine, list[Any]]:
    """The schema of 0003 holding one organisation: the engine and the org rows."""
    upgrade(url, "0003")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO org (name, parent_id, kind, path, created_at) VALUES "
            "('某镇党委', NULL, 'committee', '/1/', '2025-01-01 00:00:00')"))
        return engine, list(connection.execute(sa.text("SELECT * FROM org")).all())


def test_0003_downgrades_to_integer_ids(fresh_database: str) -> None:
    """Back to INTEGER ids and sequences on PostgreSQL, rows kept; nothing to undo on SQLite."""
    engine, before = _town_at_0003(fresh_database)
    if engine.dialect.name == "postgresql":
        # An id past INTEGER's range stops the downgrade, which then changes nothing.
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO org (id, name, kind, path, created_at) VALUES "
                "(:id, '大', 'committee', '/', '2025-01-01 00:00:00')"), {"id": 2**31})
        with pytest.raises(sa.exc.DataError, match="out of range"):
            command.downgrade(alembic_config(fresh_database), "0002")
        with engine.begin() as connection:
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")
                                      ).scalar() == "0003"
            connection.execute(sa.text("DELETE FROM org WHERE id = :id"), {"id": 2**31})
    command.downgrade(alembic_config(fresh_database), "0002")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT * FROM org")).all() == before
        types = _column_types(connection)
        assert {t for (_table, c), t in types.items() if _is_id(c)} == {"INTEGER"}
        if engine.dialect.name == "postgresql":
            assert connection.execute(sa.text(
                "SELECT DISTINCT data_type::text FROM pg_sequences")).scalars().all() == [
                "integer"]
    engine.dispose()


def test_0004_gives_every_branch_a_revision(fresh_database: str) -> None:
    """Existing organisations get "initial"; the downgrade keeps the rows and drops the
    column."""
    engine, before = _town_at_0003(fresh_database)
    upgrade(fresh_database, "0004")
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT id, revision FROM org")).all() == [
            (before[0][0], "initial")]
    command.downgrade(alembic_config(fresh_database), "0003")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT * FROM org")).all() == before
    engine.dispose()


def test_0005_files_each_entry_under_its_members_branch(fresh_database: str) -> None:
    """Entries get their member's branch, which is then required and indexed for the
    rating; the downgrade gives back the rows as they were."""
    upgrade(fresh_database, "0004")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO org (id, name, kind, path, created_at) VALUES "
            "(1, '某镇党委', 'committee', '/1/', '2025-01-01 00:00:00'), "
            "(2, '第一支部', 'branch', '/1/2/', '2025-01-01 00:00:00'), "
            "(3, '第二支部', 'branch', '/1/3/', '2025-01-01 00:00:00')",
            "INSERT INTO member (id, name, org_id, category, joined_on, exempt, created_at) "
            "VALUES (1, '张三', 2, 'active', '2020-07-01', false, '2025-01-01 00:00:00'), "
            "(2, '李四', 3, 'active', '2020-07-01', false, '2025-01-01 00:00:00')",
            "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
            "password_changed_at, created_at) VALUES (1, 'zhangsan', 'x', 1, false, "
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00')",
            "INSERT INTO entry (id, member_id, rule_code, kind, occurred_on, year, quarter, "
            "quantity, points, status, note, created_by, created_at) VALUES "
            "(1, 1, 'P01', 'positive', '2025-08-06', 2025, 3, 1, 2, 'approved', '', 1, "
            "'2025-08-06 00:00:00'), (2, 2, 'N01', 'negative', '2025-08-07', 2025, 3, 1, -2, "
            "'approved', '', 1, '2025-08-07 00:00:00')",
        ):
            connection.execute(sa.text(statement))
        before = connection.execute(sa.text("SELECT * FROM entry ORDER BY id")).all()
    upgrade(fresh_database, "0005")
    with engine.begin() as connection:
        assert connection.execute(sa.text("SELECT id, org_id FROM entry ORDER BY id")).all() \
            == [(1, 2), (2, 3)]
        # Required.
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
            connection.execute(sa.text("UPDATE entry SET org_id = NULL WHERE id = 1"))
    assert "ix_entry_year_status_org" in {
        i["name"] for i in sa.inspect(engine).get_indexes("entry")}
    command.downgrade(alembic_config(fresh_database), "0004")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT * FROM entry ORDER BY id")).all() == before
    engine.dispose()


def test_0006_drops_the_indexes_the_unique_keys_already_give(fresh_database: str) -> None:
    upgrade(fresh_database, "0005")
    engine = make_engine(fresh_database)

    def index_names(table: str) -> set[str]:
        inspector = sa.inspect(engine)
        return {i["name"] or "" for i in inspector.get_indexes(table)} | {
            u["name"] or "" for u in inspector.get_unique_constraints(table)}

    assert "ix_rating_item_rating_id" in index_names("rating_item")
    upgrade(fresh_database, "0006")
    assert "ix_rating_item_rating_id" not in index_names("rating_item")
    assert "ix_review_score_review_id" not in index_names("review_score")
    # What serves a lookup by rating or review now: the unique key, led by that column.
    assert "uq_rating_item_rating_id_member_id" in index_names("rating_item")
    assert "uq_review_score_review_id_member_id" in index_names("review_score")
    command.downgrade(alembic_config(fresh_database), "0005")
    assert {"ix_rating_item_rating_id"} <= index_names("rating_item")
    assert {"ix_review_score_review_id"} <= index_names("review_score")
    engine.dispose()


def test_two_servers_starting_together_migrate_once(fresh_database: str) -> None:
    """Both app servers of docs/deployment.md upgrade the schema as they start (`jifen
    serve` runs the migrations first): two `jifen migrate` processes at once both succeed
    and leave the schema at head. On PostgreSQL one waits on an advisory lock for the
    other; on SQLite, on a lock file beside the database (migrations/env.py)."""
    env = {**os.environ, "JIFEN_DATABASE_URL": fresh_database}
    servers = [subprocess.Popen([sys.executable, "-m", "app.cli", "migrate"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    outputs = [server.communicate(timeout=300)[0] for server in servers]
    assert [server.returncode for server in servers] == [0, 0], "\n---\n".join(
        output[-4000:] for output in outputs)  # a string: shown whole, not cut short
    engine = make_engine(fresh_database)
    with engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
        tables = sa.inspect(connection).get_table_names()
    engine.dispose()
    assert heads == (ScriptDirectory.from_config(alembic_config(fresh_database))
                     .get_current_head(),)
    assert {"member", "entry", "alembic_version"} <= set(tables)
