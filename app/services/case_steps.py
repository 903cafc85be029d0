"""The steps of a disposal case after its filing (appraisal.md §5), each by its party, in its
order, under the branch lock: of two committee members recording the same step at once,
one records it and the other is refused (409 wrong_step). A refusal writes nothing.

Status after each step: filed → investigated → talked → proposed → prereviewed (a returned
prereview: talked) → voted (a failed vote: closed, not_adopted) → rectifying, persuading
or closed (expelled; refused) → closed (rectified, persuaded), where 期满 not rectified and
a refused 劝退 go back to talked. defence, appeal and appeal_answer change no status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session

from app.models import (
    CaseMeasure,
    CaseOutcome,
    CaseStatus,
    CaseStep,
    DisposalCase,
    LeaveKind,
    Member,
    Org,
    Standing,
    StepKind,
)
from app.points.disposal import MAX_RECTIFY_MONTHS, VoteCount, VoteProblem, add_months
from app.services import audit
from app.services.access import Actor
from app.services.cases import (
    BEFORE_VOTE,
    MAX_CASE_TEXT,
    NEXT_STEP,
    allowed_measures,
    get_case,
    members_with_a_vote,
    previous_dated,
    require_party,
    step_day,
    steps_of,
)
from app.services.errors import Forbidden, Invalid, WorkflowConflict
from app.services.locking import lock_branch
from app.services.rules import load_rule_set
from app.services.standing import mark_left, member_facts
from app.services.text import says_nothing

# Steps whose words may not be empty.
TEXT_REQUIRED = (StepKind.investigation, StepKind.talk, StepKind.proposal, StepKind.defence,
                 StepKind.appeal, StepKind.appeal_answer)


@dataclass(frozen=True)
class StepIn:
    """A step as a door hands it over: its kind and the fields of that kind (§6)."""

    kind: StepKind
    text: str = ""
    # investigation: investigated_on, decision: decided_on (both default today); talk and
    # vote: held_on.
    on: date | None = None
    result: str | None = None  # approve/return, approve/refuse, agreed/refused, rectified...
    measure: CaseMeasure | None = None
    months: int | None = None
    talker_ids: tuple[int, ...] = ()
    present: int | None = None
    votes_for: int | None = None
    against: int | None = None
    abstain: int | None = None


class DateBeforeStep(Invalid):
    """A step dated before the dated step before it (cases.previous_dated): the refusal
    names that step and its date, so the person knows what to compare with."""

    def __init__(self, on: date, before: CaseStep) -> None:
        self.before_kind, self.before_on = before.kind, step_day(before)
        named = "filing" if before.kind == StepKind.file else before.kind
        super().__init__(f"{on} is before the {named} ({self.before_on}).",
                         "date_out_of_order")


@dataclass
class _Doing:
    """One step being recorded: where the case stands and what the step says."""

    session: Session
    actor: Actor
    case: DisposalCase
    org: Org
    steps: list[CaseStep]
    given: StepIn
    step: CaseStep
    now: datetime
    today: date


def record_step(session: Session, actor: Actor, case_id: int, given: StepIn, now: datetime,
                today: date) -> DisposalCase:
    """Record one step of §5 on the case, or refuse it and change nothing."""
    if given.kind == StepKind.file:
        raise Invalid("A case is filed with POST /cases.", "unknown_step")
    case, org = get_case(session, actor, case_id)
    on_behalf = require_party(session, actor, case, org, given.kind)
    lock_branch(session, org.id or 0, case)
    steps = steps_of(session, [case_id])[case_id]
    _in_order(case, steps, given.kind)
    text = given.text.strip()
    if len(text) > MAX_CASE_TEXT:
        raise Invalid(f"The text is at most {MAX_CASE_TEXT} characters.", "case_text_too_long")
    if given.kind in TEXT_REQUIRED and says_nothing(text):
        raise Invalid(f"The {given.kind} step needs its text.", "step_text_required")
    step = CaseStep(case_id=case_id, kind=given.kind, by_account=actor.account_id,
                    by_member=actor.member_id, on_behalf=on_behalf, at=now, text=text)
    before = audit.snapshot(case)
    _RECORD[given.kind](_Doing(session, actor, case, org, steps, replace(given, text=text),
                               step, now, today))
    case.updated_at = now
    session.add(case)
    session.add(step)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action=f"case.{given.kind}",
                 object_type="case", object_id=case.id, at=now, before=before,
                 after=audit.snapshot(case) | {"step": audit.snapshot(step)})
    return case


def _in_order(case: DisposalCase, steps: list[CaseStep], kind: StepKind) -> None:
    if kind == StepKind.defence:
        due = case.status in BEFORE_VOTE
    elif kind == StepKind.appeal:
        due = any(s.kind == StepKind.decision for s in steps) and not case.appeal_open
    elif kind == StepKind.appeal_answer:
        due = case.appeal_open
    else:
        due = NEXT_STEP.get(case.status) == kind
    if not due:
        raise WorkflowConflict(f"Case {case.id} is {case.status}: the {kind} step is not "
                               "due now.", "wrong_step")


def _back_to_talked(case: DisposalCase) -> None:
    case.status, case.measure, case.months, case.deadline = CaseStatus.talked, None, None, None


def _close(case: DisposalCase, outcome: CaseOutcome) -> None:
    case.status, case.outcome = CaseStatus.closed, outcome


def _result(d: _Doing, *allowed: str) -> str:
    if d.given.result not in allowed:
        raise Invalid(f"The {d.given.kind} step's result is one of {', '.join(allowed)}.",
                      "invalid_result")
    d.step.result = d.given.result
    return d.given.result


def _dated(d: _Doing, on: date | None) -> date:
    """The step's date: not in the future, not before the dated step before it."""
    if on is None:
        raise Invalid(f"The {d.given.kind} step needs its date.", "date_required")
    if on > d.today:
        raise Invalid(f"{on} is in the future.", "future_date")
    before = previous_dated(d.steps)
    if before is not None and on < step_day(before):
        raise DateBeforeStep(on, before)
    d.step.on = on
    return on


