"""standing, suspended rights and exemptions per year (appraisal.md §1)

The member's `exempt` flag and `exempt_reason` become exemptions per year. The flag was
copied onto a rating's lines when the rating was created, so it stood for every rating not
yet made and was already written into every rating made. Each exempt member gets an
exemption (reason kind `other`, the reason as its note) for the current Beijing year, for
the year before unless their branch's rating of it is approved, and for the year of every
draft rating of their branch; and every rating line marked exempt gets one for its year.
Nothing a branch recorded is lost: the downgrade puts this year's exemption back as the flag.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 11:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Stored on exemptions carried over from a rating line of a member no longer flagged exempt
# (the flag's reason went with it): the rating recorded the exemption, not why.
FROM_RATING = "免评（迁移：见该年度评星定级）"
NO_REASON = "免评（迁移：原标注未写原因）"

member = sa.table("member", sa.column("id"), sa.column("org_id"), sa.column("exempt"),
                  sa.column("exempt_reason", sa.String()))
rating = sa.table("rating", sa.column("id"), sa.column("org_id"), sa.column("year"),
                  sa.column("status", sa.String()))
rating_item = sa.table("rating_item", sa.column("rating_id"), sa.column("member_id"),
                       sa.column("exempt"))


def _this_year() -> int:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).year


def upgrade() -> None:
    exemption = op.create_table(
        "member_exemption",
        sa.Column("id", app.models.BigId, nullable=False),
        sa.Column("member_id", app.models.BigId, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("reason_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("parent_consent_on", sa.Date(), nullable=True),
        sa.Column("meeting_on", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_by", app.models.BigId, nullable=True),
        sa.Column("created_at", app.models.UTCDateTime(), nullable=False),
        sa.Column("withdrawn_reason", sqlmodel.sql.sqltypes.AutoString(length=1000),
                  nullable=True),
        sa.Column("withdrawn_by", app.models.BigId, nullable=True),
        sa.Column("withdrawn_at", app.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"],
                                name=op.f("fk_member_exemption_member_id_member")),
        sa.ForeignKeyConstraint(["created_by"], ["account.id"],
                                name=op.f("fk_member_exemption_created_by_account")),
        sa.ForeignKeyConstraint(["withdrawn_by"], ["account.id"],
                                name=op.f("fk_member_exemption_withdrawn_by_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_exemption")),
    )
    op.create_index("ix_member_exemption_member_year", "member_exemption",
                    ["member_id", "year"], unique=False)
    op.create_table(
        "member_suspension",
        sa.Column("id", app.models.BigId, nullable=False),
        sa.Column("member_id", app.models.BigId, nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("end_note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_by", app.models.BigId, nullable=False),
        sa.Column("created_at", app.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"],
                                name=op.f("fk_member_suspension_member_id_member")),
        sa.ForeignKeyConstraint(["created_by"], ["account.id"],
                                name=op.f("fk_member_suspension_created_by_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_suspension")),
    )
    op.create_index(op.f("ix_member_suspension_member_id"), "member_suspension",
                    ["member_id"], unique=False)
    op.add_column("rating_item", sa.Column("standing",
                                           sqlmodel.sql.sqltypes.AutoString(length=20),
                                           server_default="full", nullable=False))

    op.bulk_insert(exemption, _carried_over(op.get_bind()))

    # Plain ALTER TABLE, also on SQLite (3.35+ drops columns): a batch would copy the
    # member table, which the foreign keys of every other table refer to.
    op.add_column("member", sa.Column("standing", sqlmodel.sql.sqltypes.AutoString(length=20),
                                      server_default="full", nullable=False))
    op.add_column("member", sa.Column("full_since", sa.Date(), nullable=True))
    op.add_column("member", sa.Column("left_on", sa.Date(), nullable=True))
    op.add_column("member", sa.Column("left_kind", sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=True))
    op.add_column("member", sa.Column("left_note",
                                      sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=True))
    op.drop_column("member", "exempt_reason")
    op.drop_column("member", "exempt")


def _carried_over(bind: sa.Connection) -> list[dict[str, object]]:
    """The exemptions the flag and the rating lines stood for, one per member and year."""
    this_year = _this_year()
    statuses: dict[tuple[int, int], str] = {
        (org_id, year): status for org_id, year, status in bind.execute(
            sa.select(rating.c.org_id, rating.c.year, rating.c.status))}
    drafts: dict[int, set[int]] = {}
    for (org_id, year), status in statuses.items():
        if status == "draft":
            drafts.setdefault(org_id, set()).add(year)
    notes: dict[tuple[int, int], str] = {}
    for member_id, org_id, reason in bind.execute(
            sa.select(member.c.id, member.c.org_id, member.c.exempt_reason)
            .where(member.c.exempt == sa.true())):
        years = {this_year, *drafts.get(org_id, ())}
        if statuses.get((org_id, this_year - 1)) != "approved":
            years.add(this_year - 1)
        for year in years:
            notes[(member_id, year)] = (reason or "").strip() or NO_REASON
    for member_id, year in bind.execute(
            sa.select(rating_item.c.member_id, rating.c.year)
            .join(rating, rating.c.id == rating_item.c.rating_id)
            .where(rating_item.c.exempt == sa.true())):
        notes.setdefault((member_id, year), FROM_RATING)
    now = datetime.now(UTC)
    return [{"member_id": member_id, "year": year, "reason_kind": "other", "note": note,
             "status": "active", "created_at": now}
            for (member_id, year), note in sorted(notes.items())]


def downgrade() -> None:
    this_year = _this_year()
    op.add_column("member", sa.Column("exempt", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.add_column("member", sa.Column("exempt_reason",
                                      sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=True))
    exemption = sa.table("member_exemption", sa.column("member_id"), sa.column("year"),
                         sa.column("note", sa.String()), sa.column("status", sa.String()))
    bind = op.get_bind()
    for member_id, note in bind.execute(
            sa.select(exemption.c.member_id, exemption.c.note)
            .where(exemption.c.year == this_year, exemption.c.status == "active")):
        bind.execute(member.update().where(member.c.id == member_id)
                     .values(exempt=True, exempt_reason=(note or "")[:500] or None))
    for column in ("left_note", "left_kind", "left_on", "full_since", "standing"):
        op.drop_column("member", column)
    op.drop_column("rating_item", "standing")
    op.drop_index(op.f("ix_member_suspension_member_id"), table_name="member_suspension")
    op.drop_table("member_suspension")
    op.drop_index("ix_member_exemption_member_year", table_name="member_exemption")
    op.drop_table("member_exemption")
