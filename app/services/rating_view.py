"""What the rating pages read (appraisal.md §2, §4): where a rating stands in its steps, who
has not voted yet, a member's view of their branch's rating, the level above's queue.

Reads only; every step itself is in app/services/appraisal.py. Nothing here returns a
ballot choice: while the ballot is open the only count is the ballots cast, and the tally
(appraisal.tallies) is for the committees once it has closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.models import (
    BallotStatus,
    Org,
    OrgKind,
    Rating,
    RatingItem,
    RatingStatus,
    RatingVoter,
    SelfAssessment,
    Standing,
)
from app.services.access import Actor, managed_org_filter
from app.services.appraisal import ballots_left, graded, has_voted, open_objection_count
from app.services.early_steps import Earliness, year_earliness
from app.services.errors import NotFound
from app.services.ratings import rating_items
from app.services.rules import load_rule_set
from app.services.tree import tree_order

# --- the committee's sheet -------------------------------------------------------------


@dataclass(frozen=True)
class Participation:
    """The ballot as anyone may see it while it is open: ballots cast, never a choice."""

    voters: int
    cast_online: int
    cast_paper: int
    not_voted: list[str]  # names of the voters who have not voted online (for reminding)

    @property
    def cast(self) -> int:
        return self.cast_online + self.cast_paper


def participation(session: Session, rating: Rating) -> Participation | None:
    """None before the ballot opens."""
    if rating.ballot == BallotStatus.none:
        return None
    names = session.exec(
        select(RatingItem.name).join(RatingVoter, sa.and_(
            col(RatingVoter.rating_id) == RatingItem.rating_id,
            col(RatingVoter.member_id) == RatingItem.member_id))
        .where(RatingItem.rating_id == rating.id, sa.not_(col(RatingVoter.voted)))
        .order_by(col(RatingItem.member_id))).all()
    return Participation(voters=rating.voters or 0, cast_online=rating.cast_online,
                         cast_paper=rating.cast_paper, not_voted=list(names))


# The steps in the order a branch takes them (appraisal.md §2).
STEPS = ("self_assessment", "ballot", "grades", "notice", "submit", "approval")


@dataclass(frozen=True)
class Steps:
    """Where a rating stands, and what blocks its next step."""

    current: str | None  # one of STEPS; None once approved
    ballot: str  # BallotStatus
    self_written: int
    self_expected: int  # the lines that write one: graded and probationary
    participation: Participation | None
    ballot_required: bool
    notice_days: int  # the rule set's default
    notice_running: bool
    open_objections: int
    # Why publishing (for the default notice) or submitting needs a reason now, if it
    # does (app/services/early_steps.py): the year not ended, a notice below the minimum.
    publish_early: Earliness | None = None
    submit_early: Earliness | None = None

    def publish_earliness(self, notice_days: int | None) -> Earliness | None:
        """Why publishing for `notice_days` (None: the default) needs a reason now."""
        if self.publish_early is None or notice_days is None:
            return self.publish_early
        return replace(self.publish_early, notice_days=notice_days)

    def state(self, step: str) -> str:
        """done, current or todo, for the step's mark."""
        if self.current is None:
            return "done"
        if step == self.current:
            return "current"
        if step == "ballot" and self.ballot == BallotStatus.none:
            return "todo"  # not held (the year's rules did not require it)
        if step == "self_assessment" and self.current in ("ballot", "grades") \
                and self.self_written < self.self_expected:
            return "todo"  # still being written, beside the ballot
        return "done" if STEPS.index(step) < STEPS.index(self.current) else "todo"

    @property
    def publish_blocked(self) -> str | None:
        """ballot_open or ballot_required, as publish would refuse; else None."""
        if self.ballot == BallotStatus.open:
            return "ballot_open"
        if self.ballot_required and self.ballot != BallotStatus.closed:
            return "ballot_required"
        return None


