"""The year's annual appraisal in an organisation, for the level above (appraisal.md §3, 汇总):
per branch, the rating's state, its lines (members, graded, exempt, probationary), the
ballot's turnout, the grades given, the excellent limit and the open objections; and the
totals.

Counts, never a ranking: the branches come in the organisation tree's order (their paths),
whatever their scores or names. Three grouped statements whatever the organisation's size:
the branches with their ratings, the rating lines counted by (rating, grade, standing,
exemption), and the open objections counted by rating. No ballot choice is read: the
tally stays with the branch's rating sheet.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import core
from app.models import (
    BallotStatus,
    Objection,
    ObjectionStatus,
    Org,
    OrgKind,
    Rating,
    RatingItem,
    RatingStatus,
    Standing,
)
from app.points import Grade, excellent_limit
from app.services.access import Actor, get_org, managed_org_filter
from app.services.rules import load_rule_set
from app.services.summary import branch_filter, require_some

# The grades a graded line can have, in the order every table shows them.
GRADES = (Grade.excellent, Grade.qualified, Grade.basically_qualified, Grade.unqualified)
NOT_RATED = "not_rated"
# A branch's rating state in the totals: not rated yet, or the rating's status.
STATES = (NOT_RATED, *(s.value for s in RatingStatus))


def _no_grades() -> dict[str, int]:
    return {g.value: 0 for g in GRADES}


def turnout(cast: int, voters: int | None) -> float | None:
    """Ballots cast over voters, 4 places; None where no ballot was opened."""
    return None if not voters else round(cast / voters, 4)


@dataclass(frozen=True)
class BranchAppraisal:
    """One branch's year. Everything about the rating is None while it has none."""

    org_id: int
    name: str
    parent_name: str | None
    rating_id: int | None = None
    status: RatingStatus | None = None
    ballot: BallotStatus | None = None
    members: int | None = None
    graded: int | None = None
    exempt: int | None = None
    probationary: int | None = None
    voters: int | None = None          # None until the ballot opens
    cast_online: int | None = None
    cast_paper: int | None = None
    grades: dict[str, int] | None = None
    excellent_limit: int | None = None
    open_objections: int | None = None

    @property
    def cast(self) -> int | None:
        if self.cast_online is None or self.cast_paper is None:
            return None
        return self.cast_online + self.cast_paper

    @property
    def turnout(self) -> float | None:
        return turnout(self.cast or 0, self.voters)


@dataclass
class AppraisalTotals:
    """The sums over the branches; the turnout over those whose ballot was opened."""

    branches: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    members: int = 0
    graded: int = 0
    exempt: int = 0
    probationary: int = 0
    voters: int = 0
    cast_online: int = 0
    cast_paper: int = 0
    grades: dict[str, int] = field(default_factory=_no_grades)
    excellent_limit: int = 0
    open_objections: int = 0

    @property
    def rated(self) -> int:
        return self.branches - self.statuses[NOT_RATED]

    @property
    def turnout(self) -> float | None:
        return turnout(self.cast_online + self.cast_paper, self.voters)

    def add(self, branch: BranchAppraisal) -> None:
        self.branches += 1
        self.statuses[branch.status.value if branch.status else NOT_RATED] += 1
        for name in ("members", "graded", "exempt", "probationary", "excellent_limit",
                     "open_objections"):
            setattr(self, name, getattr(self, name) + (getattr(branch, name) or 0))
        if branch.voters is not None:  # the ballots of a ballot never opened are none
            self.voters += branch.voters
            self.cast_online += branch.cast_online or 0
            self.cast_paper += branch.cast_paper or 0
        for grade, count in (branch.grades or {}).items():
            self.grades[grade] += count


@dataclass(frozen=True)
class AppraisalSummary:
    org: Org
    year: int
    branches: list[BranchAppraisal]  # tree order
    totals: AppraisalTotals


@dataclass
class _Lines:
    members: int = 0
    graded: int = 0
    exempt: int = 0
    probationary: int = 0
    grades: dict[str, int] = field(default_factory=_no_grades)


