"""A member's year of entries read from the index alone (issue 20): entry (member_id, year,
status) becomes (member_id, year, status, rule_code, quarter, points)

Every score a member's page, the score API and a quarter's finalizing show is the sum of
the member's approved entries of the year by item and quarter (app/services/scoring.py,
item_totals). The old index found the rows and the table was read for each; this one holds
every column the sum reads, in the order it groups them, so neither the table nor a sort is
touched: a branch's year 2.3 → 1.7 ms on SQLite at 10,000 members. It replaces the old one
(its first three columns are the old index), so an entry is written to no more indexes.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = ["member_id", "year", "status"]
NEW = [*OLD, "rule_code", "quarter", "points"]


def upgrade() -> None:
    op.drop_index("ix_entry_member_year", table_name="entry")
    op.create_index("ix_entry_member_year", "entry", NEW)


def downgrade() -> None:
    op.drop_index("ix_entry_member_year", table_name="entry")
    op.create_index("ix_entry_member_year", "entry", OLD)
