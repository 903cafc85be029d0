"""Disposal cases 不合格党员处置 (appraisal.md §5, §6): file a case, read it, record its steps.
A case outside the caller's sight is 404, as if it did not exist."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import status as http_status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, errors
from app.api.params import CaseIdPath, MemberFilter, OrgFilter
from app.api.shape import listed
from app.clock import ClockDep
from app.db import SessionDep
from app.models import CaseStatus, CaseStep, DisposalCase, StepKind
from app.schemas import Page
from app.schemas.cases import (
    CaseCreate,
    CaseOut,
    DecisionIn,
    FollowupIn,
    InvestigationIn,
    PrereviewIn,
    ProposalIn,
    StepBody,
    TalkIn,
    VoteIn,
    WithdrawalIn,
)
from app.services import case_steps, cases

router = APIRouter(tags=["cases"])

# Every refusal a step can give, listed in the schema (appraisal.md §5).
STEP_REFUSALS = {
    403: ("branch_committee_only", "committee_above_only", "member_only", "own_case",
          "own_proposal", "committee_only"),
    409: ("wrong_step", "measure_not_allowed", "no_quorum", "deadline_not_reached"),
    422: ("validation_error", "talkers_invalid", "counts_mismatch", "present_over_eligible",
          "future_date", "date_out_of_order", "return_note_required", "months_out_of_range",
          "months_not_rectify"),
}
FILE_REFUSALS = {
    403: ("branch_committee_only", "committee_only", "own_case"),
    409: ("probationary", "case_open", "not_unqualified", "already_disciplined",
          "member_left"),
    422: ("validation_error", "future_year", "future_date", "filed_too_early",
          "note_required"),
}
# Where each kind keeps its words on the row (app.models.CaseStep.text).
TEXT_FIELD = {StepKind.file: "note", StepKind.investigation: "findings",
              StepKind.talk: "summary", StepKind.proposal: "reason",
              StepKind.prereview: "note", StepKind.defence: "text", StepKind.vote: None,
              StepKind.decision: "note", StepKind.withdrawal: "note",
              StepKind.followup: "note", StepKind.appeal: "text",
              StepKind.appeal_answer: "text"}


def step_out(case: DisposalCase, step: CaseStep) -> dict[str, Any]:
    """A recorded step with the fields of its kind (appraisal.md §6)."""
    out: dict[str, Any] = {"kind": step.kind, "by": step.by_member,
                           "by_member_id": step.by_member, "at": step.at,
                           "on_behalf": step.on_behalf}
    if words := TEXT_FIELD[step.kind]:
        out[words] = step.text
    match step.kind:
        case StepKind.file:
            out |= {"ground": case.ground, "year": case.year, "filed_on": cases.step_day(step)}
        case StepKind.investigation:
            out |= {"investigated_on": cases.step_day(step)}
        case StepKind.talk:
            out |= {"held_on": step.on, "talker_ids": [step.talker1_id, step.talker2_id]}
        case StepKind.proposal:
            out |= {"measure": step.measure, "months": step.months}
        case StepKind.prereview:
            out |= {"decision": step.result}
        case StepKind.vote:
            out |= {"held_on": step.on, "present": step.present, "for": step.votes_for,
                    "against": step.against, "abstain": step.abstain,
                    "eligible": step.eligible, "passed": step.passed}
        case StepKind.decision:
            out |= {"decision": step.result, "decided_on": step.on}
        case StepKind.withdrawal:
            out |= {"agreed": step.result == "agreed"}
        case StepKind.followup:
            out |= {"result": step.result}
    return out


def case_out(case: DisposalCase, steps: list[CaseStep], today: date) -> CaseOut:
    due = cases.next_step(case, today)
    return CaseOut.model_validate({
        **case.model_dump(), "steps": [step_out(case, s) for s in steps],
        "allowed_measures": cases.allowed_measures(case, steps),
        "next_step": due.kind if due else None, "next_by": due.by if due else None,
        "days_left": due.days_left if due else None})


def _one(session: SessionDep, case: DisposalCase, clock: ClockDep) -> CaseOut:
    case_id = case.id or 0
    return case_out(case, cases.steps_of(session, [case_id])[case_id], clock.today())


def step_in(body: StepBody) -> case_steps.StepIn:
    """The body as the service takes it: its words, date, result and counts."""
    kind = StepKind(body.kind)
    words = TEXT_FIELD[kind]
    given = case_steps.StepIn(kind=kind, text=getattr(body, words) if words else "")
    match body:
        case InvestigationIn():
            return case_steps.StepIn(kind, given.text, on=body.investigated_on)
        case TalkIn():
            return case_steps.StepIn(kind, given.text, on=body.held_on,
                                     talker_ids=tuple(body.talker_ids))
        case ProposalIn():
            return case_steps.StepIn(kind, given.text, measure=body.measure,
                                     months=body.months)
        case PrereviewIn() | DecisionIn():
            on = body.decided_on if isinstance(body, DecisionIn) else None
            return case_steps.StepIn(kind, given.text, on=on, result=body.decision.value)
        case VoteIn():
            return case_steps.StepIn(kind, on=body.held_on, present=body.present,
                                     votes_for=body.votes_for, against=body.against,
                                     abstain=body.abstain)
        case WithdrawalIn():
            return case_steps.StepIn(kind, given.text,
                                     result="agreed" if body.agreed else "refused")
        case FollowupIn():
            return case_steps.StepIn(kind, given.text, result=body.result.value)
    return given


@router.post("/cases", status_code=http_status.HTTP_201_CREATED, response_model=CaseOut,
             responses=errors(401, 403, 404, 409, 422, codes=FILE_REFUSALS))
def file_case(body: CaseCreate, session: SessionDep, actor: CurrentActor,
              clock: ClockDep) -> CaseOut:
    """启动组织处置: the branch committee files a case about one of its full members."""
    case = cases.file_case(session, actor, body.member_id, body.ground, body.year, body.note,
                           clock.now(), clock.today(), body.filed_on)
    return _one(session, case, clock)


@router.get("/cases", response_model=Page[CaseOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_cases(session: SessionDep, actor: CurrentActor, paging: PagingDep, clock: ClockDep,
               sync: SyncDep,
               org_id: OrgFilter = None,
               member_id: MemberFilter = None,
               status: Annotated[CaseStatus | None, Query(
                   description="Only cases in this state.")] = None) -> Page[CaseOut]:
    """The cases the caller may see (their own; those of the organisations they are on the
    committee of or above), newest first; a sync read by (updated_at, id)."""
    found = cases.list_cases(session, actor, org_id, member_id, status, paging.limit,
                             paging.offset, sync)
    steps = cases.steps_of(session, [c.id or 0 for c in found.rows])
    today = clock.today()
    return Page[CaseOut](items=[case_out(c, steps[c.id or 0], today) for c in found.rows],
                         **listed(found))


@router.get("/cases/{case_id}", response_model=CaseOut, responses=errors(401, 404, 422))
def read_case(case_id: CaseIdPath, session: SessionDep, actor: CurrentActor,
              clock: ClockDep) -> CaseOut:
    """One case with every step, what it waits for next and, while rectifying, the days
    left to its deadline."""
    case, _ = cases.get_case(session, actor, case_id)
    return _one(session, case, clock)


@router.post("/cases/{case_id}/steps", response_model=CaseOut,
             responses=errors(401, 403, 404, 409, 422, codes=STEP_REFUSALS))
def record_step(case_id: CaseIdPath, body: StepBody, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> CaseOut:
    """Record the case's next step (`kind` and its fields, appraisal.md §6)."""
    case = case_steps.record_step(session, actor, case_id, step_in(body), clock.now(),
                                  clock.today())
    return _one(session, case, clock)
