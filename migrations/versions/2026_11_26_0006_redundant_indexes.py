"""redundant indexes: review_score.review_id and rating_item.rating_id are the leading
columns of their unique keys, whose indexes serve the same lookups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 21:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each is updated for every row written (a quarter's scores, a year's rating lines) and
# answers nothing the unique key's index (review_id, member_id) / (rating_id, member_id)
# does not.
INDEXES = (("review_score", "review_id"), ("rating_item", "rating_id"))


def upgrade() -> None:
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)


def downgrade() -> None:
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])
