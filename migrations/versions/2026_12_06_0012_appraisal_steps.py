"""the annual rating's steps (appraisal.md §2): ballot, self-assessments, publish, submit

Ratings gain the ballot (民主测评: who may vote, fixed when it opens, in rating_voter; the
choices only as counts per line and grade in rating_tally, no voter beside them), the
notice period, the submission to the level above and the last return or reopen. Objections
may be about a rating (rating_id) instead of a quarterly review. The year's rule set gains
the procedural parameters ballot_required, rating_notice_days and rectify_months.

Ratings approved before this keep their grades: their ballot is `none`. Drafts go on.
The downgrade refuses nothing: ratings published or submitted go back to draft, and
objections to ratings (which the old schema cannot hold) are dropped with the new tables.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:31:11.893050
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = app.models.BigId
At = app.models.UTCDateTime
RATING_ACCOUNTS = ("ballot_opened_by", "ballot_closed_by", "published_by", "submitted_by",
                   "sent_back_by")


def _rating_member_table(name: str, *columns: sa.Column, key: Sequence[str]) -> None:
    op.create_table(
        name,
        sa.Column("rating_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        *columns,
        sa.ForeignKeyConstraint(["member_id"], ["member.id"],
                                name=op.f(f"fk_{name}_member_id_member")),
        sa.ForeignKeyConstraint(["rating_id"], ["rating.id"],
                                name=op.f(f"fk_{name}_rating_id_rating")),
        sa.PrimaryKeyConstraint(*key, name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    _rating_member_table(
        "rating_tally",
        sa.Column("grade", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        key=("rating_id", "member_id", "grade"))
    _rating_member_table("rating_voter", sa.Column("voted", sa.Boolean(), nullable=False),
                         key=("rating_id", "member_id"))
    op.create_table(
        "self_assessment",
        sa.Column("id", Id, nullable=False),
        sa.Column("rating_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_at", At(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"],
                                name=op.f("fk_self_assessment_member_id_member")),
        sa.ForeignKeyConstraint(["rating_id"], ["rating.id"],
                                name=op.f("fk_self_assessment_rating_id_rating")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_self_assessment")),
        sa.UniqueConstraint("rating_id", "member_id",
                            name=op.f("uq_self_assessment_rating_id_member_id")),
    )
    op.create_index(op.f("ix_self_assessment_member_id"), "self_assessment", ["member_id"])

    with op.batch_alter_table("objection") as batch_op:
        batch_op.add_column(sa.Column("rating_id", Id, nullable=True))
        batch_op.alter_column("review_id", existing_type=Id, nullable=True)
        batch_op.create_index(batch_op.f("ix_objection_rating_id"), ["rating_id"])
        batch_op.create_foreign_key(batch_op.f("fk_objection_rating_id_rating"), "rating",
                                    ["rating_id"], ["id"])
        batch_op.create_check_constraint("one_subject",
                                         "(review_id IS NULL) <> (rating_id IS NULL)")

    with op.batch_alter_table("rating") as batch_op:
        batch_op.add_column(sa.Column("ballot", sqlmodel.sql.sqltypes.AutoString(length=10),
                                      server_default="none", nullable=False))
        batch_op.add_column(sa.Column("voters", sa.Integer(), nullable=True))
        for name in ("cast_online", "cast_paper"):
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0",
                                          nullable=False))
        for step in ("ballot_opened", "ballot_closed"):
            batch_op.add_column(sa.Column(f"{step}_by", Id, nullable=True))
            batch_op.add_column(sa.Column(f"{step}_at", At(), nullable=True))
        batch_op.add_column(sa.Column("notice_until", At(), nullable=True))
        for step in ("published", "submitted"):
            batch_op.add_column(sa.Column(f"{step}_by", Id, nullable=True))
            batch_op.add_column(sa.Column(f"{step}_at", At(), nullable=True))
        batch_op.add_column(sa.Column("sent_back", sqlmodel.sql.sqltypes.AutoString(length=10),
                                      nullable=True))
        batch_op.add_column(sa.Column("sent_back_reason",
                                      sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=True))
        batch_op.add_column(sa.Column("sent_back_by", Id, nullable=True))
        batch_op.add_column(sa.Column("sent_back_at", At(), nullable=True))
        for column in RATING_ACCOUNTS:
            batch_op.create_foreign_key(batch_op.f(f"fk_rating_{column}_account"), "account",
                                        [column], ["id"])

    with op.batch_alter_table("rule_set") as batch_op:
        batch_op.add_column(sa.Column("ballot_required", sa.Boolean(),
                                      server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("rating_notice_days", sa.Integer(), server_default="5",
                                      nullable=False))
        batch_op.add_column(sa.Column("rectify_months", sa.Integer(), server_default="6",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("rule_set") as batch_op:
        for name in ("rectify_months", "rating_notice_days", "ballot_required"):
            batch_op.drop_column(name)

    op.execute("UPDATE rating SET status = 'draft' WHERE status IN ('published', 'submitted')")
    with op.batch_alter_table("rating") as batch_op:
        for column in RATING_ACCOUNTS:
            batch_op.drop_constraint(batch_op.f(f"fk_rating_{column}_account"),
                                     type_="foreignkey")
        for name in ("sent_back_at", "sent_back_by", "sent_back_reason", "sent_back",
                     "submitted_at", "submitted_by", "published_at", "published_by",
                     "notice_until", "ballot_closed_at", "ballot_closed_by",
                     "ballot_opened_at", "ballot_opened_by", "cast_paper", "cast_online",
                     "voters", "ballot"):
            batch_op.drop_column(name)

    op.execute("DELETE FROM objection WHERE rating_id IS NOT NULL")
    with op.batch_alter_table("objection") as batch_op:
        batch_op.drop_constraint("one_subject", type_="check")
        batch_op.drop_constraint(batch_op.f("fk_objection_rating_id_rating"),
                                 type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_objection_rating_id"))
        batch_op.alter_column("review_id", existing_type=Id, nullable=False)
        batch_op.drop_column("rating_id")

    op.drop_index(op.f("ix_self_assessment_member_id"), table_name="self_assessment")
    op.drop_table("self_assessment")
    op.drop_table("rating_voter")
    op.drop_table("rating_tally")
