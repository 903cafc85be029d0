"""updated_at (issue 18): when what the API answers of a row last changed, for sync reads

Organisations, members, their suspensions and exemptions, entries, reviews, objections and
ratings gain updated_at (disposal cases and self-assessments have one already), stamped
from now on by app/services/stamps.py. Existing rows get the latest time the row itself
records (created_at, or a later decision, publication, withdrawal...), so a first sync read
with updated_since finds them in the order they last changed.

The lists a platform polls are read by (updated_at, id): an index each; the audit log's
(at, id) replaces its index on at alone, which it covers.

Added as a plain ADD COLUMN (no batch rebuild of tables others refer to), NOT NULL with a
constant default that the backfill then overwrites; on PostgreSQL the default is dropped
after it, so an insert that forgets the column fails instead of landing at 1970. SQLite
cannot drop a default without a rebuild: there the app's inserts always give the column.
The downgrade drops the columns and indexes again.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

At = app.models.UTCDateTime
EPOCH = "1970-01-01 00:00:00"

# Each table's *_at columns; its updated_at starts as the latest of them.
TIMES = {
    "org": ("created_at",),
    "member": ("created_at",),
    "member_suspension": ("created_at",),
    "member_exemption": ("created_at", "withdrawn_at"),
    "entry": ("created_at", "decided_at", "revoked_at"),
    "review": ("created_at", "published_at", "finalized_at"),
    "objection": ("created_at", "resolved_at"),
    "rating": ("created_at", "ballot_opened_at", "ballot_closed_at", "published_at",
               "submitted_at", "sent_back_at", "approved_at"),
}
# The lists read by (updated_at, id) (GET /api/v1/orgs, /members, /entries, ...).
INDEXED = ("org", "member", "entry", "review", "rating", "disposal_case")


def _latest(columns: Sequence[str], dialect: str) -> str:
    """SQL for the latest of the columns, ignoring NULLs (created_at never is)."""
    first, *rest = columns
    if not rest:
        return first
    if dialect == "postgresql":
        return f"GREATEST({', '.join(columns)})"  # GREATEST skips NULLs
    # SQLite's max() of several is NULL if any is; the stored texts sort as the times do.
    return f"max({', '.join([first, *(f'coalesce({c}, {first})' for c in rest)])})"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, columns in TIMES.items():
        op.add_column(table, sa.Column("updated_at", At(), nullable=False,
                                       server_default=sa.text(f"'{EPOCH}'")))
        op.execute(f"UPDATE {table} SET updated_at = {_latest(columns, dialect)}")
        if dialect == "postgresql":
            op.alter_column(table, "updated_at", server_default=None)
    for table in INDEXED:
        op.create_index(f"ix_{table}_updated_at_id", table, ["updated_at", "id"])
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"])
    op.drop_index("ix_audit_log_at", table_name="audit_log")


def downgrade() -> None:
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.drop_index("ix_audit_log_at_id", table_name="audit_log")
    for table in INDEXED:
        op.drop_index(f"ix_{table}_updated_at_id", table_name=table)
    for table in TIMES:
        # A plain DROP COLUMN (SQLite >= 3.35), as 0016's downgrade.
        op.drop_column(table, "updated_at")
