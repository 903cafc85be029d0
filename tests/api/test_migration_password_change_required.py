"""0016 gives every account must_change_password (issue 17): the accounts stored before start
without it (nobody logged in is stopped by the upgrade), a new row takes the server's
default (false), and the downgrade drops the column and keeps the accounts (SQLite and
PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)

AT = "'2025-01-01 00:00:00'"
ACCOUNTS = (
    "INSERT INTO account (id, username, password_hash, member_id, is_admin, "
    f"password_changed_at, created_at) VALUES (1, 'admin', 'x', NULL, true, {AT}, {AT}), "
    f"(2, 'clerk', 'y', NULL, false, {AT}, {AT})"
)


def test_0016_starts_every_account_without_the_flag(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0015")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        connection.execute(sa.text(ACCOUNTS))

    upgrade(fresh_database, "0016")
    with engine.begin() as connection:
        assert connection.execute(sa.text(
            "SELECT id, must_change_password FROM account ORDER BY id")).all() == [
            (1, False), (2, False)]
        # A row written without it (an older release still running) takes the default.
        connection.execute(sa.text(
            "INSERT INTO account (id, username, password_hash, is_admin, password_changed_at, "
            f"created_at) VALUES (3, 'later', 'z', false, {AT}, {AT})"))
        connection.execute(sa.text(
            "UPDATE account SET must_change_password = true WHERE id = 2"))
        assert connection.execute(sa.text(
            "SELECT id, must_change_password FROM account ORDER BY id")).all() == [
            (1, False), (2, True), (3, False)]
        column = next(c for c in sa.inspect(connection).get_columns("account")
                      if c["name"] == "must_change_password")
        assert column["nullable"] is False

    command.downgrade(alembic_config(fresh_database), "0015")
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT id, username FROM account ORDER BY id")).all() == [
            (1, "admin"), (2, "clerk"), (3, "later")]
        columns = {c["name"] for c in sa.inspect(connection).get_columns("account")}
        assert "must_change_password" not in columns and "session_generation" in columns
    upgrade(fresh_database)
    with engine.connect() as connection:
        assert connection.execute(sa.text(
            "SELECT must_change_password FROM account ORDER BY id")).scalars().all() == [
            False, False, False]
    engine.dispose()
