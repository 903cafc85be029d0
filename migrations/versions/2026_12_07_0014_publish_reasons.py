"""publish reasons (issue 17): the minimum notice and the reasons for early steps

The year's rule set gains the procedural parameter min_notice_days (5): a notice (公示)
shorter than it needs a reason. A quarterly review keeps the reason it was published or
finalized for before its quarter ended (publish_reason, finalize_reason), a rating the
reason of its last publication and of its submission before its year ended
(publish_reason, submit_reason). Existing rows get the default and no reasons: what was
done before the rule stays as it was. The downgrade drops them (the audit log keeps them).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The reason columns of each table, in the order they are added.
REASONS = {"review": ("publish_reason", "finalize_reason"),
           "rating": ("publish_reason", "submit_reason")}


def upgrade() -> None:
    with op.batch_alter_table("rule_set") as batch_op:
        batch_op.add_column(sa.Column("min_notice_days", sa.Integer(), server_default="5",
                                      nullable=False))
    for table, columns in REASONS.items():
        with op.batch_alter_table(table) as batch_op:
            for name in columns:
                batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=500),
                                              nullable=True))


def downgrade() -> None:
    for table, columns in REASONS.items():
        with op.batch_alter_table(table) as batch_op:
            for name in reversed(columns):
                batch_op.drop_column(name)
    with op.batch_alter_table("rule_set") as batch_op:
        batch_op.drop_column("min_notice_days")
