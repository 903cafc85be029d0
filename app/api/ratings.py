"""Annual ratings 评星定级."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CurrentActor, PagingDep, errors
from app.api.shape import rating_out
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas import (
    GradeChange,
    Id,
    Page,
    RatingBatchOut,
    RatingCreate,
    RatingOut,
    RatingSummaryOut,
    Year,
)
from app.services import ratings

router = APIRouter(tags=["ratings"])


@router.post("/orgs/{org_id}/ratings", status_code=status.HTTP_201_CREATED,
             response_model=RatingOut, responses=errors(401, 403, 404, 409, 422))
def create_rating(org_id: Id, body: RatingCreate, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> RatingOut:
    """Create the year's rating with proposed grades, once all four quarters are finalized."""
    rating = ratings.create_rating(session, actor, org_id, body.year, clock.now())
    return rating_out(session, rating, clock.now())


@router.post("/orgs/{org_id}/ratings/batch", response_model=RatingBatchOut,
             responses=errors(401, 403, 404, 422))
def create_ratings(org_id: Id, body: RatingCreate, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep) -> RatingBatchOut:
    """Draft ratings for every ready branch under an organisation (a town, a city).

    Branches already rated or with a quarter not finalized are listed in `skipped` with
    the code a single create would answer; each branch's committee then reviews, changes
    and approves its own rating as usual.
    """
    batch = ratings.create_ratings(session, actor, org_id, body.year, clock.now())
    return RatingBatchOut.model_validate({
        "created": [{"id": rating_id, "org_id": branch_id}
                    for rating_id, branch_id in batch.created],
        "skipped": [vars(s) for s in batch.skipped]})


@router.get("/ratings", response_model=Page[RatingSummaryOut], responses=errors(401, 422))
def list_ratings(session: SessionDep, actor: CurrentActor, paging: PagingDep,
                 org_id: Id | None = None,
                 year: Annotated[Year | None, Query()] = None) -> Page[RatingSummaryOut]:
    """Ratings the caller may see (members: approved ones of their branch)."""
    rows, total = ratings.list_ratings(session, actor, org_id, year, paging.limit,
                                       paging.offset)
    return Page[RatingSummaryOut](
        items=[RatingSummaryOut.model_validate(r, from_attributes=True) for r in rows],
        total=total)


@router.get("/ratings/{rating_id}", response_model=RatingOut, responses=errors(401, 404, 422))
def read_rating(rating_id: Id, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> RatingOut:
    """One rating with every member's score, stars and grade."""
    rating, _ = ratings.get_rating(session, actor, rating_id)
    return rating_out(session, rating, clock.now())


@router.patch("/ratings/{rating_id}/items/{member_id}", response_model=RatingOut,
              responses=errors(401, 403, 404, 409, 422))
def change_grade(rating_id: Id, member_id: Id, body: GradeChange, session: SessionDep,
                 actor: CurrentActor, clock: ClockDep) -> RatingOut:
    """Change a proposed grade, with a reason, while in draft."""
    rating = ratings.override_grade(session, actor, rating_id, member_id, body.grade,
                                    body.reason, clock.now())
    return rating_out(session, rating, clock.now())


@router.post("/ratings/{rating_id}/approve", response_model=RatingOut,
             responses=errors(401, 403, 404, 409, 422))
def approve_rating(rating_id: Id, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep) -> RatingOut:
    """Approve the rating; it is final."""
    rating = ratings.approve_rating(session, actor, rating_id, clock.now())
    return rating_out(session, rating, clock.now())
