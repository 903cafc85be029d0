"""What waits for a committee member, over the branches they manage (the committee home).

Counts, each with the first item to open: entries to decide, objections to answer (to a
quarterly review or an annual rating), reviews to publish or finalize, and of the annual
rating (appraisal.md §2): for the branch's own committee (whose steps they are; and an
administrator), drafts to carry to 公示 and published ratings whose notice is over (to
submit); for the level above (the nearest 党委, or an administrator), submitted ratings to
approve or return. The branch's own committee is also told of its ratings the level above
returned (with the reason; work again, until published anew) or approved (news, for
NOTICE_DAYS), and of the disposal cases (§5) whose next step is theirs: an investigation,
a talk, a proposal, the branch meeting's vote, the result of 劝退, and apart, each 限期改正
whose deadline has come without its 期满考察 (never a committee member's own case; the
level above's queue of cases is on /committee/cases). Nobody is told of what they did
themselves: their own objections, a rating they published or submitted (they may not
approve it), one they returned or approved. Nothing here counts votes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models import (
    CaseStatus,
    DisposalCase,
    Objection,
    ObjectionStatus,
    Rating,
    RatingStatus,
    Review,
    ReviewStatus,
)
from app.services.access import Actor
from app.services.cases import BRANCH_STATES, beijing_day
from app.services.notices import NOTICE_DAYS
from app.services.rating_view import AwaitingApproval
from app.services.worklist import BranchWork

RETURNED = "returned"  # Rating.sent_back after the level above returned it (appraisal.py)


@dataclass(frozen=True)
class RatingNews:
    """A decision of the level above on a branch's rating, for the branch's committee."""

    kind: str  # "returned" (with its reason) or "approved"
    rating_id: int
    org_name: str
    year: int
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Waiting:
    """What waits for a committee member in the branches they manage, with where to go."""

    entries: int
    objections: int
    to_publish: int
    to_finalize: int
    ratings: int  # drafts to carry through the ballot and 组织评定 to 公示
    objection_review_id: int | None = None
    publish_review_id: int | None = None
    finalize_review_id: int | None = None
    rating_id: int | None = None
    rating_objections: int = 0
    objection_rating_id: int | None = None
    to_submit: int = 0  # published, the notice over, no objection open
    submit_rating_id: int | None = None
    to_approve: int = 0  # submitted, for the level above (listed on /committee/approvals)
    returned: tuple[RatingNews, ...] = ()  # work again: counted
    approved: tuple[RatingNews, ...] = ()  # news: not counted
    cases: int = 0  # disposal cases whose next step is the branch's
    case_id: int | None = None
    overdue_cases: int = 0  # 限期改正 at or past its deadline, no 期满考察 yet
    overdue_case_id: int | None = None

    @property
    def total(self) -> int:
        return self.entries + self.objections + self.to_publish + self.to_finalize \
            + self.ratings + self.rating_objections + self.to_submit + self.to_approve \
            + len(self.returned) + self.cases + self.overdue_cases


def _first_and_count(session: Session,
                     query: SelectOfScalar[Any]) -> tuple[int, int | None]:
    ids = [int(i) for i in session.exec(query).all() if i is not None]
    return len(ids), (ids[0] if ids else None)


def _to_answer(session: Session, actor: Actor, subject: Any, subject_id: Any,
               in_scope: Any) -> tuple[int, int | None]:
    """Open objections to the reviews or ratings in scope (`subject`: Objection.review_id
    or .rating_id, `subject_id` the id it refers to), but the actor's own (another
    committee member answers those): how many, and the subject of the first."""
    query = select(subject).join(subject_id.table, subject_id == subject).where(
        in_scope, col(Objection.status) == ObjectionStatus.open)
    if actor.member_id is not None:
        query = query.where(col(Objection.member_id) != actor.member_id)
    return _first_and_count(session, query.order_by(col(Objection.id)))


Subject = TypeVar("Subject", Review, Rating)


def _notice_over(session: Session, subject: type[Subject], in_scope: Any, now: datetime,
                 order: tuple[Any, ...]) -> tuple[int, int | None]:
    """Published, the notice period over and no objection open: ready for the next step
    (a review is finalized, a rating submitted). How many, and the first."""
    about = col(Objection.review_id) if subject is Review else col(Objection.rating_id)
    open_objection = sa.exists().where(about == subject.id,
                                       col(Objection.status) == ObjectionStatus.open)
    published = ReviewStatus.published if subject is Review else RatingStatus.published
    return _first_and_count(session, select(subject.id).where(
        in_scope, col(subject.status) == published,
        sa.or_(col(subject.notice_until).is_(None), col(subject.notice_until) <= now),
        ~open_objection).order_by(*order))


def committee_waiting(session: Session, actor: Actor, work: list[BranchWork],
                      now: datetime, awaiting: Sequence[AwaitingApproval] = ()) -> Waiting:
    """Entries to decide, objections to answer, reviews to publish or finalize, ratings to
    carry on or approve (all years: old work still waits), in the branches of the
    committee's worklist (worklist.branch_worklist, which has counted the entries the actor
    may decide), and the submitted ratings the actor decides on (`awaiting`:
    rating_view.awaiting_approval). The actor's own objections wait for another committee
    member, as their own entries do, and so do ratings they published or submitted."""
    branch_ids = [b.org.id for b in work if b.org.id is not None]
    if not branch_ids:
        return Waiting(0, 0, 0, 0, 0)
    in_scope = col(Review.org_id).in_(branch_ids)
    by_quarter = (col(Review.year), col(Review.quarter), col(Review.id))
    objections, objection_review = _to_answer(session, actor, col(Objection.review_id),
                                              col(Review.id), in_scope)
    to_publish, publish_id = _first_and_count(session, select(Review.id).where(
        in_scope, col(Review.status) == ReviewStatus.draft).order_by(*by_quarter))
    to_finalize, finalize_id = _notice_over(session, Review, in_scope, now, by_quarter)
    return _rating_work(session, actor, work, now, awaiting, Waiting(
        entries=sum(b.pending for b in work), objections=objections,
        to_publish=to_publish, to_finalize=to_finalize, ratings=0,
        objection_review_id=objection_review, publish_review_id=publish_id,
        finalize_review_id=finalize_id))


def _rating_work(session: Session, actor: Actor, work: list[BranchWork], now: datetime,
                 awaiting: Sequence[AwaitingApproval], waiting: Waiting) -> Waiting:
    """The annual ratings' part of `waiting`."""
    orgs = {b.org.id: b.org for b in work if b.org.id is not None}
    in_scope = col(Rating.org_id).in_(list(orgs))
    # The branches whose rating's steps the actor takes (access.require_branch_committee),
    # and those of which the actor is on the committee itself (told of the decisions).
    own = [o for o in orgs if o in actor.committee_org_ids]
    steps = list(orgs) if actor.is_admin else own
    by_year = (col(Rating.year), col(Rating.org_id), col(Rating.id))
    rating_objections, objection_rating = _to_answer(session, actor, col(Objection.rating_id),
                                                     col(Rating.id), in_scope)
    to_submit, submit_id = _notice_over(session, Rating, col(Rating.org_id).in_(steps), now,
                                        by_year)

    def news(rating: Rating, kind: str, at: datetime | None, reason: str | None = None
             ) -> RatingNews:
        return RatingNews(kind=kind, rating_id=rating.id or 0, org_name=orgs[rating.org_id].name,
                          year=rating.year, at=at or now, reason=reason)

    drafts = session.exec(select(Rating).where(
        col(Rating.org_id).in_(steps), col(Rating.status) == RatingStatus.draft)
        .order_by(*by_year)).all() if steps else []
    returned = [news(r, RETURNED, r.sent_back_at, r.sent_back_reason) for r in drafts
                if r.org_id in own and r.sent_back == RETURNED
                and r.sent_back_by != actor.account_id]
    shown = {n.rating_id for n in returned}
    others = [r.id or 0 for r in drafts if r.id not in shown]
    approved = [news(r, RatingStatus.approved, r.approved_at) for r in session.exec(
        select(Rating).where(col(Rating.org_id).in_(own),
                             col(Rating.status) == RatingStatus.approved,
                             col(Rating.approved_at) >= now - timedelta(days=NOTICE_DAYS),
                             col(Rating.approved_at) <= now,
                             col(Rating.approved_by) != actor.account_id)
        .order_by(col(Rating.approved_at).desc(), col(Rating.id))).all()] if own else []
    due, due_id = _case_steps_due(session, actor, steps, sa.true())
    overdue, overdue_id = _case_steps_due(session, actor, steps,
                                          col(DisposalCase.deadline) <= beijing_day(now),
                                          CaseStatus.rectifying)
    return replace(
        waiting, cases=due, case_id=due_id, overdue_cases=overdue, overdue_case_id=overdue_id,
        ratings=len(others), rating_id=others[0] if others else None,
        rating_objections=rating_objections, objection_rating_id=objection_rating,
        to_submit=to_submit, submit_rating_id=submit_id,
        to_approve=sum(1 for a in awaiting if not a.own), returned=tuple(returned),
        approved=tuple(approved))


def _case_steps_due(session: Session, actor: Actor, branch_ids: list[int], when: Any,
                    *states: CaseStatus) -> tuple[int, int | None]:
    """Disposal cases in the branches whose steps the actor takes, in `states` (by default
    those whose next step is the branch's) and meeting `when` (a 限期改正 waits for its
    deadline: 期满考察 may be recorded from that day): how many, and the one waiting
    longest. Never the actor's own case."""
    if not branch_ids:
        return 0, None
    query = select(DisposalCase.id).where(
        col(DisposalCase.org_id).in_(branch_ids),
        col(DisposalCase.status).in_(states or BRANCH_STATES), when)
    if actor.member_id is not None:
        query = query.where(col(DisposalCase.member_id) != actor.member_id)
    return _first_and_count(session, query.order_by(col(DisposalCase.updated_at),
                                                    col(DisposalCase.id)))
