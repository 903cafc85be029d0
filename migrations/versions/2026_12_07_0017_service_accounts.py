"""service accounts and API keys; the device of each login attempt

A service account (service_account) is an account row with no member and no usable
password, scoped to an organisation's subtree, read or read-write; its keys (api_key) are
kept as SHA-256 hashes with a short public prefix that finds them. login_attempt gains
`device`: the known device an attempt came from (NULL: an unknown one), so failures from
unknown devices no longer lock out the person's own phone (app/services/accounts.py).
Existing attempts keep NULL, as from unknown devices: the throttle counts them as it did.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = app.models.BigId
At = app.models.UTCDateTime


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _fk(table: str, column: str, target: str, key: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{key}"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "service_account",
        sa.Column("account_id", Id, nullable=False, autoincrement=False),
        sa.Column("org_id", Id, nullable=False),
        sa.Column("access", _text(10), nullable=False),
        sa.Column("note", _text(200), nullable=False),
        sa.Column("created_by", Id, nullable=True),
        sa.Column("created_at", At(), nullable=False),
        _fk("service_account", "account_id", "account"),
        _fk("service_account", "created_by", "account"),
        _fk("service_account", "org_id", "org"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_service_account")),
    )
    op.create_index(op.f("ix_service_account_org_id"), "service_account", ["org_id"])
    op.create_table(
        "api_key",
        sa.Column("id", Id, nullable=False),
        sa.Column("account_id", Id, nullable=False),
        sa.Column("prefix", _text(8), nullable=False),
        sa.Column("key_hash", _text(64), nullable=False),
        sa.Column("created_by", Id, nullable=True),
        sa.Column("created_at", At(), nullable=False),
        sa.Column("last_used_at", At(), nullable=True),
        sa.Column("revoked_by", Id, nullable=True),
        sa.Column("revoked_at", At(), nullable=True),
        _fk("api_key", "account_id", "service_account", "account_id"),
        _fk("api_key", "created_by", "account"),
        _fk("api_key", "revoked_by", "account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
    )
    op.create_index(op.f("ix_api_key_account_id"), "api_key", ["account_id"])
    # A plain ADD COLUMN, as 0016 (no batch rebuild of a table that may be large).
    op.add_column("login_attempt", sa.Column("device", _text(32), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN too (SQLite >= 3.35), as 0016's downgrade.
    op.drop_column("login_attempt", "device")
    op.drop_index(op.f("ix_api_key_account_id"), table_name="api_key")
    op.drop_table("api_key")
    op.drop_index(op.f("ix_service_account_org_id"), table_name="service_account")
    op.drop_table("service_account")
    # The service accounts' own account rows stay: entries, decisions and the audit log
    # name them. With no member and no usable password ('!service'), nobody logs in to them.