def steps(session: Session, rating: Rating, now: datetime) -> Steps:
    items = rating_items(session, rating.id or 0)
    params = load_rule_set(session, rating.year, now).params
    running = rating.status == RatingStatus.published and rating.notice_until is not None \
        and now < rating.notice_until
    current: str | None
    if rating.status == RatingStatus.draft:
        wants_ballot = rating.ballot == BallotStatus.open or (
            rating.ballot == BallotStatus.none and params.ballot_required)
        current = "ballot" if wants_ballot else "grades"
    elif rating.status == RatingStatus.published:
        current = "notice" if running else "submit"
    elif rating.status == RatingStatus.submitted:
        current = "approval"
    else:
        current = None
    written: int = session.execute(sa.select(func.count()).select_from(SelfAssessment).where(
        col(SelfAssessment.rating_id) == rating.id)).scalar_one()
    return Steps(current=current, ballot=rating.ballot, self_written=written,
                 self_expected=sum(1 for i in items if not i.exempt),
                 participation=participation(session, rating),
                 ballot_required=params.ballot_required,
                 notice_days=params.rating_notice_days, notice_running=running,
                 open_objections=open_objection_count(session, rating.id or 0),
                 publish_early=year_earliness(rating.year, "publish", now,
                                              params.rating_notice_days,
                                              params.min_notice_days),
                 submit_early=year_earliness(rating.year, "submit", now))


# --- a member's view of their branch's rating ---------------------------------------------


def branch_rating(session: Session, actor: Actor, rating_id: int) -> tuple[Rating, Org]:
    """A rating of my own branch, in any state: the member pages show a draft's
    self-assessments and ballot (never its scores); NotFound for anything else."""
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or actor.member_id is None \
            or org.id != actor.member_org_id:
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    return rating, org


def branch_ratings(session: Session, actor: Actor) -> list[Rating]:
    """My branch's ratings, newest year first."""
    if actor.member_org_id is None:
        return []
    return list(session.exec(select(Rating).where(Rating.org_id == actor.member_org_id)
                             .order_by(col(Rating.year).desc())).all())


@dataclass(frozen=True)
class BallotLine:
    """A graded member on my ballot, with their self-assessment a tap away."""

    member_id: int
    name: str
    self_assessment: str | None


def ballot_lines(session: Session, rating_id: int, voter_id: int | None) -> list[BallotLine]:
    """The graded lines other than the voter's own, in line order."""
    texts = dict(session.exec(select(SelfAssessment.member_id, SelfAssessment.text).where(
        SelfAssessment.rating_id == rating_id)).all())
    return [BallotLine(i.member_id, i.name, texts.get(i.member_id))
            for i in rating_items(session, rating_id)
            if graded(i) and i.member_id != voter_id]


def may_vote_now(rating: Rating, voted: bool | None) -> bool:
    """A voter who has not voted, while the ballot is open and not full."""
    return rating.status == RatingStatus.draft and rating.ballot == BallotStatus.open \
        and voted is False and ballots_left(rating.voters, rating.cast_online,
                                            rating.cast_paper)


@dataclass(frozen=True)
class MyBallot:
    rating: Rating
    voter: bool
    voted: bool
    lines: list[BallotLine]


def my_ballot(session: Session, actor: Actor, rating_id: int) -> MyBallot:
    """My ballot on my branch's rating, in any state: the lines only while I may vote."""
    rating, _org = branch_rating(session, actor, rating_id)
    voted = has_voted(session, rating_id, actor.member_id)
    may_vote = may_vote_now(rating, voted)
    lines = ballot_lines(session, rating_id, actor.member_id) if may_vote else []
    return MyBallot(rating, voter=voted is not None, voted=voted is True, lines=lines)


def my_line(session: Session, rating_id: int, member_id: int | None) -> RatingItem | None:
    if member_id is None:
        return None
    return session.exec(select(RatingItem).where(RatingItem.rating_id == rating_id,
                                                 RatingItem.member_id == member_id)).first()


@dataclass(frozen=True)
class RatingTask:
    """What my branch's unfinished rating asks of me, for my home page."""

    rating_id: int
    year: int
    status: str
    task: str  # vote, self_assessment, notice, waiting


