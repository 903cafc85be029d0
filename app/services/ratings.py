"""Annual rating 评星定级: draft → approved (docs/scoring.md, Stars, Grades, Workflow 4)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import bulk_insert, core
from app.models import (
    PUBLIC_RATING_STATES,
    ExemptionStatus,
    Member,
    MemberExemption,
    Org,
    OrgKind,
    Rating,
    RatingItem,
    RatingStatus,
    Review,
    ReviewStatus,
    Standing,
)
from app.points import (
    Candidate,
    Grade,
    OverrideRefused,
    RuleSet,
    check_override,
    excellent_limit,
    propose_grades,
    score_annual,
    stars,
)
from app.services import audit, stamps
from app.services.access import (
    Actor,
    get_managed_org,
    get_org,
    managed_org_filter,
    require_branch_committee,
)
from app.services.errors import Invalid, NotFound, WorkflowConflict
from app.services.locking import Precondition, lock_branch, lock_branches
from app.services.paging import Feed, Listing, page
from app.services.rules import ensure_rule_set, load_rule_set
from app.services.scoring import (
    STREAM_ROWS,
    annual_totals_by_branch,
    finalized_review_scores_by_branch,
)
from app.services.sync import SyncRead
from app.services.text import says_nothing

# Rating lines written together when a town or city rates all its branches: a few thousand
# lines in memory at a time, whatever the size of the whole.
LINES_PER_WRITE = 5000


@dataclass(frozen=True)
class Skipped:
    """A branch a batch did not rate, and why (the code a single create would refuse with)."""

    org_id: int
    name: str
    code: str
    detail: str


@dataclass(frozen=True)
class RatingBatch:
    created: list[tuple[int, int]]  # (rating id, branch id)
    skipped: list[Skipped]


def create_rating(session: Session, actor: Actor, org_id: int, year: int,
                  now: datetime) -> Rating:
    """One branch's draft rating with proposed grades (all four quarters finalized)."""
    org = get_managed_org(session, actor, org_id)
    if org.kind != OrgKind.branch:
        raise Invalid(f"{org.name} is not a branch; annual ratings are made by branches.",
                      "not_a_branch")
    batch = _rate(session, actor, org, year, now)
    if batch.skipped:
        raise WorkflowConflict(batch.skipped[0].detail, batch.skipped[0].code)
    rating = session.get(Rating, batch.created[0][0])
    assert rating is not None
    return rating


def create_ratings(session: Session, actor: Actor, org_id: int, year: int,
                   now: datetime) -> RatingBatch:
    """Draft ratings for every branch in `org_id` (itself, if a branch) that is ready.

    Branches already rated, or with a quarter not yet finalized, are listed as skipped.
    The ratings are exactly those `create_rating` makes one at a time; each branch's
    committee then reviews, changes and approves its own.
    """
    return _rate(session, actor, get_managed_org(session, actor, org_id), year, now)


def _rate(session: Session, actor: Actor, org: Org, year: int, now: datetime) -> RatingBatch:
    branch_ids = sa.select(col(Org.id)).where(
        col(Org.kind) == OrgKind.branch, col(Org.path).startswith(org.path, autoescape=True))
    lock_branches(session, branch_ids)
    if session.get_bind().dialect.name == "postgresql":
        # For this transaction only. The streams below are read whole through server-side
        # cursors, which PostgreSQL otherwise plans for a quick first 10 % (index walks
        # per member: minutes at 1,000,000 members instead of one scan). Compiling the
        # aggregate to machine code took longer than it saved (0.35 s of 4.7 s at 100,000).
        session.execute(sa.text("SET LOCAL cursor_tuple_fraction = 1.0"))
        session.execute(sa.text("SET LOCAL jit = off"))
    rules = ensure_rule_set(session, year, now)
    existing = dict(session.execute(sa.select(col(Rating.org_id), col(Rating.id)).where(
        col(Rating.year) == year, col(Rating.org_id).in_(branch_ids))).all())
    finalized: dict[int, set[int]] = defaultdict(set)
    for branch_id, quarter in session.execute(sa.select(col(Review.org_id), col(Review.quarter))
                                              .where(col(Review.year) == year,
                                                     col(Review.status) == ReviewStatus.finalized,
                                                     col(Review.org_id).in_(branch_ids))):
        finalized[branch_id].add(quarter)
    ready: list[int] = []
    skipped: list[Skipped] = []
    branches = session.execute(sa.select(col(Org.id), col(Org.name)).where(
        col(Org.id).in_(branch_ids)).order_by(col(Org.id))).all()
    for branch_id, name in branches:
        missing = [q for q in (1, 2, 3, 4) if q not in finalized[branch_id]]
        if branch_id in existing:
            skipped.append(Skipped(branch_id, name, "rating_exists",
                                   f"{name} already has a {year} rating "
                                   f"(id {existing[branch_id]})."))
        elif missing:
            skipped.append(Skipped(
                branch_id, name, "quarters_not_finalized",
                "All four quarters must be finalized first; not yet: "
                f"{', '.join(f'Q{q}' for q in missing)}."))
        else:
            ready.append(branch_id)
    created = _rate_ready(session, actor, rules, branch_ids, set(ready), year, now) \
        if ready else []
    return RatingBatch(created, skipped)


