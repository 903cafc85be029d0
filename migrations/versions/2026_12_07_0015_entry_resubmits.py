"""entry resubmits (issue 17): a rejected self-report edited and sent again

An entry gains resubmits_id, the rejected entry it corrects: a new pending entry names the
one the committee rejected, which stays as it was, with its reason. Existing rows get
none: nothing was resubmitted before. Indexed, as each rejected entry's page and the
committee's list ask "was it resubmitted, and by which?".

A soft reference, like audit_log.object_id, not a foreign key: no foreign key may
reference entry.id, so that entry can be partitioned by year (docs/scaling.md §2; its
primary key becomes (id, year)). The service writes it under the branch's lock, and
`jifen check` verifies it names a rejected entry of the same member, resubmitted once.
The downgrade drops it (the audit log keeps each entry's resubmits_id).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entry") as batch_op:
        batch_op.add_column(sa.Column("resubmits_id", app.models.BigId, nullable=True))
        batch_op.create_index(batch_op.f("ix_entry_resubmits_id"), ["resubmits_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("entry") as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_resubmits_id"))
        batch_op.drop_column("resubmits_id")
