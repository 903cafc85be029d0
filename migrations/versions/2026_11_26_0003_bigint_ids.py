"""bigint ids: every id and every column holding one is 64-bit on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 17:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each table's id and the columns holding an id (foreign keys, audit_log.object_id), as of
# 0002. rule_set.year and rule_item.year are years, not ids.
ID_COLUMNS = {
    "org": ["id", "parent_id"],
    "member": ["id", "org_id"],
    "account": ["id", "member_id"],
    "role_grant": ["id", "member_id", "org_id"],
    "rule_item": ["id"],
    "entry": ["id", "member_id", "created_by", "decided_by", "revoked_by"],
    "review": ["id", "org_id", "created_by", "published_by", "finalized_by"],
    "review_score": ["id", "review_id", "member_id"],
    "objection": ["id", "review_id", "member_id", "resolved_by"],
    "rating": ["id", "org_id", "created_by", "approved_by"],
    "rating_item": ["id", "rating_id", "member_id", "changed_by"],
    "audit_log": ["id", "actor_id", "object_id"],
    "login_attempt": ["id"],
}


def upgrade() -> None:
    _retype("bigint")


def downgrade() -> None:
    # Fails (and changes nothing) once an id or a sequence has passed 2**31 - 1.
    _retype("integer")


def _retype(sql_type: str) -> None:
    # SQLite: nothing to do. Its INTEGER already holds 64 bits, and an id must stay declared
    # exactly INTEGER PRIMARY KEY to remain the rowid alias that numbers new rows; the models
    # map BigId to INTEGER there, so the schema already matches them.
    if op.get_context().dialect.name != "postgresql":
        return
    for table, columns in ID_COLUMNS.items():
        # One ALTER TABLE per table: PostgreSQL rewrites the table (and rebuilds its indexes)
        # once for all its columns, where one statement per column would do it each time.
        op.execute(f"ALTER TABLE {table} " + ", ".join(
            f"ALTER COLUMN {column} TYPE {sql_type}" for column in columns))
        # 0001 made the ids SERIAL: their sequences are AS integer and would stop at 2**31 - 1
        # whatever the column's type. ALTER SEQUENCE ... AS also moves a maximum that was the
        # old type's own. The sequence is looked up by the server (pg_get_serial_sequence,
        # which finds an identity column's too), so `alembic upgrade --sql` works as well.
        op.execute(f"DO $$ BEGIN EXECUTE 'ALTER SEQUENCE ' || "
                   f"pg_get_serial_sequence('{table}', 'id') || ' AS {sql_type}'; END $$")