T = TypeVar("T")


class _Stream(Generic[T]):
    """(branch id, value) pairs in branch id order, read forward one branch at a time."""

    def __init__(self, pairs: Iterator[tuple[int, T]], empty: T) -> None:
        self._pairs = pairs
        self._empty = empty
        self._next: tuple[int, T] | None = next(pairs, None)

    def take(self, branch_id: int) -> T:
        while self._next is not None and self._next[0] < branch_id:
            self._next = next(self._pairs, None)
        if self._next is not None and self._next[0] == branch_id:
            value = self._next[1]
            self._next = next(self._pairs, None)
            return value
        return self._empty


def _rate_ready(session: Session, actor: Actor, rules: RuleSet, branch_ids: sa.Select[Any],
                ready: set[int], year: int, now: datetime) -> list[tuple[int, int]]:
    """Rate the ready branches among `branch_ids`: one streamed pass over the year's
    entries, its review scores and the members, all in branch order, merged branch by
    branch; the lines written LINES_PER_WRITE at a time."""
    rating_ids = _insert_ratings(session, actor, branch_ids, ready, year, now)
    # Each line copies the member's standing and that year's exemption (appraisal.md §1);
    # a member who has left is not on it.
    exempt = sa.exists().where(col(MemberExemption.member_id) == Member.id,
                               col(MemberExemption.year) == year,
                               col(MemberExemption.status) == ExemptionStatus.active)
    members = core(session, sa.select(col(Member.org_id), col(Member.id), col(Member.name),
                                      exempt.label("exempt"), col(Member.standing))
                   .where(col(Member.org_id).in_(branch_ids),
                          col(Member.standing) != Standing.left)
                   .order_by(col(Member.org_id), col(Member.id))
                   .execution_options(stream_results=True, yield_per=STREAM_ROWS))
    totals = _Stream(annual_totals_by_branch(session, branch_ids, year), {})
    reviews = _Stream(finalized_review_scores_by_branch(session, branch_ids, year), {})
    lines: list[dict[str, object]] = []
    for branch_id, rows in groupby(members, key=itemgetter(0)):
        branch_totals, branch_reviews = totals.take(branch_id), reviews.take(branch_id)
        if branch_id not in ready:
            continue
        lines += _lines(rules, rows, branch_totals, branch_reviews, rating_ids[branch_id])
        if len(lines) >= LINES_PER_WRITE:
            bulk_insert(session, RatingItem.__table__, lines)  # type: ignore[attr-defined]
            lines = []
    bulk_insert(session, RatingItem.__table__, lines)  # type: ignore[attr-defined]
    return sorted(((rating_ids[b], b) for b in ready), key=itemgetter(1))


