"""Quarterly reviews and objections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, errors
from app.api.etags import IfMatchDep
from app.api.params import ObjectionIdPath, OrgFilter, OrgIdPath, ReviewIdPath, YearFilter
from app.api.shape import listed, objection_out, review_out
from app.clock import ClockDep
from app.db import SessionDep
from app.models import Review
from app.schemas import (
    FinalizeBody,
    ObjectionCreate,
    ObjectionOut,
    Page,
    PublishBody,
    ResolveBody,
    ReviewCreate,
    ReviewOut,
    ReviewSummaryOut,
    ScoresBody,
)
from app.services import objections, reviews
from app.services.access import Actor

router = APIRouter(tags=["reviews"])

# A publication or finalization before the quarter's end, or with a short notice, without a
# reason; or a body it cannot take (docs/scoring.md, Workflow 2).
EARLY = ("reason_required", "validation_error")


def _out(session: SessionDep, actor: Actor, review: Review, clock: ClockDep) -> ReviewOut:
    _, org = reviews.get_review(session, actor, review.id or 0)
    return review_out(session, review, clock.now(), committee=actor.manages(org))


@router.post("/orgs/{org_id}/reviews", status_code=status.HTTP_201_CREATED,
             response_model=ReviewOut, responses=errors(401, 403, 404, 409, 422))
def create_review(org_id: OrgIdPath, body: ReviewCreate, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> ReviewOut:
    """Open the quarterly review of a branch, in draft."""
    review = reviews.create_review(session, actor, org_id, body.year, body.quarter,
                                   clock.now(), clock.today())
    return _out(session, actor, review, clock)


@router.get("/reviews", response_model=Page[ReviewSummaryOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_reviews(session: SessionDep, actor: CurrentActor, paging: PagingDep, sync: SyncDep,
                 org_id: OrgFilter = None,
                 year: YearFilter = None) -> Page[ReviewSummaryOut]:
    """Reviews the caller may see (members: published or finalized ones of their branch);
    a sync read by (updated_at, id)."""
    found = reviews.list_reviews(session, actor, org_id, year, paging.limit, paging.offset,
                                 sync)
    return Page[ReviewSummaryOut](
        items=[ReviewSummaryOut.model_validate(r, from_attributes=True) for r in found.rows],
        **listed(found))


@router.get("/reviews/{review_id}", response_model=ReviewOut, responses=errors(401, 404, 422))
def read_review(review_id: ReviewIdPath, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> ReviewOut:
    """The review sheet: every member's review score, change and running total. Its ETag
    is what PUT .../scores's If-Match names."""
    return _read(session, actor, review_id, clock)


def _read(session: SessionDep, actor: Actor, review_id: int, clock: ClockDep) -> ReviewOut:
    review, _ = reviews.get_review(session, actor, review_id)
    return _out(session, actor, review, clock)


@router.put("/reviews/{review_id}/scores", response_model=ReviewOut,
            responses=errors(401, 403, 404, 409, 422))
def set_scores(review_id: ReviewIdPath, body: ScoresBody, session: SessionDep,
               actor: CurrentActor,
               clock: ClockDep, if_match: IfMatchDep) -> ReviewOut:
    """Set review scores (0 to 5) while in draft. With If-Match (the ETag of GET
    /reviews/{id}): 412 when the review changed since."""
    unchanged = if_match.guard(lambda: _read(session, actor, review_id, clock))
    review = reviews.set_scores(session, actor, review_id, body.scores, clock.now(),
                                unchanged)
    return _out(session, actor, review, clock)


@router.post("/reviews/{review_id}/publish", response_model=ReviewOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: ("review_not_draft", "pending_entries", "review_changed"),
                 422: ("notice_out_of_range", *EARLY)}))
def publish_review(review_id: ReviewIdPath, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep,
                   body: Annotated[PublishBody | None, Body()] = None) -> ReviewOut:
    """Publish the results (公示); unset scores become the default; the notice period starts.
    Before the quarter has ended, or with a notice below the year's min_notice_days, only
    with a `reason`, which is stored."""
    given = body or PublishBody()
    review = reviews.publish_review(session, actor, review_id, given.notice_days, clock.now(),
                                    reason=given.reason)
    return _out(session, actor, review, clock)


@router.post("/reviews/{review_id}/reopen", response_model=ReviewOut,
             responses=errors(401, 403, 404, 409, 422))
def reopen_review(review_id: ReviewIdPath, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> ReviewOut:
    """Take a published review back to draft, to correct scores after an objection."""
    review = reviews.reopen_review(session, actor, review_id, clock.now())
    return _out(session, actor, review, clock)


@router.post("/reviews/{review_id}/finalize", response_model=ReviewOut,
             responses=errors(401, 403, 404, 409, 422, codes={
                 409: ("review_not_published", "objections_open", "notice_running",
                       "previous_quarter_open", "pending_entries", "review_changed"),
                 422: EARLY}))
def finalize_review(review_id: ReviewIdPath, session: SessionDep, actor: CurrentActor,
                    clock: ClockDep,
                    body: Annotated[FinalizeBody | None, Body()] = None) -> ReviewOut:
    """Finalize: the quarter is locked for the branch from now on. Before the quarter has
    ended, only with a `reason`, which is stored (the body may be left out otherwise)."""
    reason = body.reason if body else None
    review = reviews.finalize_review(session, actor, review_id, clock.now(), reason=reason)
    return _out(session, actor, review, clock)


@router.post("/reviews/{review_id}/objections", status_code=status.HTTP_201_CREATED,
             response_model=ObjectionOut, responses=errors(401, 403, 404, 409, 422))
def raise_review_objection(review_id: ReviewIdPath, body: ObjectionCreate, session: SessionDep,
                    actor: CurrentActor, clock: ClockDep) -> ObjectionOut:
    """Object to the published results (异议), as a member of the branch."""
    return objection_out(objections.raise_objection(session, actor, review_id, body.text,
                                                 clock.now()))


@router.get("/reviews/{review_id}/objections", response_model=list[ObjectionOut],
            responses=errors(401, 404, 422))
def list_review_objections(review_id: ReviewIdPath, session: SessionDep,
                    actor: CurrentActor) -> list[ObjectionOut]:
    """Objections: all for the committee, one's own for a member."""
    return [objection_out(o) for o in objections.list_objections(session, actor, review_id)]


@router.post("/objections/{objection_id}/resolve", response_model=ObjectionOut,
             responses=errors(401, 403, 404, 409, 422))
def resolve_objection(objection_id: ObjectionIdPath, body: ResolveBody, session: SessionDep,
                      actor: CurrentActor, clock: ClockDep) -> ObjectionOut:
    """Answer an objection; it is then resolved."""
    return objection_out(objections.resolve_objection(session, actor, objection_id,
                                                   body.response, clock.now()))


