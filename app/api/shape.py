"""Turn service results into the answers of docs/api.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.db import SessionDep
from app.models import (
    BallotStatus,
    Entry,
    EntryStatus,
    Member,
    Objection,
    Org,
    Rating,
    RatingItem,
    Review,
)
from app.schemas import (
    BallotOut,
    EntryOut,
    MemberOut,
    ObjectionOut,
    OrgOut,
    RatingItemOut,
    RatingOut,
    ReviewLineOut,
    ReviewOut,
    TallyOut,
)
from app.services import actors, appraisal, entries, ratings, reviews
from app.services.access import Actor
from app.services.paging import Listing
from app.services.standing import MemberFacts


def listed(listing: Listing[Any]) -> dict[str, Any]:
    """A page's total and cursors (docs/api/sync.md), for Page(items=..., **listed(...))."""
    return {"total": listing.total, "next": listing.next, "resume": listing.resume}


def org_out(org: Org) -> OrgOut:
    return OrgOut.model_validate(org, from_attributes=True)


def member_out(member: Member, username: str | None, facts: MemberFacts) -> MemberOut:
    exemption = facts.exemption
    return MemberOut.model_validate(
        member.model_dump() | {"username": username, "rights_suspended": facts.rights_suspended,
                               "exempt": exemption is not None,
                               "exempt_reason": exemption.note if exemption else None},
        from_attributes=False)


def entry_out(session: SessionDep, entry: Entry) -> EntryOut:
    return entries_out(session, [entry])[0]


def entries_out(session: SessionDep, rows: list[Entry]) -> list[EntryOut]:
    """Entries with the links between a rejected entry and its resubmission, and who acted
    as member ids (app/services/actors.py)."""
    rejected = [e.id for e in rows if e.id is not None and e.status == EntryStatus.rejected]
    again = entries.resubmitted_as(session, rejected)
    members = actors.members_of(session, (a for e in rows
                                          for a in (e.created_by, e.decided_by, e.revoked_by)))

    def member(account_id: int | None) -> int | None:
        return None if account_id is None else members.get(account_id)

    return [EntryOut.model_validate(e.model_dump() | {
        "resubmits": e.resubmits_id,
        "resubmitted_by": (resubmission.id if (resubmission := again.get(e.id or 0))
                           else None),
        "created_by": member(e.created_by), "decided_by": member(e.decided_by),
        "revoked_by": member(e.revoked_by)}) for e in rows]


def objection_out(objection: Objection) -> ObjectionOut:
    return ObjectionOut.model_validate(objection, from_attributes=True)


def review_out(session: SessionDep, review: Review, now: datetime, *, committee: bool) -> ReviewOut:
    assert review.id is not None
    lines = reviews.review_lines(session, review, now)
    open_objections = reviews.open_objections(session, [review.id])[review.id]
    return ReviewOut(
        id=review.id, org_id=review.org_id, year=review.year, quarter=review.quarter,
        status=review.status, updated_at=review.updated_at,
        notice_until=review.notice_until, published_at=review.published_at,
        finalized_at=review.finalized_at,
        publish_reason=review.publish_reason if committee else None,
        finalize_reason=review.finalize_reason if committee else None,
        pending_entries=reviews.pending_entry_count(session, review) if committee else 0,
        open_objections=open_objections,
        items=[ReviewLineOut(member_id=x.member_id, name=x.name, review_score=x.review_score,
                             delta=x.delta, ytd=x.ytd) for x in lines],
    )


def rating_out(session: SessionDep, actor: Actor, rating: Rating, org: Org,
               now: datetime) -> RatingOut:
    """The rating as the actor may see it (appraisal.md §4): committees and above see
    everything, the tally once the ballot is closed and who voted online; a member sees
    their own line's proposed grade and reason only, no tally, no deduction details."""
    assert rating.id is not None
    items = ratings.rating_items(session, rating.id)
    rated, limit = ratings.rating_limit(items, session, rating.year, now)
    committee = actor.manages(org)
    tallies = appraisal.tallies(session, rating) if committee else {}
    ballot = rating.ballot != BallotStatus.none

    def line(item: RatingItem) -> RatingItemOut:
        out = RatingItemOut.model_validate(item, from_attributes=True)
        if committee:
            tally = tallies.get(item.member_id)
            return out.model_copy(update={"tally": TallyOut(**tally) if tally else None})
        own = item.member_id == actor.member_id
        return out.model_copy(update={"vetoed": None,
                                      "proposed_grade": out.proposed_grade if own else None,
                                      "reason": item.reason if own else None})

    return RatingOut(
        id=rating.id, org_id=rating.org_id, year=rating.year, status=rating.status,
        rated=rated, excellent_limit=limit,
        ballot=BallotOut(status=rating.ballot, voters=rating.voters,
                         cast_online=rating.cast_online, cast_paper=rating.cast_paper,
                         voted=appraisal.voted_online(session, rating.id)
                         if committee and ballot else None,
                         you_voted=appraisal.has_voted(session, rating.id, actor.member_id)
                         if ballot else None),
        notice_until=rating.notice_until, published_at=rating.published_at,
        submitted_at=rating.submitted_at, approved_at=rating.approved_at,
        publish_reason=rating.publish_reason if committee else None,
        submit_reason=rating.submit_reason if committee else None,
        sent_back=rating.sent_back if committee else None,
        sent_back_reason=rating.sent_back_reason if committee else None,
        sent_back_at=rating.sent_back_at if committee else None,
        open_objections=appraisal.open_objection_count(session, rating.id)
        if rating.published_at is not None else 0,
        items=[line(i) for i in items], updated_at=rating.updated_at,
    )
