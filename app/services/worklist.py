"""What waits for a committee member: read-only views over the branches they manage."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from app.models import (
    Entry,
    EntryStatus,
    Member,
    Objection,
    Org,
    OrgKind,
    Rating,
    RatingStatus,
    Review,
    ReviewStatus,
    Standing,
)
from app.points import QUARTERS, RuleSet, quarter_start
from app.services.access import Actor, managed_org_filter
from app.services.entries import resubmitted_as, resubmitted_entries
from app.services.rules import load_rule_set
from app.services.scoring import member_year_score, recorded_review_scores, year_scores
from app.services.standing import active_exemptions
from app.services.tree import tree_order


@dataclass(frozen=True)
class QuarterState:
    quarter: int
    started: bool
    review_id: int | None = None
    status: str | None = None
    notice_until: datetime | None = None


@dataclass(frozen=True)
class RatingState:
    year: int
    rating_id: int | None = None
    status: str | None = None


@dataclass(frozen=True)
class BranchWork:
    """One branch on the committee's home page."""

    org: Org
    parent_name: str | None
    members: int
    pending: int  # entries this actor may decide (not about themself)
    pending_own: int  # entries about the actor, waiting for another committee member
    quarters: tuple[QuarterState, ...]
    rating: RatingState
    unfinalized: tuple[int, ...]  # quarters of the year not yet finalized
    previous_rating: RatingState | None  # last year's, when it still needs work


@dataclass(frozen=True)
class EntryView:
    """An entry with what a person needs to judge it."""

    entry: Entry
    member_name: str
    org_id: int
    org_name: str
    item_name: str
    locked: bool  # its quarter is finalized for the member's branch
    # A resubmission: the rejected entry it corrects (with its reason); a rejected entry:
    # the entry that corrects it (issue 17).
    resubmits: Entry | None = None
    resubmitted_by: Entry | None = None


@dataclass(frozen=True)
class RosterLine:
    member: Member
    score: int
    vetoed: bool
    pending: int
    exempt: bool = False  # for the year


def managed_branches(session: Session, actor: Actor) -> list[Org]:
    """Every branch the actor manages, in tree order."""
    return list(session.exec(
        select(Org).where(managed_org_filter(actor), Org.kind == OrgKind.branch)
        .order_by(tree_order(session))
    ).all())


def _pending_by_org(session: Session, actor: Actor, org_ids: list[int],
                    own: bool) -> dict[int, int]:
    query = (
        select(col(Member.org_id), func.count(col(Entry.id)))
        .join(Member, col(Member.id) == Entry.member_id)
        .where(col(Member.org_id).in_(org_ids), Entry.status == EntryStatus.pending)
    )
    if actor.member_id is not None:
        query = query.where((col(Entry.member_id) == actor.member_id) if own
                            else (col(Entry.member_id) != actor.member_id))
    elif own:
        return {}
    rows = session.exec(query.group_by(col(Member.org_id))).all()
    return {org_id: int(count) for org_id, count in rows}


def branch_worklist(session: Session, actor: Actor, year: int, today: date) -> list[BranchWork]:
    """The branches in scope with pending entries, the year's reviews and the rating."""
    branches = managed_branches(session, actor)
    ids = [b.id for b in branches if b.id is not None]
    if not ids:
        return []
    parents = {o.id: o.name for o in session.exec(select(Org).where(
        col(Org.id).in_({b.parent_id for b in branches if b.parent_id}))).all()}
    # The members who have not left: the branch's membership (appraisal.md §1).
    members = dict(session.exec(
        select(col(Member.org_id), func.count(col(Member.id)))
        .where(col(Member.org_id).in_(ids), Member.standing != Standing.left)
        .group_by(col(Member.org_id))).all())
    pending = _pending_by_org(session, actor, ids, own=False)
    pending_own = _pending_by_org(session, actor, ids, own=True)
    reviews: dict[tuple[int, int], Review] = {
        (r.org_id, r.quarter): r for r in session.exec(select(Review).where(
            col(Review.org_id).in_(ids), Review.year == year)).all()}
    ratings: dict[tuple[int, int], Rating] = {
        (r.org_id, r.year): r for r in session.exec(select(Rating).where(
            col(Rating.org_id).in_(ids), col(Rating.year).in_((year, year - 1)))).all()}
    reviewed_last_year = set(session.exec(select(Review.org_id).where(
        col(Review.org_id).in_(ids), Review.year == year - 1)).all())
    work = []
    for branch in branches:
        org_id = branch.id or 0
        quarters = []
        for q in QUARTERS:
            review = reviews.get((org_id, q))
            quarters.append(QuarterState(
                quarter=q, started=quarter_start(year, q) <= today,
                review_id=review.id if review else None,
                status=review.status if review else None,
                notice_until=review.notice_until if review else None))
        rating = ratings.get((org_id, year))
        previous = ratings.get((org_id, year - 1))
        previous_state = None
        if org_id in reviewed_last_year and (
                previous is None or previous.status != RatingStatus.approved):
            previous_state = RatingState(year - 1, previous.id if previous else None,
                                         previous.status if previous else None)
        work.append(BranchWork(
            org=branch,
            parent_name=parents.get(branch.parent_id) if branch.parent_id else None,
            members=int(members.get(org_id, 0)),
            pending=pending.get(org_id, 0),
            pending_own=pending_own.get(org_id, 0),
            quarters=tuple(quarters),
            rating=RatingState(year, rating.id if rating else None,
                               rating.status if rating else None),
            unfinalized=tuple(q.quarter for q in quarters if q.status != ReviewStatus.finalized),
            previous_rating=previous_state,
        ))
    return work