def _branches(actor: Actor, org: Org, year: int) -> sa.Select[Any]:
    """The branches in scope in tree order, each with its parent's name and its rating."""
    parent = Org.__table__.alias("parent")  # type: ignore[attr-defined]
    return (sa.select(col(Org.id), col(Org.name), parent.c.name, col(Rating.id),
                      col(Rating.status), col(Rating.ballot), col(Rating.voters),
                      col(Rating.cast_online), col(Rating.cast_paper))
            .select_from(Org)
            .outerjoin(parent, parent.c.id == Org.parent_id)
            .outerjoin(Rating, sa.and_(col(Rating.org_id) == Org.id, col(Rating.year) == year))
            .where(*branch_filter(actor, org))
            .order_by(col(Org.path)))


def _lines(session: Session, ratings: sa.Select[Any]) -> dict[int, _Lines]:
    """The ratings' lines counted by rating: one grouped pass over their rating_item rows."""
    lines: dict[int, _Lines] = defaultdict(_Lines)
    for rating_id, grade, standing, exempt, count in core(session, sa.select(
            col(RatingItem.rating_id), col(RatingItem.grade), col(RatingItem.standing),
            col(RatingItem.exempt), sa.func.count())
            .where(col(RatingItem.rating_id).in_(ratings))
            .group_by(col(RatingItem.rating_id), col(RatingItem.grade),
                      col(RatingItem.standing), col(RatingItem.exempt))):
        counted = lines[rating_id]
        counted.members += count
        if exempt:  # an exempt line is exempt whatever its standing (appraisal.md §1)
            counted.exempt += count
        elif standing == Standing.probationary:
            counted.probationary += count
        else:
            counted.graded += count
            if grade in counted.grades:
                counted.grades[grade] += count
    return lines


def _open_objections(session: Session, ratings: sa.Select[Any]) -> dict[int, int]:
    return {rating_id: int(count) for rating_id, count in core(session, sa.select(
        col(Objection.rating_id), sa.func.count())
        .where(col(Objection.rating_id).in_(ratings),
               col(Objection.status) == ObjectionStatus.open)
        .group_by(col(Objection.rating_id)))}


def appraisal_summary(session: Session, actor: Actor, org_id: int, year: int,
                      now: datetime) -> AppraisalSummary:
    """The year's appraisal of every branch in the organisation that the caller manages: a
    committee of the organisation or above and administrators get every branch, a branch's
    committee its own (404 for an organisation outside the caller's view, 403 for one
    where they manage nothing)."""
    org = get_org(session, actor, org_id)
    rows = core(session, _branches(actor, org, year)).all()
    require_some(actor, org, bool(rows))
    ratings = (sa.select(col(Rating.id)).where(
        col(Rating.year) == year,
        col(Rating.org_id).in_(sa.select(col(Org.id)).where(*branch_filter(actor, org)))))
    lines = _lines(session, ratings)
    objections = _open_objections(session, ratings)
    params = load_rule_set(session, year, now).params
    branches: list[BranchAppraisal] = []
    totals = AppraisalTotals()
    for (branch_id, name, parent_name, rating_id, status, ballot, voters, online,
         paper) in rows:
        if rating_id is None:
            branch = BranchAppraisal(branch_id, name, parent_name)
        else:
            counted = lines.get(rating_id, _Lines())
            branch = BranchAppraisal(
                branch_id, name, parent_name, rating_id=rating_id, status=status,
                ballot=ballot, members=counted.members, graded=counted.graded,
                exempt=counted.exempt, probationary=counted.probationary,
                voters=voters if ballot != BallotStatus.none else None,
                cast_online=online, cast_paper=paper, grades=counted.grades,
                excellent_limit=excellent_limit(counted.graded, params),
                open_objections=objections.get(rating_id, 0))
        branches.append(branch)
        totals.add(branch)
    return AppraisalSummary(org=org, year=year, branches=branches, totals=totals)


def summary_orgs(session: Session, actor: Actor) -> list[Org]:
    """The 党委 and 总支 whose summary the caller reads as the level above: those they are
    on the committee of; for an administrator, the top of each tree."""
    if actor.is_admin:
        where = col(Org.parent_id).is_(None)
    elif actor.committee_org_ids:
        where = col(Org.id).in_(actor.committee_org_ids)
    else:
        return []
    return list(session.exec(select(Org).where(where, col(Org.kind) != OrgKind.branch,
                                               managed_org_filter(actor))
                             .order_by(col(Org.path))).all())
