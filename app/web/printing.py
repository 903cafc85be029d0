"""Print-ready notices (公示) on A4: the page the browser prints, and the same page as a PDF.

Committee: any review or rating of a branch they manage (a draft prints marked as a draft).
Members: the published or finalized reviews of their own branch, as on /me/results.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.print_notice import (
    Notice,
    notice_html,
    notice_pdf,
    rating_notice,
    review_notice,
)
from app.services import member_view, ratings, reviews
from app.services.access import Actor, require_manages
from app.web.committee.common import CommitteeActor
from app.web.deps import WebActor

router = APIRouter()


def committee_review_notice(session: SessionDep, actor: Actor, review_id: int,
                            now: datetime) -> Notice:
    review, org = reviews.get_review(session, actor, review_id)
    require_manages(actor, org)
    return review_notice(session, review, org, now)


def committee_rating_notice(session: SessionDep, actor: Actor, rating_id: int,
                            now: datetime) -> Notice:
    rating, org = ratings.get_rating(session, actor, rating_id)
    require_manages(actor, org)
    return rating_notice(session, rating, org, now)


def member_review_notice(session: SessionDep, actor: Actor, review_id: int,
                         now: datetime) -> Notice:
    _member, org = member_view.me(session, actor)
    review = member_view.branch_review(session, actor, review_id)
    return review_notice(session, review, org, now)


def _print_page(notice: Notice, back_url: str, pdf_url: str) -> HTMLResponse:
    return HTMLResponse(notice_html(notice, for_pdf=False, back_url=back_url, pdf_url=pdf_url),
                        headers={"Cache-Control": "private, no-store"})


@router.get("/committee/reviews/{review_id}/print")
def review_print(review_id: int, session: SessionDep, actor: CommitteeActor,
                 clock: ClockDep) -> HTMLResponse:
    """The quarter's 公示 on A4, with a 打印 button the print leaves out."""
    notice = committee_review_notice(session, actor, review_id, clock.now())
    return _print_page(notice, f"/committee/reviews/{review_id}",
                       f"/committee/reviews/{review_id}/notice.pdf")


@router.get("/committee/reviews/{review_id}/notice.pdf")
async def review_pdf(review_id: int, session: SessionDep, actor: CommitteeActor,
                     clock: ClockDep) -> Response:
    return await notice_pdf(session, lambda: committee_review_notice(
        session, actor, review_id, clock.now()))


@router.get("/committee/ratings/{rating_id}/print")
def rating_print(rating_id: int, session: SessionDep, actor: CommitteeActor,
                 clock: ClockDep) -> HTMLResponse:
    """The year's 评星定级 result on A4."""
    notice = committee_rating_notice(session, actor, rating_id, clock.now())
    return _print_page(notice, f"/committee/ratings/{rating_id}",
                       f"/committee/ratings/{rating_id}/notice.pdf")


@router.get("/committee/ratings/{rating_id}/notice.pdf")
async def rating_pdf(rating_id: int, session: SessionDep, actor: CommitteeActor,
                     clock: ClockDep) -> Response:
    return await notice_pdf(session, lambda: committee_rating_notice(
        session, actor, rating_id, clock.now()))


@router.get("/me/results/{review_id}/print")
def my_branch_print(review_id: int, session: SessionDep, actor: WebActor,
                    clock: ClockDep) -> HTMLResponse:
    """My branch's published 公示 on A4."""
    notice = member_review_notice(session, actor, review_id, clock.now())
    return _print_page(notice, f"/me/results/{review_id}",
                       f"/me/results/{review_id}/notice.pdf")


@router.get("/me/results/{review_id}/notice.pdf")
async def my_branch_pdf(review_id: int, session: SessionDep, actor: WebActor,
                        clock: ClockDep) -> Response:
    return await notice_pdf(session, lambda: member_review_notice(
        session, actor, review_id, clock.now()))
