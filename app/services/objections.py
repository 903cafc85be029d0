"""Objections (异议) to a published quarterly review: a member raises one against their own
line while the results are public (公示); the committee answers it before finalizing
(docs/scoring.md, Workflow 2), though not a committee member their own objection."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.models import Objection, ObjectionStatus, Rating, RatingStatus, Review, ReviewStatus
from app.services import audit
from app.services.access import Actor, require_manages
from app.services.errors import Forbidden, Invalid, NotFound, WorkflowConflict
from app.services.locking import lock_branch
from app.services.ratings import get_rating
from app.services.reviews import get_review


def raise_objection(session: Session, actor: Actor, review_id: int, text: str,
                    now: datetime) -> Objection:
    review, _org = get_review(session, actor, review_id)
    if actor.member_id is None or actor.member_org_id != review.org_id:
        raise Forbidden("Only members of the branch can object to its results.",
                        "not_branch_member")
    lock_branch(session, review.org_id, review)
    if review.status != ReviewStatus.published:
        raise WorkflowConflict("Objections can be raised only while the results are "
                               f"published; this review is {review.status}.",
                               "review_not_published")
    return record_objection(session, actor, text, now, review_id=review_id)


def record_objection(session: Session, actor: Actor, text: str, now: datetime, *,
                     review_id: int | None = None, rating_id: int | None = None) -> Objection:
    """The member's objection to a review or a rating, once its checks passed: stored and
    audited."""
    if not text.strip():
        raise Invalid("Say what is wrong in the objection text.", "text_required")
    objection = Objection(review_id=review_id, rating_id=rating_id,
                          member_id=actor.member_id or 0, text=text.strip(), created_at=now)
    session.add(objection)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="objection.create",
                 object_type="objection", object_id=objection.id, at=now,
                 after=audit.snapshot(objection))
    return objection


def list_objections(session: Session, actor: Actor, review_id: int) -> list[Objection]:
    _review, org = get_review(session, actor, review_id)
    query = select(Objection).where(Objection.review_id == review_id)
    if not actor.manages(org):
        query = query.where(Objection.member_id == actor.member_id)
    return list(session.exec(query.order_by(col(Objection.id))).all())


def is_own(actor: Actor, objection: Objection) -> bool:
    """The actor raised it: another committee member answers it (the pages ask this too)."""
    return actor.member_id is not None and objection.member_id == actor.member_id


def resolve_objection(session: Session, actor: Actor, objection_id: int, response: str,
                      now: datetime) -> Objection:
    """Answer an objection to a quarterly review (before it is finalized) or to an annual
    rating (while it is published)."""
    objection = session.get(Objection, objection_id)
    unknown = NotFound(f"Objection {objection_id} does not exist or is outside your scope.")
    if objection is None:
        raise unknown
    subject: Review | Rating
    try:
        if objection.rating_id is not None:
            subject, org = get_rating(session, actor, objection.rating_id)
        else:
            subject, org = get_review(session, actor, objection.review_id or 0)
    except NotFound:
        raise unknown from None
    if not actor.manages(org) and objection.member_id != actor.member_id:
        raise unknown
    require_manages(actor, org)
    lock_branch(session, org.id or 0, subject, objection)
    if is_own(actor, objection):
        # Four eyes, as for an entry about oneself (entries._decide, own_entry).
        raise Forbidden("You cannot answer your own objection; another committee member "
                        "must.", "own_objection")
    if objection.status != ObjectionStatus.open:
        raise WorkflowConflict(f"Objection {objection_id} is already resolved.",
                               "objection_resolved")
    if isinstance(subject, Review) and subject.status == ReviewStatus.finalized:
        raise WorkflowConflict("The review is finalized.", "quarter_locked")
    if isinstance(subject, Rating) and subject.status not in (RatingStatus.published,
                                                              RatingStatus.draft):
        raise WorkflowConflict(f"The rating is {subject.status}; objections to it are "
                               "answered before it is submitted.", "rating_not_published")
    if not response.strip():
        raise Invalid("A response is required.", "response_required")
    before = audit.snapshot(objection)
    objection.status, objection.response = ObjectionStatus.resolved, response.strip()
    objection.resolved_by, objection.resolved_at = actor.account_id, now
    session.add(objection)
    audit.record(session, actor_id=actor.account_id, action="objection.resolve",
                 object_type="objection", object_id=objection.id, at=now, before=before,
                 after=audit.snapshot(objection))
    return objection
