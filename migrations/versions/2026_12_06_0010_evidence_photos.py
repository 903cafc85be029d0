"""evidence photos: which member each stored photo is for, and who uploaded it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 10:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The paths the app writes (app/services/evidence.py, as of this revision).
STORED = re.compile(r"evidence/\d{4}/\d{2}/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
                    r"[89ab][0-9a-f]{3}-[0-9a-f]{12}\.jpg")


def upgrade() -> None:
    photos = op.create_table(
        "evidence_photo",
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("member_id", app.models.BigId, nullable=False),
        sa.Column("uploaded_by", app.models.BigId, nullable=False),
        sa.Column("uploaded_at", app.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"],
                                name=op.f("fk_evidence_photo_member_id_member")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["account.id"],
                                name=op.f("fk_evidence_photo_uploaded_by_account")),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_evidence_photo")),
    )
    # Until now a photo was stored only with the self-report that brought it, so a path's
    # first entry is its upload. A later entry naming the same path through the API's
    # unchecked `evidence` field (someone else's photo) does not make it theirs.
    entry = sa.table("entry", sa.column("id"), sa.column("member_id"),
                     sa.column("evidence", sa.String()), sa.column("created_by"),
                     sa.column("created_at", app.models.UTCDateTime()))
    rows = op.get_bind().execute(
        sa.select(entry.c.evidence, entry.c.member_id, entry.c.created_by, entry.c.created_at)
        .where(entry.c.evidence.is_not(None))
        .order_by(entry.c.created_at, entry.c.id))
    first: dict[str, dict[str, object]] = {}
    for path, member_id, created_by, created_at in rows:
        if STORED.fullmatch(path) and path not in first:
            first[path] = {"path": path, "member_id": member_id, "uploaded_by": created_by,
                           "uploaded_at": created_at}
    if first:
        op.bulk_insert(photos, list(first.values()))


def downgrade() -> None:
    op.drop_table("evidence_photo")