def unfinalized_quarters(session: Session, org_id: int, year: int) -> list[int]:
    """Quarters of the year not yet finalized for the branch (a rating needs none)."""
    finalized = set(session.exec(select(Review.quarter).where(
        Review.org_id == org_id, Review.year == year,
        Review.status == ReviewStatus.finalized)).all())
    return [q for q in QUARTERS if q not in finalized]


def entry_views(session: Session, rows: list[Entry], now: datetime) -> list[EntryView]:
    """Names of the member, branch and rule item, and the lock, for each entry."""
    if not rows:
        return []
    members = {m.id: m for m in session.exec(select(Member).where(
        col(Member.id).in_({e.member_id for e in rows}))).all()}
    orgs = {o.id: o for o in session.exec(select(Org).where(
        col(Org.id).in_({m.org_id for m in members.values()}))).all()}
    rules: dict[int, RuleSet] = {y: load_rule_set(session, y, now)
                                 for y in {e.year for e in rows}}
    finalized = set(session.exec(
        select(col(Review.org_id), col(Review.year), col(Review.quarter)).where(
            col(Review.org_id).in_(orgs.keys()), col(Review.year).in_(rules.keys()),
            Review.status == ReviewStatus.finalized)).all())
    originals = resubmitted_entries(session, rows)
    again = resubmitted_as(session, [e.id or 0 for e in rows
                                     if e.status == EntryStatus.rejected])
    views = []
    for entry in rows:
        member = members[entry.member_id]
        item = rules[entry.year].item(entry.rule_code)
        views.append(EntryView(
            entry=entry, member_name=member.name, org_id=member.org_id,
            org_name=orgs[member.org_id].name if member.org_id in orgs else "",
            item_name=item.name if item else entry.rule_code,
            locked=(member.org_id, entry.year, entry.quarter) in finalized,
            resubmits=originals.get(entry.resubmits_id or 0),
            resubmitted_by=again.get(entry.id or 0)))
    return views


def scope_members(session: Session, actor: Actor) -> list[tuple[Org, list[Member]]]:
    """Members of every managed branch, grouped by branch, for a picker."""
    branches = managed_branches(session, actor)
    by_org: dict[int, list[Member]] = defaultdict(list)
    for member in session.exec(select(Member).where(
            col(Member.org_id).in_([b.id for b in branches])).order_by(col(Member.id))).all():
        by_org[member.org_id].append(member)
    return [(b, by_org[b.id or 0]) for b in branches if by_org.get(b.id or 0)]


def roster(session: Session, actor: Actor, org: Org, year: int,
           now: datetime) -> list[RosterLine]:
    """A branch's members with their provisional score of the year and pending entries."""
    members = list(session.exec(select(Member).where(Member.org_id == org.id)
                                .order_by(col(Member.id))).all())
    ids = [m.id for m in members if m.id is not None]
    rules = load_rule_set(session, year, now)
    scores = year_scores(session, rules, ids, recorded_review_scores(session, ids, year))
    pending = dict(session.exec(
        select(col(Entry.member_id), func.count(col(Entry.id)))
        .where(col(Entry.member_id).in_(ids), Entry.status == EntryStatus.pending)
        .group_by(col(Entry.member_id))).all())
    exempt = active_exemptions(session, ids, year)
    return [RosterLine(m, scores[m.id or 0].annual, scores[m.id or 0].vetoed,
                       int(pending.get(m.id or 0, 0)), (m.id or 0) in exempt) for m in members]


def member_score(session: Session, member_id: int, year: int, now: datetime) -> tuple[int, bool]:
    """The member's provisional score of the year so far, and whether they are vetoed."""
    score = member_year_score(session, load_rule_set(session, year, now), member_id)
    return score.annual, score.vetoed


def objection_names(session: Session, objections: list[Objection]) -> dict[int, str]:
    """Names of the members who raised these objections."""
    if not objections:
        return {}
    rows = session.exec(select(Member.id, Member.name).where(
        col(Member.id).in_({o.member_id for o in objections}))).all()
    return {member_id: name for member_id, name in rows if member_id is not None}
