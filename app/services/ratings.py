"""Annual rating 评星定级: draft → approved (scoring.md, Stars, Grades, Workflow 4)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Member, Org, Rating, RatingItem, Review
from app.points import (
    Candidate,
    Grade,
    OverrideRefused,
    check_override,
    excellent_limit,
    propose_grades,
    stars,
)
from app.services import audit
from app.services.access import Actor, get_managed_org, managed_org_filter, require_manages
from app.services.errors import Invalid, NotFound, WorkflowConflict
from app.services.locking import lock_branch
from app.services.paging import page
from app.services.rules import load_rule_set
from app.services.scoring import recorded_review_scores, year_scores


def create_rating(session: Session, actor: Actor, org_id: int, year: int,
                  now: datetime) -> Rating:
    org = get_managed_org(session, actor, org_id)
    if org.kind != "branch":
        raise Invalid(f"{org.name} is not a branch; annual ratings are made by branches.",
                      "not_a_branch")
    lock_branch(session, org_id)
    rules = load_rule_set(session, year, now)
    exists = session.exec(select(Rating.id).where(Rating.org_id == org_id,
                                                  Rating.year == year)).first()
    if exists is not None:
        raise WorkflowConflict(f"{org.name} already has a {year} rating (id {exists}).",
                               "rating_exists")
    finalized = set(session.exec(select(Review.quarter).where(
        Review.org_id == org_id, Review.year == year, Review.status == "finalized")).all())
    missing = [q for q in (1, 2, 3, 4) if q not in finalized]
    if missing:
        raise WorkflowConflict(
            f"All four quarters must be finalized first; not yet: "
            f"{', '.join(f'Q{q}' for q in missing)}.", "quarters_not_finalized")
    members = list(session.exec(select(Member).where(Member.org_id == org_id)
                                .order_by(col(Member.id))).all())
    ids = [m.id for m in members if m.id is not None]
    scores = year_scores(session, rules, ids, recorded_review_scores(
        session, ids, year, ("finalized",)))
    candidates = [
        Candidate(member_id=m.id or 0, score=scores[m.id or 0].annual,
                  vetoed=scores[m.id or 0].vetoed, exempt=m.exempt,
                  deducted=scores[m.id or 0].deducted,
                  largest_deduction=scores[m.id or 0].largest_deduction)
        for m in members
    ]
    proposed = propose_grades(candidates, rules.params)
    rating = Rating(org_id=org_id, year=year, created_by=actor.account_id, created_at=now)
    session.add(rating)
    session.flush()
    assert rating.id is not None
    # One multi-row INSERT (no ORM objects): a branch has up to ~60 lines.
    lines = [
        {"rating_id": rating.id, "member_id": c.member_id, "name": member.name,
         "score": c.score, "stars": stars(c.score, c.vetoed, rules.params),
         "vetoed": c.vetoed, "exempt": c.exempt, "deducted": c.deducted,
         "largest_deduction": c.largest_deduction,
         "proposed_grade": proposed[c.member_id].value, "grade": proposed[c.member_id].value}
        for member, c in zip(members, candidates, strict=True)
    ]
    if lines:
        session.execute(sa.insert(RatingItem), lines)
    audit.record(session, actor_id=actor.account_id, action="rating.create",
                 object_type="rating", object_id=rating.id, at=now,
                 after=audit.snapshot(rating))
    return rating


def get_rating(session: Session, actor: Actor, rating_id: int) -> tuple[Rating, Org]:
    """Committee: any state. Members of the branch: once approved."""
    rating = session.get(Rating, rating_id)
    org = session.get(Org, rating.org_id) if rating else None
    if rating is None or org is None or not (
        actor.manages(org) or (actor.member_org_id == org.id and rating.status == "approved")
    ):
        raise NotFound(f"Rating {rating_id} does not exist or is outside your scope.")
    return rating, org


def rating_items(session: Session, rating_id: int) -> list[RatingItem]:
    return list(session.exec(select(RatingItem).where(RatingItem.rating_id == rating_id)
                             .order_by(col(RatingItem.member_id))).all())


def rating_limit(items: list[RatingItem], session: Session, year: int,
                 now: datetime) -> tuple[int, int]:
    """(n, ⌊n/3⌋): members rated and how many of them may be excellent."""
    rated = sum(1 for i in items if not i.exempt)
    return rated, excellent_limit(rated, load_rule_set(session, year, now).params)


def list_ratings(session: Session, actor: Actor, org_id: int | None, year: int | None,
                 limit: int, offset: int) -> tuple[list[Rating], int]:
    own_approved = sa.and_(col(Rating.org_id) == actor.member_org_id,
                           col(Rating.status) == "approved")
    query = select(Rating).join(Org, col(Org.id) == Rating.org_id).where(
        sa.or_(managed_org_filter(actor), own_approved))
    if org_id is not None:
        query = query.where(Rating.org_id == org_id)
    if year is not None:
        query = query.where(Rating.year == year)
    return page(session, query, col(Rating.year).desc(), col(Rating.org_id), limit=limit,
                offset=offset)


def _draft_rating(session: Session, actor: Actor, rating_id: int) -> Rating:
    rating, org = get_rating(session, actor, rating_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, rating)
    if rating.status != "draft":
        raise WorkflowConflict(f"Rating {rating_id} is approved and final.", "rating_final")
    return rating


def override_grade(session: Session, actor: Actor, rating_id: int, member_id: int,
                   grade: Grade, reason: str, now: datetime) -> Rating:
    rating = _draft_rating(session, actor, rating_id)
    items = rating_items(session, rating_id)
    item = next((i for i in items if i.member_id == member_id), None)
    if item is None:
        raise NotFound(f"Member {member_id} is not in rating {rating_id}.")
    if not reason.strip():
        raise Invalid("Give the reason for changing the grade; it is stored and shown.",
                      "reason_required")
    params = load_rule_set(session, rating.year, now).params
    candidate = Candidate(member_id=member_id, score=item.score, vetoed=item.vetoed,
                          exempt=item.exempt, deducted=item.deducted,
                          largest_deduction=item.largest_deduction)
    try:
        check_override({i.member_id: Grade(i.grade) for i in items}, candidate, grade, params)
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


def approve_rating(session: Session, actor: Actor, rating_id: int, now: datetime) -> Rating:
    rating = _draft_rating(session, actor, rating_id)
    before = audit.snapshot(rating)
    result = session.execute(
        sa.update(Rating).where(col(Rating.id) == rating_id, col(Rating.status) == "draft")
        .values(status="approved", approved_by=actor.account_id, approved_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise WorkflowConflict(f"Rating {rating_id} was approved by someone else just now.",
                               "rating_final")
    session.refresh(rating)
    audit.record(session, actor_id=actor.account_id, action="rating.approve",
                 object_type="rating", object_id=rating_id, at=now, before=before,
                 after=audit.snapshot(rating))
    return rating
