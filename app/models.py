"""SQLModel tables and the states of their rows (StrEnums). Request and answer bodies live in
app/schemas/."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Stable constraint names, so Alembic can alter them on SQLite and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stores UTC without a zone (SQLite has none) and always gives back aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class EntryStatus(StrEnum):
    """An entry's state (docs/scoring.md, Workflow 1): pending until the committee decides."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    revoked = "revoked"


class ReviewStatus(StrEnum):
    """A quarterly review (docs/scoring.md, Workflow 2): draft → published (公示) → finalized."""

    draft = "draft"
    published = "published"
    finalized = "finalized"


# From publication on a review is public (公示) and its scores count in the score.
PUBLIC_REVIEW_STATES = (ReviewStatus.published, ReviewStatus.finalized)


class ObjectionStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class RatingStatus(StrEnum):
    """An annual rating (appraisal.md §2): draft → published (公示) → submitted (上报) →
    approved (上级审批, final). Reopened or returned, it is a draft again."""

    draft = "draft"
    published = "published"
    submitted = "submitted"
    approved = "approved"


# From publication on, the branch's members see the rating (appraisal.md §2.5).
PUBLIC_RATING_STATES = (RatingStatus.published, RatingStatus.submitted, RatingStatus.approved)


class BallotStatus(StrEnum):
    """A rating's 民主测评 (appraisal.md §2.3): opened once, closed once."""

    none = "none"
    open = "open"
    closed = "closed"


class Standing(StrEnum):
    """A member's standing (appraisal.md §1): 正式党员, 预备党员, or no longer a member."""

    full = "full"
    probationary = "probationary"
    left = "left"


class LeaveKind(StrEnum):
    """Why a member left (appraisal.md §1): 开除党籍, 退党, 去世, 组织关系转出; or by a disposal
    case (§5): 除名, or 劝退 accepted."""

    discipline = "discipline"
    withdrew = "withdrew"
    died = "died"
    transferred = "transferred"
    expelled = "expelled"
    persuaded = "persuaded"


# Set only by an approved disposal case (app/services/cases.py), never by hand.
CASE_LEAVE_KINDS = (LeaveKind.expelled, LeaveKind.persuaded)


class SuspensionKind(StrEnum):
    """留党察看, or rights suspended while detained (被留置或逮捕)."""

    party_probation = "party_probation"
    detained = "detained"


class ExemptionReason(StrEnum):
    """The kinds of 免评 that 中组部 allows, and `other` (appraisal.md §1)."""

    unable_to_express = "unable_to_express"
    abroad_self_funded = "abroad_self_funded"
    serving_sentence = "serving_sentence"
    bedridden = "bedridden"
    away_unregistered = "away_unregistered"
    other = "other"


class ExemptionStatus(StrEnum):
    active = "active"
    withdrawn = "withdrawn"


class OrgKind(StrEnum):
    committee = "committee"
    general_branch = "general_branch"
    branch = "branch"


