"""An index for a committee's change feed (issue 20): entry (org_id, updated_at, id)

GET /api/v1/entries?updated_since= read by a branch or a 总支 walked every entry of the
county in (updated_at, id) order and dropped those of other branches, and counted what was
left the same way: 1.2 to 2.9 s a page at 10,000 members whatever the caller's size. With
this index the count and the page go branch by branch (0.2 to 40 ms there).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_entry_org_updated_at_id", "entry", ["org_id", "updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_entry_org_updated_at_id", table_name="entry")
