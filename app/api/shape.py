"""Turn service results into the answers of docs/api.md."""

from __future__ import annotations

from datetime import datetime

from app.db import SessionDep
from app.models import Entry, Member, Objection, Org, Rating, Review
from app.schemas import (
    EntryOut,
    MemberOut,
    ObjectionOut,
    OrgOut,
    RatingItemOut,
    RatingOut,
    ReviewLineOut,
    ReviewOut,
)
from app.services import ratings, reviews
from app.services.standing import MemberFacts


def org_out(org: Org) -> OrgOut:
    return OrgOut.model_validate(org, from_attributes=True)


def member_out(member: Member, username: str | None, facts: MemberFacts) -> MemberOut:
    exemption = facts.exemption
    return MemberOut.model_validate(
        member.model_dump() | {"username": username, "rights_suspended": facts.rights_suspended,
                               "exempt": exemption is not None,
                               "exempt_reason": exemption.note if exemption else None},
        from_attributes=False)


def entry_out(entry: Entry) -> EntryOut:
    return EntryOut.model_validate(entry, from_attributes=True)


def objection_out(objection: Objection) -> ObjectionOut:
    return ObjectionOut.model_validate(objection, from_attributes=True)


def review_out(session: SessionDep, review: Review, now: datetime, *, committee: bool) -> ReviewOut:
    assert review.id is not None
    lines = reviews.review_lines(session, review, now)
    open_objections = reviews.open_objections(session, [review.id])[review.id]
    return ReviewOut(
        id=review.id, org_id=review.org_id, year=review.year, quarter=review.quarter,
        status=review.status,
        notice_until=review.notice_until, published_at=review.published_at,
        finalized_at=review.finalized_at,
        pending_entries=reviews.pending_entry_count(session, review) if committee else 0,
        open_objections=open_objections,
        items=[ReviewLineOut(member_id=x.member_id, name=x.name, review_score=x.review_score,
                             delta=x.delta, ytd=x.ytd) for x in lines],
    )


def rating_out(session: SessionDep, rating: Rating, now: datetime) -> RatingOut:
    assert rating.id is not None
    items = ratings.rating_items(session, rating.id)
    rated, limit = ratings.rating_limit(items, session, rating.year, now)
    return RatingOut(
        id=rating.id, org_id=rating.org_id, year=rating.year,
        status=rating.status,
        rated=rated, excellent_limit=limit, approved_at=rating.approved_at,
        items=[RatingItemOut.model_validate(i, from_attributes=True) for i in items],
    )
