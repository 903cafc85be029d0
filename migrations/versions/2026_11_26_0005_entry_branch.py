"""entry branch: each entry carries its member's branch, and the annual rating reads a
branch's sums from one covering index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 20:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEX_COLUMNS = ["year", "status", "org_id", "member_id", "rule_code", "points"]


def upgrade() -> None:
    op.add_column("entry", sa.Column("org_id", BIG_ID, nullable=True))
    # Members do not move between branches, so the member's branch now is the entry's.
    op.execute("UPDATE entry SET org_id = "
               "(SELECT member.org_id FROM member WHERE member.id = entry.member_id)")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.alter_column("org_id", existing_type=BIG_ID, nullable=False)
        batch_op.create_foreign_key("fk_entry_org_id_org", "org", ["org_id"], ["id"])
    op.create_index("ix_entry_year_status_org", "entry", INDEX_COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_entry_year_status_org", table_name="entry")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_constraint("fk_entry_org_id_org", type_="foreignkey")
        batch_op.drop_column("org_id")
