"""Quarterly review: draft → published (公示) → finalized (docs/scoring.md, Workflow 2 and 3)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.models import (
    PUBLIC_REVIEW_STATES,
    Entry,
    EntryStatus,
    Member,
    Objection,
    ObjectionStatus,
    Org,
    OrgKind,
    Review,
    ReviewScore,
    ReviewStatus,
)
from app.points import quarter_end, quarter_start, review_points, review_score_allowed
from app.services import audit, stamps
from app.services.access import (
    Actor,
    get_managed_org,
    get_org,
    managed_org_filter,
    require_manages,
)
from app.services.early_steps import Earliness, checked_reason, unended
from app.services.errors import Invalid, NotFound, WorkflowConflict
from app.services.locking import Precondition, lock_branch
from app.services.paging import Feed, Listing, page
from app.services.rules import MAX_NOTICE_DAYS, ensure_rule_set, load_rule_set
from app.services.scoring import recorded_review_scores, year_scores
from app.services.sync import SyncRead


@dataclass(frozen=True)
class ReviewLine:
    member_id: int
    name: str
    review_score: int | None
    delta: int
    ytd: int


def _branch_members(session: Session, review: Review) -> list[Member]:
    """Members of the branch who had joined by the end of the review's quarter."""
    return list(session.exec(
        select(Member).where(Member.org_id == review.org_id,
                             Member.joined_on <= quarter_end(review.year, review.quarter))
        .order_by(col(Member.id))
    ).all())


def _score_rows(session: Session, review_id: int) -> dict[int, ReviewScore]:
    rows = session.exec(select(ReviewScore).where(ReviewScore.review_id == review_id)).all()
    return {r.member_id: r for r in rows}


def create_review(session: Session, actor: Actor, org_id: int, year: int, quarter: int,
                  now: datetime, today: date) -> Review:
    org = get_managed_org(session, actor, org_id)
    if org.kind != OrgKind.branch:
        raise Invalid(f"{org.name} is not a branch; quarterly reviews are held by branches.",
                      "not_a_branch")
    lock_branch(session, org_id)
    ensure_rule_set(session, year, now)
    if quarter_start(year, quarter) > today:
        raise Invalid(f"{year} Q{quarter} has not started yet.", "quarter_not_started")
    exists = session.exec(select(Review.id).where(
        Review.org_id == org_id, Review.year == year, Review.quarter == quarter)).first()
    if exists is not None:
        raise WorkflowConflict(f"{org.name} already has a review for {year} Q{quarter} "
                               f"(id {exists}).", "review_exists")
    review = Review(org_id=org_id, year=year, quarter=quarter, created_by=actor.account_id,
                    created_at=now)
    session.add(review)
    session.flush()
    assert review.id is not None
    for member in _branch_members(session, review):
        session.add(ReviewScore(review_id=review.id, member_id=member.id or 0))
    audit.record(session, actor_id=actor.account_id, action="review.create",
                 object_type="review", object_id=review.id, at=now, after=audit.snapshot(review))
    return review


def get_review(session: Session, actor: Actor, review_id: int) -> tuple[Review, Org]:
    """Committee: any state. Members of the branch: once published."""
    review = session.get(Review, review_id)
    org = session.get(Org, review.org_id) if review else None
    if review is None or org is None or not (
        actor.manages(org)
        or (actor.member_org_id == org.id and review.status in PUBLIC_REVIEW_STATES)
    ):
        raise NotFound(f"Review {review_id} does not exist or is outside your scope.")
    return review, org


FEED = Feed("reviews", col(Review.updated_at), col(Review.id))


def list_reviews(session: Session, actor: Actor, org_id: int | None, year: int | None,
                 limit: int, offset: int, sync: SyncRead | None = None) -> Listing[Review]:
    """Reviews the actor may see (of one organisation: 404 outside the actor's view), newest
    quarter first, or by (updated_at, id) for a sync read."""
    own_published = sa.and_(
        col(Review.org_id) == actor.member_org_id,
        col(Review.status).in_(PUBLIC_REVIEW_STATES),
    )
    query = select(Review).join(Org, col(Org.id) == Review.org_id).where(
        sa.or_(managed_org_filter(actor), own_published))
    if org_id is not None:
        get_org(session, actor, org_id)
        query = query.where(Review.org_id == org_id)
    if year is not None:
        query = query.where(Review.year == year)
    return page(session, query, col(Review.year).desc(), col(Review.quarter).desc(),
                col(Review.org_id), limit=limit, offset=offset, sync=sync, feed=FEED)