def _last(steps: list[CaseStep], kind: StepKind) -> CaseStep | None:
    return next((s for s in reversed(steps) if s.kind == kind), None)


# --- each step -----------------------------------------------------------------------------


def _investigation(d: _Doing) -> None:
    _dated(d, d.given.on or d.today)
    d.case.status = CaseStatus.investigated


def _talk(d: _Doing) -> None:
    _dated(d, d.given.on)
    talkers = d.given.talker_ids
    if len(talkers) != 2 or talkers[0] == talkers[1]:
        raise Invalid("A talk has two talkers, two different members.", "talkers_invalid")
    facts = member_facts(d.session, talkers, d.step.on or d.today)
    for talker_id in talkers:
        talker = d.session.get(Member, talker_id)
        if talker is None or talker.org_id != d.case.org_id or \
                talker_id == d.case.member_id or talker.standing != Standing.full or \
                facts[talker_id].rights_suspended:
            raise Invalid(f"Member {talker_id} cannot be a talker: talkers are full members "
                          "of the branch with their rights, not the member themself.",
                          "talkers_invalid")
    d.step.talker1_id, d.step.talker2_id = talkers
    d.case.status = CaseStatus.talked


def _proposal(d: _Doing) -> None:
    measure = d.given.measure
    if measure is None:
        raise Invalid("A proposal names its measure.", "measure_required")
    allowed = allowed_measures(d.case, d.steps)
    if measure not in allowed:
        raise WorkflowConflict(f"This case may only propose: {', '.join(allowed)}.",
                               "measure_not_allowed")
    months = d.given.months
    if measure != CaseMeasure.rectify:
        if months is not None:
            raise Invalid("months go with the measure rectify only.", "months_not_rectify")
    elif months is None:
        months = load_rule_set(d.session, d.case.year, d.now).params.rectify_months
    elif not 1 <= months <= MAX_RECTIFY_MONTHS:
        raise Invalid(f"months must be from 1 to {MAX_RECTIFY_MONTHS}.", "months_out_of_range")
    d.step.measure, d.step.months = measure, months
    d.case.measure, d.case.months, d.case.deadline = measure, months, None
    d.case.status = CaseStatus.proposed


