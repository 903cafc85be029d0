"""org revision: changes whenever a branch's records change, so pages can be kept

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 20:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, as 0002 (no batch rebuild of a table others refer to). Existing
    # organisations get "initial"; every later change to a branch writes a new random value
    # (app/services/locking.py), which the member page's cache keys on (app/web/page_cache.py).
    op.add_column("org", sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=False, server_default="initial"))


def downgrade() -> None:
    with op.batch_alter_table("org", schema=None) as batch_op:
        batch_op.drop_column("revision")
