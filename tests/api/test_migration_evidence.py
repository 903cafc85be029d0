"""0010 puts the photos already stored on record, each for the member whose entry first named
it (the self-report that brought it); a later entry naming the same path (someone else's
photo, through the API's unchecked `evidence` of before) makes it nobody else's. The
downgrade takes the table away, entries as they were (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from app.db import make_engine
from app.migrate import alembic_config, upgrade
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)

PHOTO = "evidence/2025/08/0b6f5f4e-5c1a-4d8e-9a57-2f4c1d3e8b21.jpg"
OTHER = "evidence/2025/09/7d2e9c10-3b4a-4f6e-8c1d-5e6f7a8b9c0d.jpg"


def test_0010_keeps_each_stored_photo_for_the_member_who_brought_it(
        fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0007")
    engine = make_engine(fresh_database)
    entry = ("INSERT INTO entry (id, member_id, org_id, rule_code, kind, occurred_on, year, "
             "quarter, quantity, points, status, note, evidence, created_by, created_at) VALUES ")
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
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00'), (2, 'lisi', 'y', 2, false, "
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00')",
            # Id order differs from time order on purpose: the earliest is the upload.
            entry + f"(1, 2, 3, 'P01', 'positive', '2025-08-07', 2025, 3, 1, 2, 'pending', "
            f"'', '{PHOTO}', 2, '2025-08-07 09:00:00')",
            entry + f"(2, 1, 2, 'P01', 'positive', '2025-08-06', 2025, 3, 1, 2, 'pending', "
            f"'', '{PHOTO}', 1, '2025-08-06 09:00:00')",
            entry + f"(3, 1, 2, 'P03', 'positive', '2025-09-01', 2025, 3, 1, 2, 'approved', "
            f"'', '{OTHER}', 1, '2025-09-01 10:00:00')",
            entry + "(4, 2, 3, 'P01', 'positive', '2025-09-02', 2025, 3, 1, 2, 'pending', "
            "'', '../secret.jpg', 2, '2025-09-02 10:00:00')",
            entry + "(5, 2, 3, 'P01', 'positive', '2025-09-03', 2025, 3, 1, 2, 'pending', "
            "'', NULL, 2, '2025-09-03 10:00:00')",
        ):
            connection.execute(sa.text(statement))
        entries = connection.execute(sa.text("SELECT * FROM entry ORDER BY id")).all()

    upgrade(fresh_database, "0010")
    with engine.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT path, member_id, uploaded_by FROM evidence_photo ORDER BY path")).all()
        assert rows == [(PHOTO, 1, 1), (OTHER, 1, 1)]
        assert connection.execute(sa.text("SELECT * FROM entry ORDER BY id")).all() == entries

    command.downgrade(alembic_config(fresh_database), "0007")
    assert "evidence_photo" not in sa.inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT * FROM entry ORDER BY id")).all() == entries
    engine.dispose()
