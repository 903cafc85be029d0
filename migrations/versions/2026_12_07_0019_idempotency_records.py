"""idempotency records: a POST sent again with the same Idempotency-Key answers the first result

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table only. Its unique key is what lets one of two racing requests with the same
    # key run and tells the other it is in progress (app/services/idempotency.py).
    op.create_table(
        "idempotency_record",
        sa.Column("id", app.models.BigId, nullable=False),
        sa.Column("caller", sa.String(length=80), nullable=False),
        sa.Column("client_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("created_at", app.models.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", app.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("caller", "client_key",
                            name=op.f("uq_idempotency_record_caller_client_key")),
    )
    # Expired records are pruned by age.
    op.create_index(op.f("ix_idempotency_record_created_at"), "idempotency_record",
                    ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_record_created_at"), table_name="idempotency_record")
    op.drop_table("idempotency_record")
