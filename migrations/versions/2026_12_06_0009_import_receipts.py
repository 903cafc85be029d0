"""import receipts: a confirmed sheet import, so a confirm sent again answers with its result

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:32:52.943004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table only. Its unique key is what makes two racing confirms of the same rows
    # create once (app/services/import_receipts.py).
    op.create_table(
        "import_receipt",
        sa.Column("id", app.models.BigId, nullable=False),
        sa.Column("account_id", app.models.BigId, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("imported_at", app.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"],
                                name=op.f("fk_import_receipt_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_receipt")),
        sa.UniqueConstraint("account_id", "kind", "digest", "generation",
                            name=op.f("uq_import_receipt_account_id_kind_digest_generation")),
    )


def downgrade() -> None:
    op.drop_table("import_receipt")