def _prereview(d: _Doing) -> None:
    proposal = _last(d.steps, StepKind.proposal)
    if proposal is not None and proposal.by_account == d.actor.account_id:
        raise Forbidden("The one who recorded the proposal does not prereview it.",
                        "own_proposal")
    if _result(d, "approve", "return") == "return":
        if not d.given.text:
            raise Invalid("A returned prereview says why in its note.",
                          "return_note_required")
        _back_to_talked(d.case)
    else:
        d.case.status = CaseStatus.prereviewed


def _defence(d: _Doing) -> None:
    """申辩: recorded on the case, no status change."""


def _vote(d: _Doing) -> None:
    held_on = _dated(d, d.given.on)
    counts = (d.given.present, d.given.votes_for, d.given.against, d.given.abstain)
    if any(c is None or c < 0 for c in counts):
        raise Invalid("A vote gives present, for, against and abstain, each 0 or more.",
                      "counts_required")
    eligible = len(members_with_a_vote(d.session, d.case.org_id, held_on))
    vote = VoteCount(eligible, d.given.present or 0, d.given.votes_for or 0,
                     d.given.against or 0, d.given.abstain or 0)
    problem = vote.problem()
    if problem == VoteProblem.no_quorum:
        raise WorkflowConflict(f"{vote.present} present of {eligible} members with a vote: "
                               "more than half must be there.", "no_quorum")
    if problem is not None:
        raise Invalid(f"The counts do not add up ({problem}): for + against + abstain must "
                      f"be present, and present at most the {eligible} members with a vote.",
                      problem.value)
    d.step.eligible, d.step.present, d.step.votes_for = eligible, vote.present, vote.votes_for
    d.step.against, d.step.abstain, d.step.passed = vote.against, vote.abstain, vote.passed
    if vote.passed:
        d.case.status = CaseStatus.voted
    else:
        _close(d.case, CaseOutcome.not_adopted)


def _decision(d: _Doing) -> None:
    decided_on = _dated(d, d.given.on or d.today)
    if _result(d, "approve", "refuse") == "refuse":
        _close(d.case, CaseOutcome.refused)
    elif d.case.measure == CaseMeasure.rectify:
        d.case.status = CaseStatus.rectifying
        d.case.deadline = add_months(decided_on, d.case.months or 0)
    elif d.case.measure == CaseMeasure.persuade:
        d.case.status = CaseStatus.persuading
    else:
        _leaves(d, LeaveKind.expelled, decided_on, "除名")
        _close(d.case, CaseOutcome.expelled)


def _leaves(d: _Doing, kind: LeaveKind, on: date, words: str) -> None:
    member = d.session.get(Member, d.case.member_id)
    assert member is not None
    mark_left(d.session, d.actor.account_id, member, kind, on,
              f"{words}（处置案件 {d.case.id}）", d.now)


def _withdrawal(d: _Doing) -> None:
    if _result(d, "agreed", "refused") == "agreed":
        _leaves(d, LeaveKind.persuaded, d.today, "劝退")
        _close(d.case, CaseOutcome.persuaded)
    else:
        _back_to_talked(d.case)


def _followup(d: _Doing) -> None:
    if d.case.deadline is not None and d.today < d.case.deadline:
        raise WorkflowConflict(f"The deadline is {d.case.deadline}: 期满考察 comes on or "
                               "after it.", "deadline_not_reached")
    if _result(d, "rectified", "not_rectified") == "rectified":
        _close(d.case, CaseOutcome.rectified)
    else:
        _back_to_talked(d.case)


def _appeal(d: _Doing) -> None:
    d.case.appeal_open = True


def _appeal_answer(d: _Doing) -> None:
    d.case.appeal_open = False


_RECORD: dict[StepKind, Callable[[_Doing], None]] = {
    StepKind.investigation: _investigation, StepKind.talk: _talk,
    StepKind.proposal: _proposal, StepKind.prereview: _prereview,
    StepKind.defence: _defence, StepKind.vote: _vote, StepKind.decision: _decision,
    StepKind.withdrawal: _withdrawal, StepKind.followup: _followup,
    StepKind.appeal: _appeal, StepKind.appeal_answer: _appeal_answer,
}
