"""A member's score as the member reads it: the engine's year, each quarter's state, the
stars, and the approved grade once there is one (docs/scoring.md, The score; Stars and Grades).

The API's score answer and the member's score page both come from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlmodel import Session, col

from app.clock import CHINA
from app.db import core
from app.models import PUBLIC_REVIEW_STATES, Member, Rating, RatingItem, RatingStatus, Review
from app.points import Grade, RuleSet, YearScore, quarter_end, stars
from app.services.access import Actor, get_member
from app.services.rules import load_rule_set
from app.services.scoring import member_year_score

_QUARTER_STATES = sa.select(col(Review.quarter), col(Review.status)).where(
    col(Review.org_id) == sa.bindparam("org"), col(Review.year) == sa.bindparam("year"))
_APPROVED_GRADE = (
    sa.select(col(RatingItem.grade)).join(Rating, col(Rating.id) == RatingItem.rating_id)
    .where(col(Rating.org_id) == sa.bindparam("org"), col(Rating.year) == sa.bindparam("year"),
           col(Rating.status) == RatingStatus.approved,
           col(RatingItem.member_id) == sa.bindparam("member"))
)


@dataclass(frozen=True)
class MemberScore:
    """One member's year: provisional until the branch's rating is approved."""

    member: Member
    year: int
    rules: RuleSet
    engine: YearScore
    stars: int
    grade: Grade | None
    # open (no review yet), draft, published, finalized, by quarter
    states: dict[int, str]

    @property
    def annual(self) -> int:
        return self.engine.annual

    @property
    def vetoed(self) -> bool:
        return self.engine.vetoed

    @property
    def provisional(self) -> bool:
        return self.grade is None

    def state(self, quarter: int) -> str:
        return self.states.get(quarter, "open")

    def no_review(self, quarter: int) -> NoReview | None:
        """Why the quarter has, and will have, no review score of mine; None when it has
        one or its review is not published yet."""
        listed = self.engine.quarter(quarter).review_score is not None
        return no_review(self.member, self.year, quarter, self.state(quarter), listed)


# Why a member has no line in a quarter's review (docs/scoring.md, Quarterly review score):
# the review lists the branch's members who had joined by the quarter's end, as they were
# when it was created or published.
NoReview = Literal["not_joined", "not_recorded", "not_listed"]


def no_review(member: Member, year: int, quarter: int, state: str,
              listed: bool) -> NoReview | None:
    """`not_joined`: the quarter ended before the member joined (never reviewed in it);
    once its review is published without the member: `not_recorded` when the member was
    recorded in the system (imported) after the quarter ended, else `not_listed` (came to
    the branch after it was reviewed). None: the member has a review score, or may still
    get one."""
    if listed:
        return None
    end = quarter_end(year, quarter)
    if member.joined_on > end:
        return "not_joined"
    if state not in PUBLIC_REVIEW_STATES:
        return None
    # The day the member was recorded, on the branch's (Beijing) clock.
    recorded = member.created_at.astimezone(CHINA).date() if member.created_at else None
    return "not_recorded" if recorded is not None and recorded > end else "not_listed"


def member_score(session: Session, actor: Actor, member_id: int, year: int,
                 now: datetime) -> MemberScore:
    """The score of a member the caller may see (404 otherwise)."""
    member, _org = get_member(session, actor, member_id)
    rules = load_rule_set(session, year, now)
    engine = member_year_score(session, rules, member_id)
    states = {quarter: status for quarter, status in core(
        session, _QUARTER_STATES, {"org": member.org_id, "year": year}).all()}
    grade = core(session, _APPROVED_GRADE, {
        "org": member.org_id, "year": year, "member": member_id}).scalar()
    return MemberScore(member=member, year=year, rules=rules, engine=engine,
                       stars=stars(engine.annual, engine.vetoed, rules.params),
                       grade=Grade(grade) if grade else None, states=states)
