"""不合格党员处置 on the committee's pages (appraisal.md §5): a case filed from the member's
page, the case with its steps done and the one due, the form of each step the viewer may
take, the branch's cases and the level above's queue. Each form is a plain post; a refusal
comes back to the case page in #flash and records nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.clock import ClockDep
from app.db import SessionDep
from app.models import CaseGround, CaseMeasure, StepKind
from app.present import case_words
from app.present.case_print import case_notice
from app.present.i18n import _
from app.present.print_notice import notice_html, notice_pdf
from app.services import case_steps, case_view, cases
from app.services.access import Actor, require_manages
from app.services.errors import Invalid
from app.web.committee.common import CommitteeActor, page
from app.web.forms import id_or_none, int_or_none, optional_date, parse_choice, parse_int
from app.web.render import flash, redirect, reload

router = APIRouter()

CASE_STYLES = ("/static/parts/rating.css", "/static/parts/case.css")
Text = Annotated[str, Form(max_length=20_000)]
Short = Annotated[str, Form(max_length=40)]


def case_url(case_id: int | None) -> str:
    return f"/committee/cases/{case_id}"


def case_context(session: SessionDep, actor: Actor, file: case_view.CaseFile,
                 today: Any) -> dict[str, Any]:
    """What the case page and the member's page both show."""
    return {"file": file, "case": file.case, "org": file.org, "member": file.member,
            "lines": case_words.step_lines(file), "due_text": case_words.due_text(file.due),
            "returned": case_words.returned_text(file),
            "state": case_words.case_state(file.case),
            "ground": _(case_words.GROUND_LABELS[file.case.ground]),
            "measure": case_words.measure_text(file.case.measure, file.case.months),
            "day_text": case_words.day_text, "today": today, "case_styles": CASE_STYLES}


@router.get("/committee/cases")
def case_list(request: Request, session: SessionDep, actor: CommitteeActor,
              clock: ClockDep) -> Response:
    """The branch's cases (its own committee only) and the level above's queue."""
    return page(request, "pages/committee/cases.html", {
        "rows": case_view.branch_cases(session, actor),
        "queue": case_view.queue_above(session, actor), "state": case_words.case_state,
        "today": clock.today(), "case_styles": CASE_STYLES})


@router.get("/committee/cases/{case_id}")
def case_page(case_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
              clock: ClockDep) -> Response:
    today = clock.today()
    file = case_view.case_file(session, actor, case_id, today)
    require_manages(actor, file.org)
    offered = case_view.offered_steps(session, actor, file)
    return page(request, "pages/committee/case.html", case_context(session, actor, file, today) | {
        "offered": offered, "measures": cases.allowed_measures(file.case, file.steps),
        "talkers": case_view.talker_choices(session, file, today),
        "voters": len(cases.members_with_a_vote(session, file.case.org_id, today))
        if StepKind.vote in offered else 0,
        "step_labels": case_words.STEP_LABELS, "measure_labels": case_words.MEASURE_LABELS})


def _readable_file(session: SessionDep, actor: Actor, case_id: int,
                   today: Any) -> case_view.CaseFile:
    """The case as the committee side reads it: 404 if the actor may not see it, 403 if
    they see it only as its member."""
    file = case_view.case_file(session, actor, case_id, today)
    require_manages(actor, file.org)
    return file


@router.get("/committee/cases/{case_id}/print")
def case_print(case_id: int, session: SessionDep, actor: CommitteeActor,
               clock: ClockDep) -> HTMLResponse:
    """The case as an A4 审批表, with a 打印 button the print leaves out."""
    notice = case_notice(session, _readable_file(session, actor, case_id, clock.today()))
    return HTMLResponse(notice_html(notice, for_pdf=False, back_url=case_url(case_id),
                                    pdf_url=f"{case_url(case_id)}/case.pdf"),
                        headers={"Cache-Control": "private, no-store"})


@router.get("/committee/cases/{case_id}/case.pdf")
async def case_pdf(case_id: int, session: SessionDep, actor: CommitteeActor,
                   clock: ClockDep) -> Response:
    """The same 审批表 as a PDF, for the file."""
    today = clock.today()
    return await notice_pdf(session, lambda: case_notice(
        session, _readable_file(session, actor, case_id, today)))


@router.post("/committee/members/{member_id}/cases")
def file_case(member_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
              clock: ClockDep, ground: Short = "", year: Short = "", note: Text = "",
              filed_on: Short = "") -> Response:
    """启动组织处置 from the member's page."""
    today = clock.today()
    chosen = parse_choice(ground, CaseGround, "invalid_ground")
    the_year = parse_int(year, "future_year", 2000, today.year) if year.strip() else today.year
    case = cases.file_case(session, actor, member_id, chosen, the_year, note, clock.now(),
                           today, optional_date(filed_on))
    flash(request, _("已启动组织处置。下一步：调查核实。"))
    return redirect(request, case_url(case.id))


def step_from_form(kind: str, text: str, on: str, result: str, measure: str, months: str,
                   talker1: str, talker2: str, counts: tuple[str, str, str, str]
                   ) -> case_steps.StepIn:
    """The form's fields as the service takes them; what cannot be read is refused here."""
    step = parse_choice(kind, StepKind, "unknown_step")
    if step == StepKind.file:
        raise Invalid("A case is filed from the member's page.", "unknown_step")
    talkers = tuple(t for t in (id_or_none(talker1), id_or_none(talker2)) if t is not None)
    present, votes_for, against, abstain = (int_or_none(c) for c in counts)
    return case_steps.StepIn(
        kind=step, text=text, on=optional_date(on), result=result.strip() or None,
        measure=parse_choice(measure, CaseMeasure, "measure_required") if measure.strip()
        else None,
        months=parse_int(months, "months_out_of_range", 1, 12) if months.strip() else None,
        talker_ids=talkers, present=present, votes_for=votes_for, against=against,
        abstain=abstain)


@router.post("/committee/cases/{case_id}/steps")
def record_step(case_id: int, request: Request, session: SessionDep, actor: CommitteeActor,
                clock: ClockDep, kind: Short = "", text: Text = "", on: Short = "",
                result: Short = "", measure: Short = "", months: Short = "",
                talker1: Short = "", talker2: Short = "", present: Short = "",
                votes_for: Annotated[str, Form(alias="for", max_length=40)] = "",
                against: Short = "", abstain: Short = "") -> Response:
    """One step of the case, by the party whose step it is."""
    given = step_from_form(kind, text, on, result, measure, months, talker1, talker2,
                           (present, votes_for, against, abstain))
    case = case_steps.record_step(session, actor, case_id, given, clock.now(), clock.today())
    flash(request, _("已记录：{step}。{state}").format(
        step=_(case_words.STEP_LABELS[given.kind]), state=case_words.case_state(case)))
    return reload(request, f"{case_url(case_id)}#steps")
