"""0017 adds service accounts and API keys, and the device of each login attempt: the attempts
stored before count as from unknown devices (NULL), as the throttle counted them; the
downgrade drops the keys and the column and keeps every account, a service account's too
(entries and the audit log name it), with no usable password."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)

AT = "'2025-01-01 00:00:00'"


def test_0017_keeps_the_attempts_as_from_unknown_devices(fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0016")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO login_attempt (id, username, at, success) VALUES "
            f"(1, 'a1', {AT}, false), (2, 'a1', {AT}, true)"))

    upgrade(fresh_database, "0017")
    with engine.begin() as connection:
        assert connection.execute(sa.text(
            "SELECT id, success, device FROM login_attempt ORDER BY id")).all() == [
            (1, False, None), (2, True, None)]
        connection.execute(sa.text(
            "INSERT INTO org (id, name, kind, path, created_at, revision) VALUES "
            f"(1, 'P', 'committee', '/1/', {AT}, 'x')"))
        connection.execute(sa.text(
            "INSERT INTO account (id, username, password_hash, is_admin, password_changed_at, "
            f"created_at) VALUES (7, 'city-platform', '!service', false, {AT}, {AT})"))
        connection.execute(sa.text(
            "INSERT INTO service_account (account_id, org_id, access, note, created_at) "
            f"VALUES (7, 1, 'read', '', {AT})"))
        connection.execute(sa.text(
            "INSERT INTO api_key (id, account_id, prefix, key_hash, created_at) "
            f"VALUES (1, 7, 'abcdefgh', '{'0' * 64}', {AT})"))
        # One prefix, one key.
        try:
            with connection.begin_nested():
                connection.execute(sa.text(
                    "INSERT INTO api_key (id, account_id, prefix, key_hash, created_at) "
                    f"VALUES (2, 7, 'abcdefgh', '{'1' * 64}', {AT})"))
            raise AssertionError("a second key with the same prefix was stored")
        except sa.exc.IntegrityError:
            pass

    command.downgrade(alembic_config(fresh_database), "0016")
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        assert not {"service_account", "api_key"} & tables
        columns = {c["name"] for c in sa.inspect(connection).get_columns("login_attempt")}
        assert "device" not in columns
        assert connection.execute(sa.text(
            "SELECT username, password_hash FROM account")).all() == [
            ("city-platform", "!service")]
    upgrade(fresh_database)
    engine.dispose()