# Built once, with bound parameters: the member's score page runs it on every look.
_MINE: sa.BindParameter[int] = sa.bindparam("member")
_RATING_TASK = (
    sa.select(col(Rating.id), col(Rating.year), col(Rating.status), col(Rating.ballot),
              col(RatingVoter.voted), col(RatingItem.exempt), col(SelfAssessment.id),
              col(Rating.voters), col(Rating.cast_online), col(Rating.cast_paper))
    .outerjoin(RatingVoter, sa.and_(col(RatingVoter.rating_id) == Rating.id,
                                    col(RatingVoter.member_id) == _MINE))
    .outerjoin(RatingItem, sa.and_(col(RatingItem.rating_id) == Rating.id,
                                   col(RatingItem.member_id) == _MINE))
    .outerjoin(SelfAssessment, sa.and_(col(SelfAssessment.rating_id) == Rating.id,
                                       col(SelfAssessment.member_id) == _MINE))
    .where(col(Rating.org_id) == sa.bindparam("org"),
           col(Rating.status) != RatingStatus.approved)
    .order_by(col(Rating.year).desc()).limit(1))


# The statement as a derived table (:member, :org): the member's page reads it beside its
# other small reads (member_view.home_facts), outer-joined so that no rating still gives
# their row.
RATING_TASK = _RATING_TASK.subquery("rating_task")


def task_of(row: Sequence[Any] | None) -> RatingTask | None:
    """My branch's newest rating not yet approved, and what it asks of me now, from a row
    of RATING_TASK (None: no rating under way)."""
    if row is None or row[0] is None:
        return None
    rating_id, year, status, ballot, voted, exempt, written, voters, online, paper = row
    task = "waiting"
    if status == RatingStatus.published:
        task = "notice"
    elif status == RatingStatus.draft and ballot == BallotStatus.open and voted is False \
            and ballots_left(voters, online, paper):
        task = "vote"
    elif status == RatingStatus.draft and exempt is False and written is None:
        task = "self_assessment"
    return RatingTask(rating_id, year, status, task)


# --- the level above ---------------------------------------------------------------------


def approves_any(session: Session, actor: Actor) -> bool:
    """Admin, or on the committee of a 党委 (which approves its branches' ratings)."""
    if actor.is_admin:
        return True
    if not actor.committee_org_ids:
        return False
    return session.exec(select(Org.id).where(col(Org.id).in_(actor.committee_org_ids),
                                             Org.kind == OrgKind.committee)).first() is not None


@dataclass(frozen=True)
class AwaitingApproval:
    rating: Rating
    branch: Org
    parent_name: str | None
    lines: int
    graded: int
    own: bool  # the actor published or submitted it: another member decides


def awaiting_approval(session: Session, actor: Actor) -> list[AwaitingApproval]:
    """Submitted ratings the actor decides on (the nearest 党委 above the branch, or an
    administrator), in tree order and then by year: never by any score."""
    rows = session.exec(select(Rating, Org).join(Org, col(Org.id) == Rating.org_id).where(
        Rating.status == RatingStatus.submitted, managed_org_filter(actor))
        .order_by(tree_order(session), col(Rating.year))).all()
    if not rows:
        return []
    ancestor_ids = {int(p) for _r, org in rows for p in org.path.strip("/").split("/") if p}
    above = {o.id: o for o in session.exec(select(Org).where(
        col(Org.id).in_(ancestor_ids))).all()}
    counts: dict[int, tuple[int, int]] = {}
    for rating_id, standing, exempt in session.execute(
            sa.select(col(RatingItem.rating_id), col(RatingItem.standing),
                      col(RatingItem.exempt))
            .where(col(RatingItem.rating_id).in_([r.id for r, _o in rows]))):
        lines, grade_lines = counts.get(rating_id, (0, 0))
        is_graded = standing == Standing.full and not exempt  # appraisal.graded
        counts[rating_id] = (lines + 1, grade_lines + int(is_graded))
    waiting = []
    for rating, org in rows:
        ancestors = [int(p) for p in org.path.strip("/").split("/")[:-1] if p]
        nearest = next((a for a in reversed(ancestors)
                        if a in above and above[a].kind == OrgKind.committee), None)
        if not (actor.is_admin or nearest in actor.committee_org_ids):
            continue
        parent = above.get(org.parent_id) if org.parent_id else None
        lines, grade_lines = counts.get(rating.id or 0, (0, 0))
        waiting.append(AwaitingApproval(
            rating=rating, branch=org, parent_name=parent.name if parent else None,
            lines=lines, graded=grade_lines,
            own=actor.account_id in (rating.published_by, rating.submitted_by)))
    return waiting

