"""notices seen: per account, the time up to which its member has seen their notices

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 23:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notices are derived from the records (entry decisions, published reviews, answered
    # objections: app/services/notices.py); only "seen up to" is stored. A plain ADD COLUMN,
    # as 0002 and 0004 (no batch rebuild of a table others refer to). NULL: nothing seen yet.
    op.add_column("account", sa.Column("notices_seen_at", app.models.UTCDateTime(),
                                       nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN too (SQLite >= 3.35): a batch rebuild would drop and recreate
    # account under the foreign keys of entry, review... and fail once they hold rows.
    op.drop_column("account", "notices_seen_at")
