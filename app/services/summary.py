"""The year in an organisation for the level above, as raw counts per branch: members,
entries by state, the quarters' reviews, the rating and its grades and stars.

Counts, never a ranking: the branches come in tree order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.models import (
    Entry,
    EntryStatus,
    Member,
    Org,
    OrgKind,
    Rating,
    RatingItem,
    Review,
    ReviewStatus,
)
from app.services.access import Actor, get_org, managed_org_filter
from app.services.errors import Forbidden
from app.services.tree import tree_order


@dataclass(frozen=True)
class YearSummary:
    org: Org
    branches: list[Org]                     # tree order
    parents: dict[int, str]                 # a branch's parent's name, by the parent's id
    members: dict[int, int]                 # by branch
    entries: dict[tuple[int, EntryStatus], int]        # by (branch, entry state)
    quarters: dict[tuple[int, int], ReviewStatus]      # by (branch, quarter)
    ratings: dict[int, Rating]              # by branch
    grades: dict[int, Counter[str]]         # members per grade, by branch
    stars: dict[int, Counter[int]]          # members per number of stars, by branch


def branch_filter(actor: Actor, org: Org) -> tuple[sa.ColumnElement[bool], ...]:
    """The branches in `org` (itself, if a branch) that the caller manages."""
    return (col(Org.kind) == OrgKind.branch, managed_org_filter(actor),
            col(Org.path).startswith(org.path, autoescape=True))


def summary_branches(session: Session, actor: Actor, org_id: int) -> tuple[Org, list[Org]]:
    """The organisation (404 outside the caller's view) and the branches in it the caller
    manages, in tree order: a party secretary gets the subtree, a branch committee its own
    branch, an administrator all; someone who manages none of them is refused (403)."""
    org = get_org(session, actor, org_id)
    branches = list(session.exec(select(Org).where(*branch_filter(actor, org))
                                 .order_by(tree_order(session))).all())
    require_some(actor, org, bool(branches))
    return org, branches


def require_some(actor: Actor, org: Org, manages_a_branch: bool) -> None:
    """A summary of `org` is for its committees and those of a branch in it (403 else)."""
    if not manages_a_branch and not actor.manages(org):
        raise Forbidden(f"Only the committees of {org.name} or of a branch in it (or an "
                        "administrator) may see or export its summary.", "committee_only")


def year_summary(session: Session, actor: Actor, org_id: int, year: int) -> YearSummary:
    """The counts of every branch the caller manages in the organisation."""
    org, branches = summary_branches(session, actor, org_id)
    # The branches again as a subquery: a city's thousands of ids are no bound list.
    ids = sa.select(col(Org.id)).where(*branch_filter(actor, org))
    parents = {id_: name for id_, name in session.exec(select(Org.id, Org.name).where(
        col(Org.id).in_({b.parent_id for b in branches if b.parent_id}))).all()
        if id_ is not None}
    members = {org_id_: int(count) for org_id_, count in session.exec(
        select(col(Member.org_id), func.count()).select_from(Member)
        .where(col(Member.org_id).in_(ids)).group_by(col(Member.org_id))).all()}
    entries = {(org_id_, status): int(count) for org_id_, status, count in session.exec(
        select(col(Entry.org_id), col(Entry.status), func.count()).select_from(Entry)
        .where(col(Entry.org_id).in_(ids), Entry.year == year)
        .group_by(col(Entry.org_id), col(Entry.status))).all()}
    quarters = {(r.org_id, r.quarter): r.status for r in session.exec(
        select(Review).where(col(Review.org_id).in_(ids), Review.year == year)).all()}
    rated = {r.org_id: r for r in session.exec(
        select(Rating).where(col(Rating.org_id).in_(ids), Rating.year == year)).all()}
    grades: dict[int, Counter[str]] = defaultdict(Counter)
    star_counts: dict[int, Counter[int]] = defaultdict(Counter)
    for org_id_, grade, stars_, count in session.exec(
            select(col(Rating.org_id), col(RatingItem.grade), col(RatingItem.stars),
                   func.count())
            .join(Rating, col(Rating.id) == RatingItem.rating_id)
            .where(col(Rating.org_id).in_(ids), Rating.year == year)
            .group_by(col(Rating.org_id), col(RatingItem.grade), col(RatingItem.stars))).all():
        grades[org_id_][grade] += count
        star_counts[org_id_][stars_] += count
    return YearSummary(org=org, branches=branches, parents=parents, members=members,
                       entries=entries, quarters=quarters, ratings=rated, grades=grades,
                       stars=star_counts)