def review_lines(session: Session, review: Review, now: datetime,
                 rows: dict[int, ReviewScore] | None = None) -> list[ReviewLine]:
    """The sheet: a draft shows ytd with its own draft scores (docs/scoring.md, The score), an
    unset one counting as the default (the engine's review_points). `rows`: the review's
    score rows, when the caller has read them already."""
    assert review.id is not None
    rules = load_rule_set(session, review.year, now)
    if rows is None:
        rows = _score_rows(session, review.id)
    # Once published, the sheet is the members it was published with.
    members = {m.id: m for m in _branch_members(session, review)} \
        if review.status == ReviewStatus.draft else {}
    missing = rows.keys() - members.keys()
    if missing:
        members |= {m.id: m for m in session.exec(
            select(Member).where(col(Member.id).in_(missing))).all()}
    ids = sorted(m for m in members if m is not None)
    reviews = recorded_review_scores(session, ids, review.year)
    for member_id in ids:
        row = rows.get(member_id)
        quarters = {q: s for q, s in reviews.get(member_id, {}).items() if q < review.quarter}
        quarters[review.quarter] = row.score if row else None
        reviews[member_id] = quarters
    scores = year_scores(session, rules, ids, reviews)
    lines = []
    for member_id in ids:
        quarter = scores[member_id].quarter(review.quarter)
        row = rows.get(member_id)
        lines.append(ReviewLine(member_id, members[member_id].name,
                                row.score if row else None, quarter.delta, quarter.ytd))
    return lines


def set_scores(session: Session, actor: Actor, review_id: int, scores: dict[int, int | None],
               now: datetime, precondition: Precondition | None = None) -> Review:
    review, org = get_review(session, actor, review_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, review)
    if precondition is not None:
        precondition()
    if review.status != ReviewStatus.draft:
        raise WorkflowConflict(f"Review {review_id} is {review.status}; scores change only in "
                               "draft.", "review_not_draft")
    rules = load_rule_set(session, review.year, now)
    branch = {m.id for m in _branch_members(session, review)}
    unknown = sorted(set(scores) - branch)
    if unknown:
        raise Invalid(f"Not members of {org.name}: {', '.join(map(str, unknown))}.",
                      "unknown_member")
    bad = sorted(m for m, s in scores.items()
                 if s is not None and not review_score_allowed(s, rules.params))
    if bad:
        raise Invalid(f"Review scores are whole points from 0 to {rules.params.review_max}; "
                      f"check members {', '.join(map(str, bad))}.", "review_score_out_of_range")
    rows = _score_rows(session, review_id)
    before = {str(m): r.score for m, r in rows.items() if m in scores}
    for member_id, score in scores.items():
        row = rows.get(member_id) or ReviewScore(review_id=review_id, member_id=member_id)
        row.score = score
        session.add(row)
    audit.record(session, actor_id=actor.account_id, action="review.scores",
                 object_type="review", object_id=review_id, at=now, before=before,
                 after={str(m): s for m, s in scores.items()})
    return review


def pending_entry_count(session: Session, review: Review) -> int:
    # By the branch's members, so the (member_id, year, status) index is used: the cost
    # follows the branch's size, not the number of pending entries in the whole database.
    members = select(col(Member.id)).where(Member.org_id == review.org_id)
    return session.exec(
        select(func.count()).select_from(Entry)
        .where(col(Entry.member_id).in_(members), Entry.year == review.year,
               Entry.quarter == review.quarter, Entry.status == EntryStatus.pending)
    ).one()


def open_objections(session: Session, review_ids: Collection[int],
                    member_id: int | None = None) -> Counter[int]:
    """Objections still unanswered, per review (only `member_id`'s, if given): the one count
    that finalizing, the review's pages and answers, and a member's results all read."""
    if not review_ids:
        return Counter()
    query = select(Objection.review_id, func.count()).where(
        col(Objection.review_id).in_(review_ids), Objection.status == ObjectionStatus.open)
    if member_id is not None:
        query = query.where(Objection.member_id == member_id)
    return Counter({review_id: n for review_id, n in
                    session.exec(query.group_by(col(Objection.review_id))).all()
                    if review_id is not None})


Step = Literal["publish", "finalize"]


