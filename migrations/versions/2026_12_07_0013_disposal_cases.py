"""disposal cases (不合格党员处置, appraisal.md §5)

A case (disposal_case) and its steps (case_step), appended and never changed. A member's
left_kind gains `expelled` (除名) and `persuaded` (劝退, accepted), set only by an approved
case; the column is a plain string, so only the downgrade has anything to do for them: it
keeps those members `left`, as `discipline` and `withdrew`, the kinds the old code knows,
with the case's words in the note, and drops the cases.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = app.models.BigId
At = app.models.UTCDateTime


def _state(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "disposal_case",
        sa.Column("id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("org_id", Id, nullable=False),
        sa.Column("ground", _state(20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", _state(20), nullable=False),
        sa.Column("outcome", _state(20), nullable=True),
        sa.Column("measure", _state(10), nullable=True),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("appeal_open", sa.Boolean(), nullable=False),
        sa.Column("created_by", Id, nullable=False),
        sa.Column("created_at", At(), nullable=False),
        sa.Column("updated_at", At(), nullable=False),
        _fk("disposal_case", "created_by", "account"),
        _fk("disposal_case", "member_id", "member"),
        _fk("disposal_case", "org_id", "org"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disposal_case")),
    )
    op.create_index(op.f("ix_disposal_case_member_id"), "disposal_case", ["member_id"])
    op.create_index("ix_disposal_case_org_status", "disposal_case", ["org_id", "status"])
    op.create_table(
        "case_step",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("kind", _state(20), nullable=False),
        sa.Column("by_account", Id, nullable=False),
        sa.Column("by_member", Id, nullable=True),
        sa.Column("on_behalf", sa.Boolean(), nullable=False),
        sa.Column("at", At(), nullable=False),
        sa.Column("on", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("result", _state(20), nullable=True),
        sa.Column("measure", _state(10), nullable=True),
        sa.Column("months", sa.Integer(), nullable=True),
        sa.Column("talker1_id", Id, nullable=True),
        sa.Column("talker2_id", Id, nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=True)
          for name in ("eligible", "present", "votes_for", "against", "abstain")),
        sa.Column("passed", sa.Boolean(), nullable=True),
        _fk("case_step", "by_account", "account"),
        _fk("case_step", "by_member", "member"),
        _fk("case_step", "case_id", "disposal_case"),
        _fk("case_step", "talker1_id", "member"),
        _fk("case_step", "talker2_id", "member"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_step")),
    )
    op.create_index(op.f("ix_case_step_case_id"), "case_step", ["case_id"])


def downgrade() -> None:
    for new, old, words in (("expelled", "discipline", "除名（处置案件）"),
                            ("persuaded", "withdrew", "劝退（处置案件）")):
        op.execute(sa.text(
            "UPDATE member SET left_kind = :old, left_note = :words "
            "WHERE left_kind = :new").bindparams(old=old, new=new, words=words))
    op.drop_index(op.f("ix_case_step_case_id"), table_name="case_step")
    op.drop_table("case_step")
    op.drop_index("ix_disposal_case_org_status", table_name="disposal_case")
    op.drop_index(op.f("ix_disposal_case_member_id"), table_name="disposal_case")
    op.drop_table("disposal_case")
