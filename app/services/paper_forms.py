"""What the blank forms of a branch meeting held on paper hold (appraisal.md §3): the
民主评议党员测评表 of a rating (its graded members, nothing else) and a member's
年度积分登记表 (the year's approved entries by quarter, the quarters' scores, the total and
the stars). For the committee of the branch or above.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.models import PUBLIC_REVIEW_STATES, Entry, EntryStatus, Member, Org, Rating, RatingItem
from app.points import QUARTERS, QuarterScore
from app.services.access import Actor, get_member, require_manages
from app.services.appraisal import graded
from app.services.member_score import MemberScore, member_score
from app.services.member_view import my_entries
from app.services.ratings import get_rating, rating_items
from app.services.rules import check_year


@dataclass(frozen=True)
class BallotForm:
    rating: Rating
    org: Org
    lines: list[RatingItem]  # the graded lines, in the rating sheet's order


def ballot_form(session: Session, actor: Actor, rating_id: int) -> BallotForm:
    """The ballot's lines: full members not exempt that year (the lines a ballot votes on);
    no score, no grade."""
    rating, org = get_rating(session, actor, rating_id)
    require_manages(actor, org)
    return BallotForm(rating, org, [i for i in rating_items(session, rating_id) if graded(i)])


@dataclass(frozen=True)
class RegisterQuarter:
    score: QuarterScore      # the engine's quarter: review score, change, running total
    state: str               # the review's: open (none yet), draft, published, finalized
    entries: list[Entry]     # approved, by date
    recorded: int            # their points added up as recorded (before caps)
    review: int | None       # the review points the quarter counts; None before 公示


@dataclass(frozen=True)
class Register:
    member: Member
    org: Org
    score: MemberScore
    quarters: list[RegisterQuarter]


def register(session: Session, actor: Actor, member_id: int, year: int,
             now: datetime) -> Register:
    """One member's year as the member's score page counts it: approved entries, review
    scores of published or finalized quarters."""
    check_year(year)
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    score = member_score(session, actor, member_id, year, now)
    approved = sorted((e for e in my_entries(session, member_id, year)
                       if e.status == EntryStatus.approved),
                      key=lambda e: (e.occurred_on, e.id or 0))
    quarters, counted = [], 0
    for quarter in QUARTERS:
        entries = [e for e in approved if e.quarter == quarter]
        engine = score.engine.quarter(quarter)
        public = score.state(quarter) in PUBLIC_REVIEW_STATES
        quarters.append(RegisterQuarter(engine, score.state(quarter), entries,
                                        sum(e.points for e in entries),
                                        engine.review - counted if public else None))
        counted = engine.review
    return Register(member, org, score, quarters)