def _insert_ratings(session: Session, actor: Actor, branch_ids: sa.Select[Any],
                    ready: set[int], year: int, now: datetime) -> dict[int, int]:
    """Every ready branch's rating row and its audit row, before any line: the lines'
    foreign key checks then find a table of its final size (PostgreSQL plans them once per
    connection; planned against a handful of rows they scan the table for every line)."""
    stamped = stamps.stamp_for(session, Rating)  # a Core insert: no flush stamps it
    bulk_insert(session, Rating.__table__, [  # type: ignore[attr-defined]
        {"org_id": b, "year": year, "status": RatingStatus.draft, "created_by": actor.account_id,
         "created_at": now, "updated_at": stamped} for b in sorted(ready)])
    # One rating per branch and year (a unique key): the new ids in one query.
    rating_ids = {branch_id: rating_id for branch_id, rating_id in core(session, sa.select(
        col(Rating.org_id), col(Rating.id)).where(
        col(Rating.year) == year, col(Rating.org_id).in_(branch_ids))) if branch_id in ready}
    # What audit.snapshot(rating) gives, made once: only the ids differ between branches.
    after = audit.snapshot(Rating(id=0, org_id=0, year=year, created_by=actor.account_id,
                                  created_at=now))
    audit.record_many(session, [
        audit.Event(actor.account_id, "rating.create", "rating", rating_ids[b], now,
                    after=after | {"id": rating_ids[b], "org_id": b})
        for b in sorted(ready)])
    return rating_ids


def _lines(rules: RuleSet, members: Iterable[Any], totals: dict[int, list[Any]],
           reviews: dict[int, dict[int, int | None]], rating_id: int
           ) -> list[dict[str, object]]:
    """One branch's rating lines: scores, stars, proposed grades."""
    params = rules.params
    candidates, names = [], {}
    for _, member_id, name, exempt, standing in members:
        year_score = score_annual(rules, totals.get(member_id, ()), reviews.get(member_id, {}))
        names[member_id] = name
        candidates.append(Candidate(
            member_id=member_id, score=year_score.annual, vetoed=year_score.vetoed,
            exempt=bool(exempt), deducted=year_score.deducted,
            largest_deduction=year_score.largest_deduction,
            probationary=standing == Standing.probationary))
    proposed = propose_grades(candidates, params)
    return [
        {"rating_id": rating_id, "member_id": c.member_id, "name": names[c.member_id],
         "score": c.score,
         "stars": stars(c.score, c.vetoed, params), "vetoed": c.vetoed, "exempt": c.exempt,
         "standing": Standing.probationary if c.probationary else Standing.full,
         "deducted": c.deducted, "largest_deduction": c.largest_deduction,
         "proposed_grade": proposed[c.member_id].value, "grade": proposed[c.member_id].value}
        for c in candidates
    ]


def get_rating(session: Session, actor: Actor, rating_id: int) -> tuple[Rating, Org]:
    """Committees of the branch and above, administrators: any state. The branch's members:
    once published (公示, appraisal.md §2.5)."""
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or not (
        actor.manages(org)
        or (actor.member_org_id == org.id and rating.status in PUBLIC_RATING_STATES)
    ):
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    return rating, org


def require_draft(rating: Rating) -> None:
    """Grades, exemptions, the ballot and self-assessments change only in a draft."""
    if rating.status == RatingStatus.approved:
        raise WorkflowConflict(f"Rating {rating.id} is approved and final.", "rating_final")
    if rating.status != RatingStatus.draft:
        raise WorkflowConflict(
            f"Rating {rating.id} is {rating.status}; this is done while it is a draft "
            "(reopen a published rating, or have the level above return a submitted one).",
            "rating_not_draft")


def rating_items(session: Session, rating_id: int) -> list[RatingItem]:
    return list(session.exec(select(RatingItem).where(RatingItem.rating_id == rating_id)
                             .order_by(col(RatingItem.member_id))).all())


def rating_limit(items: list[RatingItem], session: Session, year: int,
                 now: datetime) -> tuple[int, int]:
    """(n, ⌊n/3⌋): the graded lines and how many of them may be excellent."""
    rated = sum(1 for i in items if candidate(i).not_graded is None)
    return rated, excellent_limit(rated, load_rule_set(session, year, now).params)


def candidate(item: RatingItem) -> Candidate:
    """A stored line as the grade rules see it."""
    return Candidate(member_id=item.member_id, score=item.score, vetoed=item.vetoed,
                     exempt=item.exempt, deducted=item.deducted,
                     largest_deduction=item.largest_deduction,
                     probationary=item.standing == Standing.probationary)


