"""A member's score as the member reads it: the engine's year, each quarter's state, the
stars, and the approved grade once there is one (docs/scoring.md, The score; Stars and Grades).

The API's score answer and the member's score page both come from here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlmodel import Session, col

from app.clock import CHINA
from app.db import core
from app.models import (
    PUBLIC_REVIEW_STATES,
    Member,
    Org,
    Rating,
    RatingItem,
    RatingStatus,
    Review,
)
from app.points import QUARTERS, Grade, RuleSet, YearScore, quarter_end, stars
from app.services.access import (
    BRIEF_COLUMNS,
    Actor,
    MemberBrief,
    brief_in_scope,
    brief_of,
    get_org,
    own_brief,
)
from app.services.errors import Forbidden
from app.services.rules import load_rule_set, rules_read, source_columns
from app.services.scoring import member_year_score, recorded_review_scores, year_scores
from app.services.summary import branch_filter
from app.services.sync import decode_position, encode_position


def _facts(org: Any) -> tuple[Any, ...]:
    """What a member's score reads beside the engine's statements, as columns of one
    statement (the branch `org`, :year, :member): the stored rule set the year reads, each
    quarter's review state (a review per branch and quarter) and the approved grade (a
    rating per branch and year, a line per member)."""
    states = tuple(
        sa.select(col(Review.status)).where(col(Review.org_id) == org,
                                            col(Review.year) == sa.bindparam("year"),
                                            col(Review.quarter) == quarter)
        .scalar_subquery().label(f"q{quarter}") for quarter in QUARTERS)
    grade = (
        sa.select(col(RatingItem.grade)).join(Rating, col(Rating.id) == RatingItem.rating_id)
        .where(col(Rating.org_id) == org, col(Rating.year) == sa.bindparam("year"),
               col(Rating.status) == RatingStatus.approved,
               col(RatingItem.member_id) == sa.bindparam("member"))
        .scalar_subquery().label("grade"))
    return (*source_columns(sa.bindparam("year")), *states, grade)


# Built once: the caller's own score (their member read by the login check), and anyone
# else's with the member and their branch in the same statement.
_OWN_FACTS = sa.select(*_facts(sa.bindparam("org")))
_MEMBER_FACTS = (
    sa.select(*BRIEF_COLUMNS, *_facts(col(Member.org_id)))
    .join(Org, col(Org.id) == Member.org_id).where(col(Member.id) == sa.bindparam("member"))
)


@dataclass(frozen=True)
class MemberScore:
    """One member's year: provisional until the branch's rating is approved."""

    member: MemberBrief
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


class Joined(Protocol):
    """What no_review reads of a member (a Member, or a MemberBrief)."""

    @property
    def joined_on(self) -> date: ...

    @property
    def created_at(self) -> datetime | None: ...


def no_review(member: Joined, year: int, quarter: int, state: str,
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
    member = own_brief(session, actor, member_id)
    if member is not None:
        facts = core(session, _OWN_FACTS, {"org": member.org_id, "year": year,
                                           "member": member_id}).one()
    else:
        found = core(session, _MEMBER_FACTS, {"member": member_id, "year": year}).first()
        member = brief_in_scope(actor, found, member_id)
        assert found is not None  # brief_in_scope refuses a member not found
        facts = found
    rules = rules_read(session, year, facts.rules_year, facts.rules_revision)
    engine = member_year_score(session, rules, member_id)
    states = {quarter: status for quarter, status in zip(
        QUARTERS, (facts.q1, facts.q2, facts.q3, facts.q4), strict=True) if status is not None}
    return MemberScore(member=member, year=year, rules=rules, engine=engine,
                       stars=stars(engine.annual, engine.vetoed, rules.params),
                       grade=Grade(facts.grade) if facts.grade else None, states=states)


# The bulk read: every member's year in an organisation, a page at a time, in as many
# statements per page whatever its size (the batch paths the review sheet and the rating
# use: scoring.year_scores over the page's members).
_BRANCH_QUARTERS = sa.select(col(Review.org_id), col(Review.quarter), col(Review.status)).where(
    col(Review.org_id).in_(sa.bindparam("orgs", expanding=True)),
    col(Review.year) == sa.bindparam("year"))
_APPROVED_GRADES = (
    sa.select(col(RatingItem.member_id), col(RatingItem.grade))
    .join(Rating, col(Rating.id) == RatingItem.rating_id)
    .where(col(Rating.year) == sa.bindparam("year"), col(Rating.status) == RatingStatus.approved,
           col(RatingItem.member_id).in_(sa.bindparam("members", expanding=True)))
)


@dataclass(frozen=True)
class OrgScores:
    scores: list[MemberScore]
    total: int  # every member in the read, not only this page's
    next: str | None  # the cursor of the next page; None: this is the last


def org_scores(session: Session, actor: Actor, org_id: int, year: int, now: datetime,
               limit: int, after: str | None) -> OrgScores:
    """Every member's score of a year in the branches of the organisation that the caller
    manages, by member id, `limit` at a time after the cursor: the same as each one's
    member_score. 404 for an organisation outside the caller's view, 403 committee_only
    for one in which the caller manages no branch (a member reads their own score)."""
    org = get_org(session, actor, org_id)
    branches = sa.select(col(Org.id)).where(*branch_filter(actor, org))
    if not actor.manages(org) and core(session, sa.select(sa.exists(branches))).scalar() \
            is not True:
        raise Forbidden(f"Only the committees of {org.name} or of a branch in it (or an "
                        "administrator) may read its members' scores; a member reads their "
                        "own with GET /members/{id}/score.", "committee_only")
    feed = f"scores.{org.id}.{year}"  # a cursor serves the read it came from only
    total = int(core(session, sa.select(sa.func.count()).select_from(
        sa.select(col(Member.id)).where(col(Member.org_id).in_(branches)).subquery()))
        .scalar_one())
    # Plain columns, no ORM objects: a page of 500 members is 500 MemberBriefs.
    members = sa.select(*BRIEF_COLUMNS).join(Org, col(Org.id) == Member.org_id).where(
        col(Member.org_id).in_(branches))
    if after is not None:
        members = members.where(col(Member.id) > decode_position(feed, after))
    page = [brief_of(row) for row in core(
        session, members.order_by(col(Member.id)).limit(limit + 1))]
    more, page = len(page) > limit, page[:limit]
    ids = [m.id for m in page]
    rules = load_rule_set(session, year, now)
    engines = year_scores(session, rules, ids, recorded_review_scores(session, ids, year)) \
        if ids else {}
    states: dict[int, dict[int, str]] = defaultdict(dict)
    grades: dict[int, str] = {}
    if ids:
        for branch, quarter, status in core(session, _BRANCH_QUARTERS, {
                "orgs": sorted({m.org_id for m in page}), "year": year}):
            states[branch][quarter] = status
        grades = dict(core(session, _APPROVED_GRADES, {"members": ids, "year": year}).all())
    scores = [MemberScore(member=m, year=year, rules=rules, engine=engines[m.id],
                          stars=stars(engines[m.id].annual, engines[m.id].vetoed,
                                      rules.params),
                          grade=Grade(grades[m.id]) if grades.get(m.id) else None,
                          states=states[m.org_id])
              for m in page]
    return OrgScores(scores, total,
                     encode_position(feed, ids[-1]) if more and ids else None)
