"""session revocation: logged-out sessions kept until they expire, and a per-account
session generation for 退出所有设备

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A logout stores the session's id until the session would have expired; the login
    # check looks it up by primary key, and logouts prune by expires_at.
    op.create_table(
        "revoked_session",
        sa.Column("session_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("expires_at", app.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_session")),
    )
    op.create_index(op.f("ix_revoked_session_expires_at"), "revoked_session", ["expires_at"],
                    unique=False)
    # A plain ADD COLUMN, as 0007 (no batch rebuild of a table others refer to). Every
    # existing account starts at generation 0.
    op.add_column("account", sa.Column("session_generation", sa.Integer(), nullable=False,
                                       server_default="0"))


def downgrade() -> None:
    # A plain DROP COLUMN too (SQLite >= 3.35), as 0007's downgrade.
    op.drop_column("account", "session_generation")
    op.drop_index(op.f("ix_revoked_session_expires_at"), table_name="revoked_session")
    op.drop_table("revoked_session")