@dataclass(frozen=True)
class ReviewBlockers:
    """What stands in the way of publishing or finalizing a review now (docs/scoring.md,
    Workflow 2): the steps raise the first of their refusals, the pages list them all."""

    year: int
    quarter: int
    pending: int
    open_objections: int
    notice_until: datetime | None
    notice_running: bool
    previous_quarter_open: int | None
    previous_review_id: int | None = None
    # The quarter's last day while it has not ended, and the year's shortest notice: below
    # it, or before the quarter ends, a step needs a reason (app/services/early_steps.py).
    quarter_ends: date | None = None
    min_notice_days: int = 0

    def refusals(self, step: Step) -> list[WorkflowConflict]:
        """Each reason `step` is refused for, in the order it checks them."""
        found = []
        if step == "finalize":
            if self.open_objections:
                found.append(WorkflowConflict(f"{self.open_objections} objection(s) still "
                                              "open; respond to them first.",
                                              "objections_open"))
            if self.notice_running and self.notice_until is not None:
                found.append(WorkflowConflict(f"The notice period (公示) runs until "
                                              f"{self.notice_until.isoformat()}.",
                                              "notice_running"))
            if self.previous_quarter_open:
                found.append(WorkflowConflict(f"Finalize {self.year} "
                                              f"Q{self.previous_quarter_open} first.",
                                              "previous_quarter_open"))
        if self.pending:
            found.append(WorkflowConflict(
                f"Cannot {step}: {self.pending} entr{'y' if self.pending == 1 else 'ies'} of "
                f"{self.year} Q{self.quarter} still pending; approve or reject them first.",
                "pending_entries"))
        return found

    def earliness(self, step: Step, notice_days: int | None = None) -> Earliness:
        """Why `step` needs a reason now (with `notice_days`, for publishing), if it does."""
        return Earliness(self.year, self.quarter, step, self.quarter_ends,
                         notice_days if step == "publish" else None, self.min_notice_days)

    @property
    def can_publish(self) -> bool:
        return not self.refusals("publish")

    @property
    def can_finalize(self) -> bool:
        return not self.refusals("finalize")


def blockers(session: Session, review: Review, now: datetime) -> ReviewBlockers:
    """Everything publishing and finalizing the review would be refused for, counted now."""
    assert review.id is not None
    previous_open = previous_id = None
    if review.quarter > 1:
        previous = session.exec(select(Review.id, Review.status).where(
            Review.org_id == review.org_id, Review.year == review.year,
            Review.quarter == review.quarter - 1)).first()
        previous_id = previous[0] if previous else None
        if previous is None or previous[1] != ReviewStatus.finalized:
            previous_open = review.quarter - 1
    running = (review.status == ReviewStatus.published and review.notice_until is not None
               and now < review.notice_until)
    return ReviewBlockers(
        year=review.year, quarter=review.quarter,
        pending=pending_entry_count(session, review),
        open_objections=open_objections(session, [review.id])[review.id],
        notice_until=review.notice_until, notice_running=running,
        previous_quarter_open=previous_open, previous_review_id=previous_id,
        quarter_ends=unended(quarter_end(review.year, review.quarter), now),
        min_notice_days=load_rule_set(session, review.year, now).params.min_notice_days)


def _transition(session: Session, review: Review, from_: ReviewStatus,
                values: dict[str, object]) -> None:
    """Move the review on only if nobody else moved it first."""
    # RETURNING the row into the session's own copy: the step and its re-read in one.
    moved = session.execute(
        sa.update(Review).where(col(Review.id) == review.id, col(Review.status) == from_)
        .values(**values).returning(Review)
        .execution_options(synchronize_session=False, populate_existing=True)
    ).scalars().all()
    if len(moved) != 1:
        raise WorkflowConflict("The review was changed by someone else just now; reload it.",
                               "review_changed")
    stamps.changed(session, review)  # the later quarters' running totals count it or not


def _publishable(session: Session, actor: Actor, review_id: int, notice_days: int,
                 reason: str | None, now: datetime) -> tuple[Review, str | None]:
    """The review, under the branch lock, and the reason to store; or the refusal that
    publishing it now would meet."""
    review, org = get_review(session, actor, review_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, review)
    if review.status != ReviewStatus.draft:
        raise WorkflowConflict(f"Review {review_id} is already {review.status}.",
                               "review_not_draft")
    if not 0 <= notice_days <= MAX_NOTICE_DAYS:
        raise Invalid(f"notice_days must be from 0 to {MAX_NOTICE_DAYS}.", "notice_out_of_range")
    found = blockers(session, review, now)
    refused = found.refusals("publish")
    if refused:
        raise refused[0]
    return review, checked_reason(reason, found.earliness("publish", notice_days))


