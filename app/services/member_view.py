"""What a member reads about themself on the phone pages: reads only, nothing is written.

Access stays in app.services.access and the workflow services; these functions narrow
their answers to the member's own branch and own lines, even when the member is also on
a committee (the member pages never show a draft or another member's objection).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.db import core
from app.models import (
    PUBLIC_REVIEW_STATES,
    Entry,
    EntryStatus,
    Member,
    Objection,
    Org,
    Rating,
    RatingItem,
    RatingStatus,
    Review,
)
from app.points import SELF_REPORT_KINDS, RuleItem, RuleSet
from app.services.access import Actor, get_member
from app.services.errors import NotFound
from app.services.notices import FIRST_READ, UnseenNotices, unseen_summary, window_start
from app.services.rating_view import RATING_TASK, RatingTask, task_of
from app.services.reviews import get_review, open_objections
from app.services.standing import EXEMPT


@dataclass(frozen=True)
class MyRating:
    """My line of my branch's approved annual rating."""

    year: int
    item: sa.Row[Any]  # score, stars, grade, proposed_grade, reason, exempt

    @property
    def changed(self) -> bool:
        """The committee changed the proposed grade (its reason is then shown)."""
        return bool(self.item.grade != self.item.proposed_grade)


def me(session: Session, actor: Actor) -> tuple[Member, Org]:
    """The member behind the login, with their branch; NotFound for an admin-only account."""
    if actor.member_id is None:
        raise NotFound("This account is not a member; it has no score pages.")
    return get_member(session, actor, actor.member_id)


def reportable_items(rules: RuleSet, category: str) -> list[RuleItem]:
    """Items a member may self-report: positive and bonus ones that apply to their category."""
    return [i for i in rules.items
            if i.kind in SELF_REPORT_KINDS and i.applies_to(category)]


_MY_RATINGS = (
    sa.select(col(Rating.year), col(RatingItem.score), col(RatingItem.stars),
              col(RatingItem.grade), col(RatingItem.proposed_grade), col(RatingItem.reason),
              col(RatingItem.exempt))
    .join(RatingItem, col(RatingItem.rating_id) == Rating.id)
    .where(col(Rating.year).in_(sa.bindparam("years", expanding=True)),
           col(Rating.status) == RatingStatus.approved,
           col(RatingItem.member_id) == sa.bindparam("member"))
)


def my_ratings(session: Session, member_id: int, *years: int) -> dict[int, MyRating]:
    """My lines of approved ratings of these years, by year (one query for all of them)."""
    rows = core(session, _MY_RATINGS, {"years": list(years),
                                                      "member": member_id}).all()
    return {row.year: MyRating(year=row.year, item=row) for row in rows}


# My self-reports of the year still waiting for the committee.
_PENDING = sa.select(func.count()).select_from(Entry).where(
    col(Entry.member_id) == sa.bindparam("member"), col(Entry.year) == sa.bindparam("year"),
    col(Entry.status) == EntryStatus.pending)


@dataclass(frozen=True)
class HomeFacts:
    """The small reads of my score page, in one statement (home_facts)."""

    pending: int
    exempt: bool  # standing.EXEMPT
    notices: UnseenNotices  # notices.unseen_summary
    rating_task: RatingTask | None  # rating_view.task_of


_ONE = sa.select(sa.literal(1).label("one")).subquery("one")
_HOME = sa.select(_PENDING.scalar_subquery(), EXEMPT, *FIRST_READ, *RATING_TASK.c) \
    .select_from(_ONE.outerjoin(RATING_TASK, sa.true()))


def home_facts(session: Session, actor: Actor, year: int, now: datetime) -> HomeFacts:
    """My self-reports of the year still waiting, whether I am exempt (免评) this year, my
    unseen notices and what my branch's rating under way asks of me: each function's own
    statement, as columns of one."""
    assert actor.member_id is not None and actor.member_org_id is not None
    pending, exempt, seen, answered, any_case, *task = core(session, _HOME, {
        "member": actor.member_id, "year": year, "account": actor.account_id,
        "org": actor.member_org_id, "since": window_start(now)}).one()
    return HomeFacts(pending, bool(exempt), unseen_summary(
        session, actor, now, (seen, bool(answered), bool(any_case))), task_of(task))


def my_entries(session: Session, member_id: int, year: int) -> list[Entry]:
    """All my entries of the year, whatever their state, newest first."""
    return list(session.exec(
        select(Entry).where(Entry.member_id == member_id, Entry.year == year)
        .order_by(col(Entry.occurred_on).desc(), col(Entry.id).desc())
    ).all())


def branch_results(session: Session, actor: Actor) -> list[Review]:
    """Published and finalized reviews of my branch (公示), newest first."""
    if actor.member_org_id is None:
        return []
    return list(session.exec(
        select(Review).where(Review.org_id == actor.member_org_id,
                             col(Review.status).in_(PUBLIC_REVIEW_STATES))
        .order_by(col(Review.year).desc(), col(Review.quarter).desc())
    ).all())


def my_open_objections(session: Session, member_id: int,
                       review_ids: list[int]) -> dict[int, int]:
    """How many of my objections are still unanswered, per review."""
    return open_objections(session, review_ids, member_id)


def branch_review(session: Session, actor: Actor, review_id: int) -> Review:
    """A published or finalized review of my own branch; NotFound for anything else."""
    review, _org = get_review(session, actor, review_id)
    if review.org_id != actor.member_org_id or review.status not in PUBLIC_REVIEW_STATES:
        raise NotFound(f"Review {review_id} does not exist or is outside your scope.")
    return review


def my_objections(session: Session, actor: Actor, review_id: int) -> list[Objection]:
    """My own objections to a review, oldest first (never another member's)."""
    branch_review(session, actor, review_id)
    return list(session.exec(
        select(Objection).where(Objection.review_id == review_id,
                                Objection.member_id == actor.member_id)
        .order_by(col(Objection.id))
    ).all())
