"""password change required: an account whose password someone else set

A members import and a password reset by a committee or an administrator give the account
a password the person did not choose; until they set their own, the pages send them to
修改密码 and the API refuses everything else (403 password_change_required). Existing
accounts start without the flag: nobody already logged in is stopped by this release.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, as 0008 (no batch rebuild of a table others refer to).
    op.add_column("account", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    # A plain DROP COLUMN too (SQLite >= 3.35), as 0008's downgrade.
    op.drop_column("account", "must_change_password")
