"""The printed notices (公示) as PDF, for programs: the same A4 document as the pages'."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from app.api.deps import CurrentActor, codes_said, download, errors
from app.api.params import RatingIdPath, ReviewIdPath
from app.clock import ClockDep
from app.db import SessionDep
from app.present.print_notice import PDF_TYPE, Notice, notice_pdf, rating_notice, review_notice
from app.schemas import ErrorOut
from app.services import ratings, reviews

router = APIRouter(tags=["printing"])

_PDF: dict[int | str, dict[str, Any]] = {
    **download("An A4 PDF of the notice", PDF_TYPE),
    503: {"model": ErrorOut,
          "description": "PDF output unavailable on this server." + codes_said(
              ("pdf_unavailable",))},
    **errors(401, 404, 422)}


@router.get("/reviews/{review_id}/notice.pdf", response_class=Response, responses=_PDF)
async def review_notice_pdf(review_id: ReviewIdPath, session: SessionDep, actor: CurrentActor,
                            clock: ClockDep) -> Response:
    """The quarter's 公示 as an A4 PDF (members: published or finalized reviews of their
    branch; a committee's draft prints marked as a draft)."""

    def build() -> Notice:
        review, org = reviews.get_review(session, actor, review_id)
        return review_notice(session, review, org, clock.now())

    return await notice_pdf(session, build)


@router.get("/ratings/{rating_id}/notice.pdf", response_class=Response, responses=_PDF)
async def rating_notice_pdf(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                            clock: ClockDep) -> Response:
    """The year's 评星定级 result as an A4 PDF (members: approved ratings of their branch)."""

    def build() -> Notice:
        rating, org = ratings.get_rating(session, actor, rating_id)
        return rating_notice(session, rating, org, clock.now())

    return await notice_pdf(session, build)
