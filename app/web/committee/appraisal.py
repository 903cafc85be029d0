"""The annual appraisal for the level above (appraisal.md §3): the summary page per branch
with its downloads (.xlsx, CSV, the A4 汇总表 and its PDF), and the blank A4 forms of a
branch meeting held on paper (a rating's 测评表, a member's 年度积分登记表)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present import exports
from app.present.appraisal_print import (
    appraisal_notice,
    ballot_form_notice,
    percent_text,
    rating_state,
    register_notice,
)
from app.present.downloads import ExportFormat, FormatQuery, file_response
from app.present.print_notice import Notice, notice_html, notice_pdf
from app.schemas import Id
from app.services import appraisal_summary, paper_forms
from app.services.appraisal_summary import GRADES
from app.services.rules import check_year
from app.web.committee.common import CommitteeActor, page

router = APIRouter()

YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
STYLES = "/static/parts/appraisal.css"


def _print(notice: Notice, back_url: str, pdf_url: str) -> HTMLResponse:
    return HTMLResponse(notice_html(notice, for_pdf=False, back_url=back_url, pdf_url=pdf_url),
                        headers={"Cache-Control": "private, no-store"})


def _year(year: int | None, clock: ClockDep) -> int:
    chosen = year if year is not None else clock.today().year
    check_year(chosen)
    return chosen


@router.get("/committee/appraisal/{org_id}")
def appraisal_page(org_id: Id, request: Request, session: SessionDep, actor: CommitteeActor,
                   clock: ClockDep, year: YearQuery = None) -> Response:
    """The year's appraisal of every branch in the organisation, in tree order."""
    the_year = _year(year, clock)
    found = appraisal_summary.appraisal_summary(session, actor, org_id, the_year, clock.now())
    return page(request, "pages/committee/appraisal.html", {
        "summary": found, "year": the_year, "this_year": clock.today().year, "grades": GRADES,
        "rating_state": rating_state, "percent_text": percent_text,
        "page_styles": STYLES})


@router.get("/committee/appraisal/{org_id}/export")
def appraisal_export(org_id: Id, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                     year: YearQuery = None, format: FormatQuery = ExportFormat.xlsx) -> Response:
    return file_response(exports.appraisal_export(session, actor, org_id, _year(year, clock),
                                                  clock.now()), format)


def _summary_notice(session: SessionDep, actor: CommitteeActor, org_id: Id, year: int,
                    clock: ClockDep) -> Notice:
    return appraisal_notice(appraisal_summary.appraisal_summary(session, actor, org_id, year,
                                                                clock.now()))


@router.get("/committee/appraisal/{org_id}/print")
def appraisal_print(org_id: Id, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                    year: YearQuery = None) -> HTMLResponse:
    """The 汇总表 on A4 (across), with a 打印 button the print leaves out."""
    the_year = _year(year, clock)
    query = f"?year={the_year}"
    return _print(_summary_notice(session, actor, org_id, the_year, clock),
                  f"/committee/appraisal/{org_id}{query}",
                  f"/committee/appraisal/{org_id}/summary.pdf{query}")


@router.get("/committee/appraisal/{org_id}/summary.pdf")
async def appraisal_pdf(org_id: Id, session: SessionDep, actor: CommitteeActor,
                        clock: ClockDep, year: YearQuery = None) -> Response:
    the_year = _year(year, clock)
    return await notice_pdf(session, lambda: _summary_notice(session, actor, org_id, the_year,
                                                             clock))


@router.get("/committee/ratings/{rating_id}/ballot-form")
def ballot_form(rating_id: Id, session: SessionDep, actor: CommitteeActor) -> HTMLResponse:
    """The blank 民主评议党员测评表 on A4: the graded members and four boxes each."""
    notice = ballot_form_notice(paper_forms.ballot_form(session, actor, rating_id))
    return _print(notice, f"/committee/ratings/{rating_id}",
                  f"/committee/ratings/{rating_id}/ballot-form.pdf")


@router.get("/committee/ratings/{rating_id}/ballot-form.pdf")
async def ballot_form_pdf(rating_id: Id, session: SessionDep,
                          actor: CommitteeActor) -> Response:
    return await notice_pdf(session, lambda: ballot_form_notice(
        paper_forms.ballot_form(session, actor, rating_id)))


@router.get("/committee/members/{member_id}/register")
def register(member_id: Id, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
             year: YearQuery = None) -> HTMLResponse:
    """A member's 年度积分登记表 on A4."""
    the_year = _year(year, clock)
    notice = register_notice(paper_forms.register(session, actor, member_id, the_year,
                                                  clock.now()))
    return _print(notice, f"/committee/members/{member_id}?year={the_year}",
                  f"/committee/members/{member_id}/register.pdf?year={the_year}")


@router.get("/committee/members/{member_id}/register.pdf")
async def register_pdf(member_id: Id, session: SessionDep, actor: CommitteeActor,
                       clock: ClockDep, year: YearQuery = None) -> Response:
    the_year = _year(year, clock)
    return await notice_pdf(session, lambda: register_notice(paper_forms.register(
        session, actor, member_id, the_year, clock.now())))