class State(sa.types.TypeDecorator[Any]):
    """A state column: VARCHAR in the database, its StrEnum in Python. A value that is not
    one of the enum's (written by hand into the database) comes back as the plain string, so
    `jifen check` can report it instead of failing to read it."""

    impl = sa.String
    cache_ok = True

    def __init__(self, states: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.states = states

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        return self.states(value) if value in self.states._value2member_map_ else value


# Ids are BIGINT on PostgreSQL: at national scale entry.id and audit_log.id pass 2**31 within
# a year (docs/scaling.md). SQLite keeps INTEGER, already 64-bit there: only a column declared
# exactly INTEGER PRIMARY KEY is the rowid alias that numbers new rows (BIGINT would not).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(nullable: bool = False, index: bool = False) -> datetime:
    column: sa.Column[datetime] = sa.Column(UTCDateTime(), nullable=nullable, index=index)
    return Field(default=None, sa_column=column)  # type: ignore[no-any-return]


def _inserted_at(context: Any) -> datetime:
    """updated_at of a row inserted without one (a Core insert): its created_at."""
    given = context.get_current_parameters().get("created_at")
    return given if isinstance(given, datetime) else datetime.now(UTC)


def _updated_at() -> datetime:
    """When what the API answers of the row last changed (app/services/stamps.py stamps it
    on every flush that changes the row or a row shown with it; docs/api/sync.md)."""
    column: sa.Column[datetime] = sa.Column(UTCDateTime(), nullable=False,
                                            default=_inserted_at)
    return Field(default=None, sa_column=column)  # type: ignore[no-any-return]


def _sync_index(table: str) -> sa.Index:
    """The order a sync read walks (updated_at, id): GET /api/v1/... ?updated_since= &after=."""
    return sa.Index(f"ix_{table}_updated_at_id", "updated_at", "id")


class Org(SQLModel, table=True):
    __table_args__ = (_sync_index("org"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    name: str = Field(max_length=100)
    parent_id: int | None = Field(default=None, foreign_key="org.id", index=True, sa_type=BigId)
    kind: OrgKind = Field(sa_type=State(OrgKind, 20))
    # Materialised path "/1/5/12/": a subtree is one indexed prefix match.
    path: str = Field(default="", max_length=255, index=True)
    created_at: datetime = _at()
    updated_at: datetime = _updated_at()
    # A new random value whenever the branch's records change (app/services/locking.py):
    # entries, reviews, objections, ratings, its members and their committee roles. Never
    # reused, so a page kept under one value is that state's page (app/web/page_cache.py).
    revision: str = Field(default_factory=lambda: uuid4().hex, max_length=32,
                          sa_column_kwargs={"server_default": "initial"})


class Member(SQLModel, table=True):
    __table_args__ = (_sync_index("member"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    name: str = Field(max_length=50)
    org_id: int = Field(foreign_key="org.id", index=True, sa_type=BigId)
    category: str = Field(max_length=10)
    joined_on: date
    created_at: datetime = _at()
    updated_at: datetime = _updated_at()
    # 免评 is per year: MemberExemption. Logins of a member who has `left` are refused.
    standing: Standing = Field(default=Standing.full, sa_type=State(Standing, 20),
                               sa_column_kwargs={"server_default": "full"})
    full_since: date | None = None  # 转正
    left_on: date | None = None
    left_kind: LeaveKind | None = Field(default=None, sa_type=State(LeaveKind, 20))
    left_note: str | None = Field(default=None, max_length=1000)


class MemberSuspension(SQLModel, table=True):
    """Suspended rights (留党察看, 中止党员权利): running from starts_on until ends_on (that
    day the rights are back); ends_on None: open."""

    __tablename__ = "member_suspension"
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    kind: SuspensionKind = Field(sa_type=State(SuspensionKind, 20))
    starts_on: date
    ends_on: date | None = None
    note: str = Field(default="", max_length=1000)
    end_note: str | None = Field(default=None, max_length=1000)
    created_by: int = Field(foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    updated_at: datetime = _updated_at()


class MemberExemption(SQLModel, table=True):
    """免评 of one year. Never deleted: a withdrawn one stays, and a new one of the same year
    is a new row (at most one active per member and year, kept under the branch lock)."""

    __tablename__ = "member_exemption"
    __table_args__ = (sa.Index("ix_member_exemption_member_year", "member_id", "year"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", sa_type=BigId)
    year: int
    reason_kind: ExemptionReason = Field(sa_type=State(ExemptionReason, 20))
    note: str = Field(default="", max_length=1000)
    parent_consent_on: date | None = None
    meeting_on: date | None = None
    status: ExemptionStatus = Field(default=ExemptionStatus.active,
                                    sa_type=State(ExemptionStatus, 10))
    created_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    withdrawn_reason: str | None = Field(default=None, max_length=1000)
    withdrawn_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    withdrawn_at: datetime | None = _at(nullable=True)
    updated_at: datetime = _updated_at()


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    member_id: int | None = Field(default=None, foreign_key="member.id", unique=True, sa_type=BigId)
    is_admin: bool = False
    password_changed_at: datetime = _at()
    created_at: datetime = _at()
    # The member has seen their notices up to here (app/services/notices.py); None: none yet.
    notices_seen_at: datetime | None = _at(nullable=True)
    # 退出所有设备 moves it on: tokens and page sessions carry the generation they were
    # opened in, and one of an earlier generation is refused (app/services/access.py).
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The password was set by someone else (a members import, a reset): known to them, so
    # the person sets their own before anything else (app/services/passwords.py).
    must_change_password: bool = Field(default=False,
                                       sa_column_kwargs={"server_default": sa.false()})


class RoleGrant(SQLModel, table=True):
    __tablename__ = "role_grant"
    __table_args__ = (sa.UniqueConstraint("member_id", "org_id", "role"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    org_id: int = Field(foreign_key="org.id", index=True, sa_type=BigId)
    role: str = Field(default="committee", max_length=20)
    created_at: datetime = _at()


class RuleSetRow(SQLModel, table=True):
    """The rating numbers of one year; its items are RuleItemRow."""

    __tablename__ = "rule_set"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    review_max: int = 5
    review_default: int = 5
    star_thresholds: str = Field(default="60,70,80,90,96", max_length=100)
    unqualified_below: int = 60
    basic_below: int = 70
    basic_single_deduction: int = 10
    excellent_min: int = 90
    excellent_divisor: int = 3
    # Procedural (appraisal.md §6): still editable once the year's rules freeze.
    ballot_required: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    rating_notice_days: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    rectify_months: int = Field(default=6, sa_column_kwargs={"server_default": "6"})
    # Below it, publishing needs a reason (issue 17, app/services/early_steps.py).
    min_notice_days: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    created_at: datetime = _at()
    # Stamped when the set or one of its items changes (app/services/stamps.py, migration 0021).
    updated_at: datetime = _updated_at()
    # A new random value whenever the year's rules change (never reused, even by a
    # rolled-back change), so each process may keep the rules it loaded until it moves.
    revision: str = Field(default_factory=lambda: uuid4().hex, max_length=32,
                          sa_column_kwargs={"server_default": "initial"})


class RuleItemRow(SQLModel, table=True):
    __tablename__ = "rule_item"
    __table_args__ = (sa.UniqueConstraint("year", "code"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    year: int = Field(foreign_key="rule_set.year", index=True)
    position: int = 0
    code: str = Field(max_length=10)
    kind: str = Field(max_length=20)
    name: str = Field(max_length=100)
    points: int | None = None
    cap: int | None = None
    min_points: int | None = None
    max_points: int | None = None
    categories: str = Field(default="active,mobile,retired,rural", max_length=100)


class Entry(SQLModel, table=True):
    """One scoring event. Never deleted: decisions are recorded on the row and in the audit log."""

    __table_args__ = (
        # A member's approved entries of a year summed by item and quarter, from the index
        # alone (app/services/scoring.py, item_totals; migration 0023).
        sa.Index("ix_entry_member_year", "member_id", "year", "status", "rule_code",
                 "quarter", "points"),
        sa.Index("ix_entry_status_year_quarter", "status", "year", "quarter"),
        # Everything the annual rating reads, in the order it reads it: a branch's approved
        # entries of a year, by member and item, without touching the table (migration 0005).
        sa.Index("ix_entry_year_status_org", "year", "status", "org_id", "member_id",
                 "rule_code", "points"),
        _sync_index("entry"),
        # A committee's sync read: its branches' entries in (updated_at, id) order, counted
        # and read branch by branch instead of across the county (migration 0022).
        sa.Index("ix_entry_org_updated_at_id", "org_id", "updated_at", "id"),
    )
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", sa_type=BigId)
    # The member's branch. Members do not move between branches (nothing in Jifen moves
    # them), so it never changes; `jifen check` verifies it.
    org_id: int = Field(foreign_key="org.id", sa_type=BigId)
    rule_code: str = Field(max_length=10)
    kind: str = Field(max_length=20)
    occurred_on: date
    year: int
    quarter: int
    quantity: int = 1
    # Signed: negative for deductions, 0 for a veto (docs/api.md).
    points: int
    status: EntryStatus = Field(default=EntryStatus.pending, sa_type=State(EntryStatus, 10))
    note: str = Field(default="", max_length=1000)
    evidence: str | None = Field(default=None, max_length=500)
    created_by: int = Field(foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    decided_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    decided_at: datetime | None = _at(nullable=True)
    reason: str | None = Field(default=None, max_length=1000)
    revoked_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    revoked_at: datetime | None = _at(nullable=True)
    # The rejected entry this one corrects (a member's resubmission, issue 17), which stays
    # as it was. No foreign key: none may reference entry.id, so that entry can be
    # partitioned by year (docs/scaling.md §2); `jifen check` verifies it (migration 0015).
    resubmits_id: int | None = Field(default=None, index=True, sa_type=BigId)
    updated_at: datetime = _updated_at()


class EvidencePhoto(SQLModel, table=True):
    """A photo the app stored, for which member and by whom: an entry may name only a photo
    of its own member (app/services/uploads.py), never a path typed in by anyone."""

    __tablename__ = "evidence_photo"
    # evidence/YYYY/MM/<uuid4>.jpg under the upload directory, as Entry.evidence names it.
    path: str = Field(primary_key=True, max_length=500)
    member_id: int = Field(foreign_key="member.id", sa_type=BigId)
    uploaded_by: int = Field(foreign_key="account.id", sa_type=BigId)
    uploaded_at: datetime = _at()


class Review(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("org_id", "year", "quarter"), _sync_index("review"))
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="org.id", index=True, sa_type=BigId)
    year: int
    quarter: int
    status: ReviewStatus = Field(default=ReviewStatus.draft, sa_type=State(ReviewStatus, 10))
    notice_until: datetime | None = _at(nullable=True)
    created_by: int = Field(foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    published_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    published_at: datetime | None = _at(nullable=True)
    finalized_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    finalized_at: datetime | None = _at(nullable=True)
    # Why it was published or finalized before the quarter ended, or published with a
    # short notice (app/services/early_steps.py); any reason given otherwise too.
    publish_reason: str | None = Field(default=None, max_length=500)
    finalize_reason: str | None = Field(default=None, max_length=500)
    updated_at: datetime = _updated_at()


class ReviewScore(SQLModel, table=True):
    __tablename__ = "review_score"
    # The unique key's index serves lookups by review_id too (migration 0006).
    __table_args__ = (sa.UniqueConstraint("review_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    review_id: int = Field(foreign_key="review.id", sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    score: int | None = None
    # Written at finalisation, so a later check can prove the quarter never moved.
    final_ytd: int | None = None
    final_delta: int | None = None


class Objection(SQLModel, table=True):
    """An objection to a published quarterly review or annual rating: exactly one of
    review_id and rating_id is set."""

    __table_args__ = (sa.CheckConstraint("(review_id IS NULL) <> (rating_id IS NULL)",
                                         name="one_subject"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    review_id: int | None = Field(default=None, foreign_key="review.id", index=True,
                                  sa_type=BigId)
    rating_id: int | None = Field(default=None, foreign_key="rating.id", index=True,
                                  sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    text: str = Field(max_length=2000)
    status: ObjectionStatus = Field(default=ObjectionStatus.open,
                                   sa_type=State(ObjectionStatus, 10))
    response: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _at()
    resolved_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    resolved_at: datetime | None = _at(nullable=True)
    updated_at: datetime = _updated_at()


class Rating(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("org_id", "year"), _sync_index("rating"))
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    org_id: int = Field(foreign_key="org.id", index=True, sa_type=BigId)
    year: int
    status: RatingStatus = Field(default=RatingStatus.draft, sa_type=State(RatingStatus, 10))
    created_by: int = Field(foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    # The ballot (民主测评): who may vote is fixed when it opens (rating_voter); the
    # choices are only counts (rating_tally). Ratings approved before it existed: none.
    ballot: BallotStatus = Field(default=BallotStatus.none, sa_type=State(BallotStatus, 10),
                                 sa_column_kwargs={"server_default": "none"})
    voters: int | None = None
    cast_online: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    cast_paper: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    ballot_opened_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    ballot_opened_at: datetime | None = _at(nullable=True)
    ballot_closed_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    ballot_closed_at: datetime | None = _at(nullable=True)
    notice_until: datetime | None = _at(nullable=True)
    published_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    published_at: datetime | None = _at(nullable=True)
    submitted_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    submitted_at: datetime | None = _at(nullable=True)
    # Why the last publication or the submission came before the year ended, or with a
    # short notice (app/services/early_steps.py); any reason given otherwise too.
    publish_reason: str | None = Field(default=None, max_length=500)
    submit_reason: str | None = Field(default=None, max_length=500)
    # The last return by the level above or reopen by the committee, and why (the audit
    # log keeps every one).
    sent_back: str | None = Field(default=None, max_length=10)  # "returned" or "reopened"
    sent_back_reason: str | None = Field(default=None, max_length=1000)
    sent_back_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    sent_back_at: datetime | None = _at(nullable=True)
    approved_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    approved_at: datetime | None = _at(nullable=True)
    updated_at: datetime = _updated_at()


class RatingVoter(SQLModel, table=True):
    """Who may vote in a rating's ballot, fixed when it opens, and whether they have voted
    online. Nothing here says what they chose: that is only in rating_tally's counts."""

    __tablename__ = "rating_voter"
    rating_id: int = Field(foreign_key="rating.id", primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", primary_key=True, sa_type=BigId)
    voted: bool = False


class RatingTally(SQLModel, table=True):
    """How many ballots gave a line a grade. Every (line, grade) row is made, at 0, when the
    ballot opens, so a row's existence, order or key says nothing about who voted when; it
    has no time and no author."""

    __tablename__ = "rating_tally"
    rating_id: int = Field(foreign_key="rating.id", primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", primary_key=True, sa_type=BigId)
    grade: str = Field(primary_key=True, max_length=20)
    count: int = 0


class SelfAssessment(SQLModel, table=True):
    """个人自评: a member's own text on a rating, rewritten while the rating is a draft."""

    __tablename__ = "self_assessment"
    __table_args__ = (sa.UniqueConstraint("rating_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    rating_id: int = Field(foreign_key="rating.id", sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    text: str = Field(max_length=2000, sa_type=sa.Text)
    updated_at: datetime = _at()


class RatingItem(SQLModel, table=True):
    __tablename__ = "rating_item"
    # The unique key's index serves lookups by rating_id too (migration 0006).
    __table_args__ = (sa.UniqueConstraint("rating_id", "member_id"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    rating_id: int = Field(foreign_key="rating.id", sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    name: str = Field(max_length=50)
    score: int
    stars: int
    vetoed: bool = False
    exempt: bool = False
    # The member's standing when the rating was created (full or probationary).
    standing: Standing = Field(default=Standing.full, sa_type=State(Standing, 20),
                               sa_column_kwargs={"server_default": "full"})
    deducted: int = 0
    largest_deduction: int = 0
    proposed_grade: str = Field(max_length=20)
    grade: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=1000)
    changed_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    changed_at: datetime | None = _at(nullable=True)


class AuditLog(SQLModel, table=True):
    """Append-only: each row's hash covers the previous row's hash, so edits show."""

    __tablename__ = "audit_log"
    # (at, id): the log by time, and GET /api/v1/audit?updated_since= (migration 0020).
    __table_args__ = (sa.Index("ix_audit_log_object", "object_type", "object_id"),
                      sa.Index("ix_audit_log_at_id", "at", "id"))
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    at: datetime = _at()
    actor_id: int | None = Field(default=None, foreign_key="account.id", index=True, sa_type=BigId)
    action: str = Field(max_length=50)
    object_type: str = Field(max_length=20)
    # The id of any row (entry, review...), so as wide as theirs.
    object_id: int | None = Field(default=None, sa_type=BigId)
    before: str | None = Field(default=None, sa_type=sa.Text)
    after: str | None = Field(default=None, sa_type=sa.Text)
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(max_length=64)


class ImportKind(StrEnum):
    """What a confirmed sheet import created (app/services/import_receipts.py), or an
    attendance register (app/services/attendance.py): a batch that takes effect once."""

    entries = "entries"
    members = "members"
    attendance = "attendance"


class ImportReceipt(SQLModel, table=True):
    """A confirmed import of a sheet: who imported which rows, when, and what it answered.

    A confirm sent again (a double click, a resubmitted form, a retried request) finds it
    and answers with its result instead of creating the rows again; of two sent at once, the
    unique key lets one insert it and makes the other wait, fail, and read the first's.
    """

    __tablename__ = "import_receipt"
    __table_args__ = (sa.UniqueConstraint("account_id", "kind", "digest", "generation"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="account.id", sa_type=BigId)
    kind: ImportKind = Field(sa_type=State(ImportKind, 10))
    # SHA-256 of the year and the rows as read (passwords left out), in hex.
    digest: str = Field(max_length=64)
    # 2, 3...: the same rows imported again once nothing of the earlier import stands.
    generation: int = 1
    year: int | None = None
    created: int = 0
    # What the import answered, as JSON (the service's terms, not a door's body).
    result: str = Field(default="", sa_type=sa.Text)
    imported_at: datetime = _at()


class LoginAttempt(SQLModel, table=True):
    """Kept in the database so throttling holds across app processes."""

    __tablename__ = "login_attempt"
    __table_args__ = (sa.Index("ix_login_attempt_username_at", "username", "at"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    username: str = Field(max_length=64)
    at: datetime = _at()
    success: bool = False
    # The device the attempt came from: the id of the device token it sent (one this app
    # issued at an earlier login of the username, app/security.py), or None from a device
    # not known. Each known device is throttled by its own failures only, the unknown ones
    # together (app/services/accounts.py).
    device: str | None = Field(default=None, max_length=32)


class RevokedSession(SQLModel, table=True):
    """A login session (page cookie or API token) ended by logging out before it expires.

    Kept until it would have expired anyway (then pruned at a later logout): the login
    check reads it in the same statement as the account (app/services/access.py).
    """

    __tablename__ = "revoked_session"
    # The session's random id: the token's jti, the cookie's sid (app/security.py).
    session_id: str = Field(primary_key=True, max_length=32)
    expires_at: datetime = _at(index=True)


class CaseGround(StrEnum):
    """Why a disposal case is filed (appraisal.md §5)."""

    unqualified_rating = "unqualified_rating"
    lost_contact = "lost_contact"
    no_participation = "no_participation"
    other = "other"


class CaseStatus(StrEnum):
    """Where a disposal case stands (appraisal.md §5)."""

    filed = "filed"
    investigated = "investigated"
    talked = "talked"
    proposed = "proposed"
    prereviewed = "prereviewed"
    voted = "voted"
    rectifying = "rectifying"
    persuading = "persuading"
    closed = "closed"


class CaseOutcome(StrEnum):
    not_adopted = "not_adopted"  # the branch meeting's vote failed
    refused = "refused"  # the level above refused the decision
    persuaded = "persuaded"
    expelled = "expelled"
    rectified = "rectified"


class CaseMeasure(StrEnum):
    rectify = "rectify"  # 限期改正
    persuade = "persuade"  # 劝其退党
    expel = "expel"  # 除名


class StepKind(StrEnum):
    file = "file"
    investigation = "investigation"
    talk = "talk"
    proposal = "proposal"
    prereview = "prereview"
    defence = "defence"
    vote = "vote"
    decision = "decision"
    withdrawal = "withdrawal"
    followup = "followup"
    appeal = "appeal"
    appeal_answer = "appeal_answer"


class DisposalCase(SQLModel, table=True):
    """不合格党员处置: one member's case. Its steps (case_step) are appended, never changed;
    the row itself changes only in its state: status, outcome, the measure under way, its
    deadline, and whether an appeal waits for an answer."""

    __tablename__ = "disposal_case"
    __table_args__ = (sa.Index("ix_disposal_case_org_status", "org_id", "status"),
                      _sync_index("disposal_case"))
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    member_id: int = Field(foreign_key="member.id", index=True, sa_type=BigId)
    org_id: int = Field(foreign_key="org.id", sa_type=BigId)
    ground: CaseGround = Field(sa_type=State(CaseGround, 20))
    year: int
    note: str = Field(default="", max_length=2000, sa_type=sa.Text)
    status: CaseStatus = Field(default=CaseStatus.filed, sa_type=State(CaseStatus, 20))
    outcome: CaseOutcome | None = Field(default=None, sa_type=State(CaseOutcome, 20))
    measure: CaseMeasure | None = Field(default=None, sa_type=State(CaseMeasure, 10))
    months: int | None = None
    deadline: date | None = None  # 限期改正 ends (a Beijing date)
    appeal_open: bool = False
    created_by: int = Field(foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    updated_at: datetime = _at()


class CaseStep(SQLModel, table=True):
    """One step of a disposal case, as recorded: who, when, and the step's own fields
    (those of other kinds are null). Never updated, never deleted."""

    __tablename__ = "case_step"
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    case_id: int = Field(foreign_key="disposal_case.id", index=True, sa_type=BigId)
    kind: StepKind = Field(sa_type=State(StepKind, 20))
    by_account: int = Field(foreign_key="account.id", sa_type=BigId)
    by_member: int | None = Field(default=None, foreign_key="member.id", sa_type=BigId)
    # An appeal recorded by the level above for a member who has left.
    on_behalf: bool = False
    at: datetime = _at()
    # file: filed_on; investigation: investigated_on; talk and vote: held_on; decision:
    # decided_on. Null on a filing or 调查核实 recorded before they took a date.
    on: date | None = None
    # findings, summary, reason, note or text: the step's words.
    text: str = Field(default="", max_length=2000, sa_type=sa.Text)
    # prereview approve/return, decision approve/refuse, withdrawal agreed/refused,
    # followup rectified/not_rectified.
    result: str | None = Field(default=None, max_length=20)
    measure: CaseMeasure | None = Field(default=None, sa_type=State(CaseMeasure, 10))
    months: int | None = None
    talker1_id: int | None = Field(default=None, foreign_key="member.id", sa_type=BigId)
    talker2_id: int | None = Field(default=None, foreign_key="member.id", sa_type=BigId)
    eligible: int | None = None
    present: int | None = None
    votes_for: int | None = None
    against: int | None = None
    abstain: int | None = None
    passed: bool | None = None


class ServiceAccess(StrEnum):
    """What a service account's keys may do: read only, or read and write."""

    read = "read"
    read_write = "read-write"


class ServiceAccount(SQLModel, table=True):
    """An account a program uses (a city's data platform), through API keys only.

    Its `account` row has no member and no usable password (it never logs in with one), so
    everything that names an account (created_by, decided_by, the audit log) names it too.
    Its keys act as a committee of `org_id` and its subtree would, never as an
    administrator, never in a disposal case (app/services/access.py).
    """

    __tablename__ = "service_account"
    account_id: int = Field(foreign_key="account.id", primary_key=True, sa_type=BigId,
                            sa_column_kwargs={"autoincrement": False})
    org_id: int = Field(foreign_key="org.id", index=True, sa_type=BigId)
    access: ServiceAccess = Field(sa_type=State(ServiceAccess, 10))
    note: str = Field(default="", max_length=200)
    created_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()


class ApiKey(SQLModel, table=True):
    """One key of a service account: `jfk_<prefix>_<secret>`, kept as its SHA-256 only.

    The prefix finds the row; the hash of the whole key is compared in constant time. A
    revoked key is refused from then on, and never valid again.
    """

    __tablename__ = "api_key"
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    account_id: int = Field(foreign_key="service_account.account_id", index=True,
                            sa_type=BigId)
    prefix: str = Field(max_length=8, unique=True)
    key_hash: str = Field(max_length=64)
    created_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    created_at: datetime = _at()
    # Moved on at most once a minute per key (app/services/service_accounts.py).
    last_used_at: datetime | None = _at(nullable=True)
    revoked_by: int | None = Field(default=None, foreign_key="account.id", sa_type=BigId)
    revoked_at: datetime | None = _at(nullable=True)


class IdempotencyRecord(SQLModel, table=True):
    """A POST under /api/v1 sent with an Idempotency-Key (docs/api/retries.md), or a page's
    form with its one-time key (app/web/once.py): whose key, what was asked and, once
    answered, the answer, kept 24 hours from `created_at`.

    The unique (caller, client_key) decides a race, across app servers too: one request
    inserts the claim (committed at once, so the other sees it: 409 while it runs), the other
    fails and reads it. The answer is stored in the request's own transaction, with what the
    request created: both are committed or neither (app/services/idempotency.py).
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (sa.UniqueConstraint("caller", "client_key"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    # Whose key: "account:<id>" for a bearer token, "credential:<sha-256>" for any other
    # (app/api/idempotency.py, caller_of); "web:<account id>" for a page's form, whose
    # one-time key is a hidden field (app/web/once.py).
    caller: str = Field(max_length=80)
    client_key: str = Field(max_length=255)
    # SHA-256 of the method, path, query, media type and body, in hex.
    fingerprint: str = Field(max_length=64)
    # The request holding the claim; a new one when a claim left by a request that died is
    # taken over, so that request, were it still running, stores nothing.
    holder: str = Field(max_length=32)
    created_at: datetime = _at(index=True)
    claimed_at: datetime = _at()
    # Null while the request runs; then the answer's status, headers (JSON) and body.
    status: int | None = None
    headers: str = Field(default="", sa_type=sa.Text)
    body: bytes = Field(default=b"", sa_type=sa.LargeBinary)