def check_publish(session: Session, actor: Actor, review_id: int, notice_days: int,
                  reason: str | None, now: datetime) -> datetime:
    """When the notice would end if the review were published now; refused as publishing
    would be, and nothing written (the page's confirmation, before the step)."""
    _publishable(session, actor, review_id, notice_days, reason, now)
    return now + timedelta(days=notice_days)


def publish_review(session: Session, actor: Actor, review_id: int, notice_days: int,
                   now: datetime, reason: str | None = None) -> Review:
    """Publish (公示) for `notice_days`; before the quarter ends or with a notice below the
    year's minimum, only with a reason (app/services/early_steps.py)."""
    review, stored_reason = _publishable(session, actor, review_id, notice_days, reason, now)
    params = load_rule_set(session, review.year, now).params
    rows = _score_rows(session, review_id)
    for member in _branch_members(session, review):
        member_id = member.id or 0
        row = rows.get(member_id)
        if row is None:
            row = rows[member_id] = ReviewScore(review_id=review_id, member_id=member_id)
            session.add(row)
        # An unset score becomes what it counted as on the draft sheet (docs/scoring.md,
        # Quarterly review score).
        row.score = review_points(row.score, params)
    before = audit.snapshot(review)
    _transition(session, review, ReviewStatus.draft, {
        "status": ReviewStatus.published, "published_by": actor.account_id, "published_at": now,
        "notice_until": now + timedelta(days=notice_days), "publish_reason": stored_reason})
    # Every row of the review is in `rows` (read under the branch's lock, the new ones added).
    published = {str(m): r.score for m, r in sorted(rows.items())}
    audit.record(session, actor_id=actor.account_id, action="review.publish",
                 object_type="review", object_id=review_id, at=now, before=before,
                 after=audit.snapshot(review) | {"scores": published})
    return review


def reopen_review(session: Session, actor: Actor, review_id: int, now: datetime) -> Review:
    """Back to draft from 公示, to correct scores after an objection."""
    review, org = get_review(session, actor, review_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, review)
    if review.status != ReviewStatus.published:
        raise WorkflowConflict(f"Only a published review can be reopened; {review_id} is "
                               f"{review.status}.", "review_not_published")
    before = audit.snapshot(review)
    _transition(session, review, ReviewStatus.published,
                {"status": ReviewStatus.draft, "notice_until": None})
    audit.record(session, actor_id=actor.account_id, action="review.reopen",
                 object_type="review", object_id=review_id, at=now, before=before,
                 after=audit.snapshot(review))
    return review


def finalize_review(session: Session, actor: Actor, review_id: int, now: datetime,
                    reason: str | None = None) -> Review:
    """Finalize: the quarter is locked for the branch; before it ends, only with a reason
    (app/services/early_steps.py)."""
    review, org = get_review(session, actor, review_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, review)
    if review.status != ReviewStatus.published:
        hint = ("publish it first" if review.status == ReviewStatus.draft
                else "it is already finalized")
        raise WorkflowConflict(f"Review {review_id} cannot be finalized: {hint}.",
                               "review_not_published")
    found = blockers(session, review, now)
    refused = found.refusals("finalize")
    if refused:
        raise refused[0]
    stored_reason = checked_reason(reason, found.earliness("finalize"))
    rows = _score_rows(session, review_id)
    lines = {line.member_id: line for line in review_lines(session, review, now, rows)}
    final: dict[str, dict[str, int | None]] = {}
    for member_id, row in sorted(rows.items()):
        if member_id in lines:
            row.final_ytd, row.final_delta = lines[member_id].ytd, lines[member_id].delta
            session.add(row)
        final[str(member_id)] = {"score": row.score, "ytd": row.final_ytd,
                                 "delta": row.final_delta}
    before = audit.snapshot(review)
    _transition(session, review, ReviewStatus.published, {
        "status": ReviewStatus.finalized, "finalized_by": actor.account_id, "finalized_at": now,
        "finalize_reason": stored_reason})
    audit.record(session, actor_id=actor.account_id, action="review.finalize",
                 object_type="review", object_id=review_id, at=now, before=before,
                 after=audit.snapshot(review) | {"final": final})
    return review
