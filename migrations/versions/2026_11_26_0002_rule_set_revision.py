"""rule set revision: changes whenever a year's rules change, so processes can cache them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 14:47:36.115973
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table: on SQLite that would drop and rebuild
    # rule_set under rule_item's foreign key). Existing years get "initial"; every later
    # change writes a new random revision.
    op.add_column("rule_set", sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=32),
                                        nullable=False, server_default="initial"))


def downgrade() -> None:
    with op.batch_alter_table("rule_set", schema=None) as batch_op:
        batch_op.drop_column("revision")
