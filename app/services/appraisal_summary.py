"""The year's annual appraisal in an organisation, for the level above (appraisal.md §3, 汇总):
per branch, the rating's state, its lines (members, graded, exempt, probationary), the
ballot's turnout, the grades given, the excellent limit and the open objections; and the
totals.

Counts, never a ranking: the branches come in the organisation tree's order (their paths),
whatever their scores or names. Five statements whatever the organisation's size: the
organisation, the year's rule set, the branches with their ratings, the rating lines
counted by rating and grade (the one aggregate the level above cannot do without), and the
open objections counted by rating.
No ballot choice is read: the tally stays with the branch's rating sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
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
)
from app.points import Grade, excellent_limit
from app.services.access import Actor, get_org, managed_org_filter
from app.services.appraisal import BALLOT_GRADES
from app.services.errors import Forbidden
from app.services.rules import load_rule_set
from app.services.summary import branch_filter
from app.services.tree import tree_order

# The grades a graded line can have, in the order every table shows them.
GRADES = BALLOT_GRADES  # the four grades, as the ballot and the committee give them
GRADE_KEYS = tuple(g.value for g in GRADES)
NOT_RATED = "not_rated"
# A branch's rating state in the totals: not rated yet, or the rating's status.
STATES = (NOT_RATED, *(s.value for s in RatingStatus))


def turnout(cast: int, voters: int | None) -> float | None:
    """Ballots cast over voters, 4 places; None where no ballot was opened."""
    return None if not voters else round(cast / voters, 4)


@dataclass(slots=True)
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


@dataclass(frozen=True)
class AppraisalTotals:
    """The sums over the branches; the ballots and the turnout over those whose ballot was
    opened."""

    branches: int
    statuses: dict[str, int]
    members: int
    graded: int
    exempt: int
    probationary: int
    voters: int
    cast_online: int
    cast_paper: int
    grades: dict[str, int]
    excellent_limit: int
    open_objections: int

    @property
    def rated(self) -> int:
        return self.branches - self.statuses[NOT_RATED]

    @property
    def turnout(self) -> float | None:
        return turnout(self.cast_online + self.cast_paper, self.voters)


@dataclass(frozen=True)
class AppraisalSummary:
    org: Org
    year: int
    branches: list[BranchAppraisal]  # tree order
    totals: AppraisalTotals


def _branches(session: Session, actor: Actor, org: Org, year: int) -> sa.Select[Any]:
    """The branches in scope in tree order, each with its parent's name and its rating."""
    parent = Org.__table__.alias("parent")  # type: ignore[attr-defined]
    return (sa.select(col(Org.id), col(Org.name), parent.c.name, col(Rating.id),
                      col(Rating.status), col(Rating.ballot), col(Rating.voters),
                      col(Rating.cast_online), col(Rating.cast_paper))
            .select_from(Org)
            .outerjoin(parent, parent.c.id == Org.parent_id)
            .outerjoin(Rating, sa.and_(col(Rating.org_id) == Org.id, col(Rating.year) == year))
            .where(*branch_filter(actor, org))
            .order_by(tree_order(session)))


# Where a line of each grade is counted: [members, graded, exempt, probationary, then the
# four grades]. A line's grade says whether it is graded: exempt and probationary lines
# have the grade `exempt` or `probationary` and keep it (appraisal.md §1; app.points
# check_override refuses to change it, and `jifen check` verifies the exempt ones).
_SLOTS = {Grade.exempt.value: (0, 2), Grade.probationary.value: (0, 3),
          **{g: (0, 1, 4 + i) for i, g in enumerate(GRADE_KEYS)}}


def _lines(session: Session, ratings: sa.Select[Any]) -> dict[int, list[int]]:
    """(members, graded, exempt, probationary, then the graded lines per grade) by rating:
    the ratings' rating_item rows counted by rating and grade, one grouped pass."""
    lines: dict[int, list[int]] = {}
    for rating_id, grade, count in core(session, sa.select(
            col(RatingItem.rating_id), col(RatingItem.grade), sa.func.count())
            .where(col(RatingItem.rating_id).in_(ratings))
            .group_by(col(RatingItem.rating_id), col(RatingItem.grade))).all():
        counted = lines.get(rating_id)
        if counted is None:
            counted = lines[rating_id] = [0] * (4 + len(GRADE_KEYS))
        for slot in _SLOTS.get(grade, (0,)):
            counted[slot] += count
    return lines


def _open_objections(session: Session, ratings: sa.Select[Any]) -> dict[int, int]:
    return {rating_id: int(count) for rating_id, count in core(session, sa.select(
        col(Objection.rating_id), sa.func.count())
        .where(col(Objection.rating_id).in_(ratings),
               col(Objection.status) == ObjectionStatus.open)
        .group_by(col(Objection.rating_id))).all()}


_NO_LINES = [0] * (4 + len(GRADE_KEYS))


def appraisal_summary(session: Session, actor: Actor, org_id: int, year: int,
                      now: datetime) -> AppraisalSummary:
    """The year's appraisal of every branch in the organisation: for a committee of the
    organisation or above and administrators (appraisal.md §4; a branch's committee reads
    its own branch's). 404 for an organisation outside the caller's view, 403 for one they
    can see but do not manage."""
    org = get_org(session, actor, org_id)
    if not actor.manages(org):  # a branch's committee reads its own, not the 党委's
        raise Forbidden(f"Only the committees of {org.name} or above (or an administrator) "
                        "may see or export its appraisal summary.", "committee_only")
    rows = core(session, _branches(session, actor, org, year)).all()
    ratings = (sa.select(col(Rating.id)).where(
        col(Rating.year) == year,
        col(Rating.org_id).in_(sa.select(col(Org.id)).where(*branch_filter(actor, org)))))
    lines = _lines(session, ratings)
    objections = _open_objections(session, ratings)
    params = load_rule_set(session, year, now).params
    branches: list[BranchAppraisal] = []
    statuses = dict.fromkeys(STATES, 0)
    rated: list[list[int]] = []
    voters = online = paper = limits = open_ = 0
    for (branch_id, name, parent_name, rating_id, status, ballot, voters_, online_, paper_,
         ) in rows:
        if rating_id is None:
            statuses[NOT_RATED] += 1
            branches.append(BranchAppraisal(branch_id, name, parent_name))
            continue
        statuses[status] += 1
        counted = lines.get(rating_id, _NO_LINES)
        rated.append(counted)
        members, graded, exempt, probationary = counted[:4]
        limit = excellent_limit(graded, params)
        limits += limit
        open_ += (objected := objections.get(rating_id, 0))
        if ballot == BallotStatus.none:
            voters_ = None  # a ballot never opened has no voters and no ballots
        else:
            voters, online, paper = voters + voters_, online + online_, paper + paper_
        branches.append(BranchAppraisal(
            branch_id, name, parent_name, rating_id, status, ballot, members, graded, exempt,
            probationary, voters_, online_, paper_,
            dict(zip(GRADE_KEYS, counted[4:], strict=True)), limit, objected))
    sums = [sum(column) for column in zip(*rated, strict=True)] if rated else _NO_LINES
    totals = AppraisalTotals(
        len(branches), statuses, sums[0], sums[1], sums[2], sums[3], voters, online, paper,
        dict(zip(GRADE_KEYS, sums[4:], strict=True)), limits, open_)
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
                             .order_by(tree_order(session))).all())
