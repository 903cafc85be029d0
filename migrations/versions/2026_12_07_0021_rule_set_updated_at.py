"""rule_set.updated_at (issue 18): when a year's rules last changed, as every other resource

A year's rule set and its items are answered together (GET /api/v1/rules), and an item
changes only with its set (app/services/stamps.py touches the set), so the set's row holds
the one time. Existing rows get the latest time the audit log records a change of the year's
rules (its creation, an import, a procedural edit, an item's edit), else created_at.

Added as 0020 added its columns: NOT NULL with a constant default that the backfill
overwrites, the default dropped on PostgreSQL. The downgrade drops the column again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 23:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EPOCH = "1970-01-01 00:00:00"

# The latest audited change of the year's set or of one of its items. The stored times are
# ISO texts on SQLite and timestamps on PostgreSQL: both compare as the times do.
LATEST_CHANGE = """
SELECT max(a.at) FROM audit_log a
WHERE (a.object_type = 'rule_set' AND a.object_id = rule_set.year)
   OR (a.object_type = 'rule_item' AND a.object_id IN (
        SELECT i.id FROM rule_item i WHERE i.year = rule_set.year))
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("rule_set", sa.Column("updated_at", app.models.UTCDateTime(), nullable=False,
                                        server_default=sa.text(f"'{EPOCH}'")))
    latest = (f"GREATEST(created_at, ({LATEST_CHANGE}))" if dialect == "postgresql"
              else f"max(created_at, coalesce(({LATEST_CHANGE}), created_at))")
    op.execute(f"UPDATE rule_set SET updated_at = {latest}")
    if dialect == "postgresql":
        op.alter_column("rule_set", "updated_at", server_default=None)


def downgrade() -> None:
    op.drop_column("rule_set", "updated_at")
