"""The annual appraisal for the level above (appraisal.md §3, §6): the summary per branch
(汇总) as JSON, .xlsx/CSV and an A4 PDF (汇总表); and the blank forms of a meeting held on
paper as PDFs: a rating's 民主评议党员测评表 and a member's 年度积分登记表."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import CurrentActor, codes_said, download, errors
from app.api.exports import file_responses
from app.api.params import MemberIdPath, OrgIdPath, RatingIdPath
from app.clock import ClockDep
from app.db import SessionDep
from app.present import exports
from app.present.appraisal_print import appraisal_notice, ballot_form_notice, register_notice
from app.present.downloads import ExportFormat, FormatQuery, file_response
from app.present.print_notice import PDF_TYPE, Notice, notice_pdf
from app.schemas import ErrorOut, Year
from app.schemas.appraisal import AppraisalSummaryOut
from app.services import appraisal_summary, paper_forms
from app.services.appraisal_summary import AppraisalSummary, BranchAppraisal

router = APIRouter(tags=["appraisal"])

YearQuery = Annotated[Year | None, Query(description="default: this year")]
_PDF: dict[int | str, dict[str, Any]] = {
    **download("An A4 PDF", PDF_TYPE),
    503: {"model": ErrorOut,
          "description": "PDF output unavailable on this server." + codes_said(
              ("pdf_unavailable",))},
    **errors(401, 403, 404, 422)}


def _branch(b: BranchAppraisal) -> dict[str, Any]:
    return {"org_id": b.org_id, "name": b.name, "rating_id": b.rating_id, "status": b.status,
            "ballot": b.ballot, "members": b.members, "graded": b.graded, "exempt": b.exempt,
            "probationary": b.probationary, "voters": b.voters,
            "cast_online": b.cast_online, "cast_paper": b.cast_paper, "turnout": b.turnout,
            "grades": b.grades, "excellent_limit": b.excellent_limit,
            "open_objections": b.open_objections}


def summary_out(found: AppraisalSummary) -> AppraisalSummaryOut:
    t = found.totals
    return AppraisalSummaryOut.model_validate({
        "org_id": found.org.id, "year": found.year,
        "branches": [_branch(b) for b in found.branches],
        "totals": {"branches": t.branches, "rated": t.rated, "statuses": t.statuses,
                   "members": t.members, "graded": t.graded, "exempt": t.exempt,
                   "probationary": t.probationary, "voters": t.voters,
                   "cast_online": t.cast_online, "cast_paper": t.cast_paper,
                   "turnout": t.turnout, "grades": t.grades,
                   "excellent_limit": t.excellent_limit,
                   "open_objections": t.open_objections}})


@router.get("/orgs/{org_id}/appraisal", response_model=AppraisalSummaryOut,
            responses=errors(401, 403, 404, 422))
def read_appraisal(org_id: OrgIdPath, session: SessionDep, actor: CurrentActor, clock: ClockDep,
                   year: YearQuery = None) -> AppraisalSummaryOut:
    """The year's annual appraisal per branch under the organisation, in the tree's order
    (never by any score): the rating's state, its lines, the ballot's turnout, the grades
    set, the excellent limit and the open objections; and the totals. Committees of the
    organisation or above and administrators see every branch; a branch's committee sees
    its own."""
    return summary_out(appraisal_summary.appraisal_summary(
        session, actor, org_id, year or clock.today().year, clock.now()))


@router.get("/orgs/{org_id}/appraisal/export", response_class=Response,
            responses=file_responses(401, 403, 404, 422))
def export_appraisal(org_id: OrgIdPath, session: SessionDep, actor: CurrentActor, clock: ClockDep,
                     year: YearQuery = None, format: FormatQuery = ExportFormat.xlsx) -> Response:
    """The same as a table (汇总表): a row per branch in tree order, then the totals."""
    return file_response(exports.appraisal_export(
        session, actor, org_id, year or clock.today().year, clock.now()), format)


@router.get("/orgs/{org_id}/appraisal.pdf", response_class=Response, responses=_PDF)
async def appraisal_pdf(org_id: OrgIdPath, session: SessionDep, actor: CurrentActor,
                        clock: ClockDep, year: YearQuery = None) -> Response:
    """The same as an A4 PDF (汇总表), across the page."""

    def build() -> Notice:
        return appraisal_notice(appraisal_summary.appraisal_summary(
            session, actor, org_id, year or clock.today().year, clock.now()))

    return await notice_pdf(session, build)


@router.get("/ratings/{rating_id}/ballot-form.pdf", response_class=Response, responses=_PDF)
async def ballot_form_pdf(rating_id: RatingIdPath, session: SessionDep,
                          actor: CurrentActor) -> Response:
    """The blank 民主评议党员测评表 of a branch meeting held on paper: every graded member
    (full, not exempt) with the four grade boxes; no score. The committee of the branch or
    above."""
    return await notice_pdf(session, lambda: ballot_form_notice(
        paper_forms.ballot_form(session, actor, rating_id)))


@router.get("/members/{member_id}/register.pdf", response_class=Response, responses=_PDF)
async def register_pdf(member_id: MemberIdPath, session: SessionDep, actor: CurrentActor,
                       clock: ClockDep, year: YearQuery = None) -> Response:
    """A member's 年度积分登记表: the year's approved entries by quarter, each quarter's
    review score and running total, the annual score and stars. The committee of the
    member's branch or above."""
    return await notice_pdf(session, lambda: register_notice(paper_forms.register(
        session, actor, member_id, year or clock.today().year, clock.now())))