def set_line_exempt(session: Session, actor: Actor, rating: Rating, member_id: int,
                    exempt: bool, now: datetime) -> None:
    """A draft rating after an exemption of its year was recorded or withdrawn (the
    branch is locked): the member's line, n and the proposals computed again. Lines the
    committee changed keep their grade; the member's own line takes its new proposal."""
    require_draft(rating)
    items = rating_items(session, rating.id or 0)
    line = next((i for i in items if i.member_id == member_id), None)
    if line is None or line.exempt == exempt:
        return
    line.exempt = exempt
    params = load_rule_set(session, rating.year, now).params
    proposed = propose_grades([candidate(i) for i in items], params)
    before = {i.member_id: audit.snapshot(i) for i in items}
    for item in items:
        item.proposed_grade = proposed[item.member_id].value
        if item.member_id == member_id:
            item.grade, item.reason = item.proposed_grade, None
            item.changed_by, item.changed_at = None, None
        elif item.changed_by is None:
            item.grade = item.proposed_grade
    rated, limit = rating_limit(items, session, rating.year, now)
    if sum(1 for i in items if i.grade == Grade.excellent) > limit:
        raise WorkflowConflict(
            f"With this change at most {limit} of {rated} members may be excellent; "
            "lower another member's grade first.", "excellent_cap")
    changed = [i for i in items if audit.snapshot(i) != before[i.member_id]]
    for item in changed:
        session.add(item)
    audit.record_many(session, [
        audit.Event(actor.account_id, "rating.recompute", "rating_item", item.id, now,
                    before=before[item.member_id], after=audit.snapshot(item))
        for item in changed])


FEED = Feed("ratings", col(Rating.updated_at), col(Rating.id))


def list_ratings(session: Session, actor: Actor, org_id: int | None, year: int | None,
                 limit: int, offset: int, sync: SyncRead | None = None) -> Listing[Rating]:
    """Ratings the actor may see (of one organisation: 404 outside the actor's view), newest
    year first, or by (updated_at, id) for a sync read."""
    own_approved = sa.and_(col(Rating.org_id) == actor.member_org_id,
                           col(Rating.status).in_(PUBLIC_RATING_STATES))
    query = select(Rating).join(Org, col(Org.id) == Rating.org_id).where(
        sa.or_(managed_org_filter(actor), own_approved))
    if org_id is not None:
        get_org(session, actor, org_id)
        query = query.where(Rating.org_id == org_id)
    if year is not None:
        query = query.where(Rating.year == year)
    return page(session, query, col(Rating.year).desc(), col(Rating.org_id), limit=limit,
                offset=offset, sync=sync, feed=FEED)


def _draft_rating(session: Session, actor: Actor, rating_id: int,
                  precondition: Precondition | None = None) -> Rating:
    rating, org = get_rating(session, actor, rating_id)
    require_branch_committee(actor, org)
    lock_branch(session, org.id or 0, rating)
    if precondition is not None:
        precondition()
    require_draft(rating)
    return rating


def override_grade(session: Session, actor: Actor, rating_id: int, member_id: int,
                   grade: Grade, reason: str, now: datetime,
                   precondition: Precondition | None = None) -> Rating:
    rating = _draft_rating(session, actor, rating_id, precondition)
    items = rating_items(session, rating_id)
    item = next((i for i in items if i.member_id == member_id), None)
    if item is None:
        raise NotFound(f"Member {member_id} is not in rating {rating_id}.")
    if says_nothing(reason):
        raise Invalid("Give the reason for changing the grade; it is stored and shown.",
                      "reason_required")
    params = load_rule_set(session, rating.year, now).params
    try:
        check_override({i.member_id: Grade(i.grade) for i in items}, candidate(item), grade,
                       params)
    except OverrideRefused as refused:
        raise WorkflowConflict(refused.message, refused.code) from None
    before = audit.snapshot(item)
    item.grade, item.reason = grade.value, reason.strip()
    item.changed_by, item.changed_at = actor.account_id, now
    session.add(item)
    audit.record(session, actor_id=actor.account_id, action="rating.override",
                 object_type="rating_item", object_id=item.id, at=now, before=before,
                 after=audit.snapshot(item))
    return rating
