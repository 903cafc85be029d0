"""My own disposal case on the phone (appraisal.md §5), in plain words: what happened so
far, what comes next and when, my defence (申辩, before the branch meeting votes) and my
appeal (申诉, after the decision). Only the member it is about opens it here (404 to
anyone else, committee members included: theirs is /committee/cases/{id})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import StepKind
from app.present import case_words
from app.present.i18n import _
from app.present.messages import message_for
from app.services import case_steps, case_view, cases, member_view
from app.services.access import Actor
from app.services.errors import DomainError, NotFound, attempt
from app.web.deps import WebActor
from app.web.render import flash, redirect, render

router = APIRouter()

LongText = Annotated[str, Form(max_length=20_000)]
STYLES = ("/static/parts/case.css",)


def my_case(session: SessionDep, actor: Actor, case_id: int,
            clock: Clock) -> case_view.CaseFile:
    member_view.me(session, actor)
    file = case_view.case_file(session, actor, case_id, clock.today())
    if file.case.member_id != actor.member_id:
        raise NotFound(f"Case {case_id} does not exist or is outside your scope.")
    return file


def _page(request: Request, session: SessionDep, actor: Actor, clock: Clock, case_id: int,
          status_code: int = 200, **extra: object) -> Response:
    file = my_case(session, actor, case_id, clock)
    case = file.case
    decided = any(s.kind == StepKind.decision for s in file.steps)
    return render(request, "pages/member/case.html", {
        "file": file, "case": case, "org": file.org,
        "lines": case_words.step_lines(file), "due_text": case_words.due_text(file.due),
        "returned": case_words.returned_text(file),
        "state": case_words.case_state(case),
        "ground": _(case_words.GROUND_LABELS[case.ground]),
        "measure": case_words.measure_text(case.measure, case.months),
        "day_text": case_words.day_text,
        "can_defend": case.status in cases.BEFORE_VOTE,
        "can_appeal": decided and not case.appeal_open, "appeal_open": case.appeal_open,
        "case_styles": STYLES, "error": None, "error_kind": None, "typed": ""} | extra,
        status_code=status_code)


@router.get("/me/cases/{case_id}")
def case_page(case_id: int, request: Request, session: SessionDep, actor: WebActor,
              clock: ClockDep) -> Response:
    return _page(request, session, actor, clock, case_id)


def _write(request: Request, session: SessionDep, actor: Actor, clock: Clock, case_id: int,
           kind: StepKind, text: str) -> Response:
    my_case(session, actor, case_id, clock)
    result = attempt(session, lambda: case_steps.record_step(
        session, actor, case_id, case_steps.StepIn(kind, text), clock.now(), clock.today()))
    if isinstance(result, DomainError):
        return _page(request, session, actor, clock, case_id, result.status_code,
                     error=message_for(result), error_kind=kind.value, typed=text)
    flash(request, _("已提交，会记录在案件中，支部委员会和上级党委都能看到。"))
    return redirect(request, f"/me/cases/{case_id}#steps")


@router.post("/me/cases/{case_id}/defence")
def write_defence(case_id: int, request: Request, session: SessionDep, actor: WebActor,
                  clock: ClockDep, text: LongText = "") -> Response:
    """申辩: any time before the branch meeting votes."""
    return _write(request, session, actor, clock, case_id, StepKind.defence, text)


@router.post("/me/cases/{case_id}/appeal")
def write_appeal(case_id: int, request: Request, session: SessionDep, actor: WebActor,
                 clock: ClockDep, text: LongText = "") -> Response:
    """申诉: after the level above's decision."""
    return _write(request, session, actor, clock, case_id, StepKind.appeal, text)
