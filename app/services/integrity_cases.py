"""`jifen check` of disposal cases (appraisal.md §5), beside app/services/integrity.py.

- cases: each case's steps, replayed in the order recorded, are each allowed after the one
  before (the filing first and once; a defence before the vote; an appeal after the
  decision, one at a time; an appeal's answer to an open appeal; every other step the one
  its status waits for), and they lead to the case's status, outcome, measure and open
  appeal as stored. Every member whose standing is `left` as expelled (除名) or persuaded
  (劝退) has the closed case with that outcome, and every such case's member has left.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlmodel import Session, col, select

from app.models import (
    CaseOutcome,
    CaseStatus,
    CaseStep,
    DisposalCase,
    LeaveKind,
    Member,
    Standing,
    StepKind,
)
from app.services.cases import BEFORE_VOTE, NEXT_STEP

Add = Callable[[str, str, int | None, str], None]  # Report.add: check, type, id, message
TO_TALKED = {("prereview", "return"), ("withdrawal", "refused"), ("followup", "not_rectified")}
CLOSES = {("withdrawal", "agreed"): CaseOutcome.persuaded,
          ("followup", "rectified"): CaseOutcome.rectified,
          ("decision", "refuse"): CaseOutcome.refused}
AFTER = {StepKind.investigation: CaseStatus.investigated, StepKind.talk: CaseStatus.talked,
         StepKind.proposal: CaseStatus.proposed, StepKind.prereview: CaseStatus.prereviewed}
DECIDED = {"rectify": CaseStatus.rectifying, "persuade": CaseStatus.persuading}
LEFT_BY_CASE = {LeaveKind.expelled: CaseOutcome.expelled,
                LeaveKind.persuaded: CaseOutcome.persuaded}


class _Replay:
    """A case's state as its steps leave it."""

    def __init__(self) -> None:
        self.status: CaseStatus | None = None
        self.outcome: CaseOutcome | None = None
        self.measure: str | None = None
        self.appeal_open = False
        self.decided = False

    def allowed(self, step: CaseStep) -> bool:
        if step.kind == StepKind.file:
            return self.status is None
        if self.status is None:
            return False
        if step.kind == StepKind.defence:
            return self.status in BEFORE_VOTE
        if step.kind == StepKind.appeal:
            return self.decided and not self.appeal_open
        if step.kind == StepKind.appeal_answer:
            return self.appeal_open
        return NEXT_STEP.get(self.status) == step.kind

    def take(self, step: CaseStep) -> None:
        key = (step.kind.value, step.result or "")
        if step.kind == StepKind.file:
            self.status = CaseStatus.filed
        elif step.kind == StepKind.appeal:
            self.appeal_open = True
        elif step.kind == StepKind.appeal_answer:
            self.appeal_open = False
        elif step.kind == StepKind.defence:
            pass
        elif key in TO_TALKED:
            self.status, self.measure = CaseStatus.talked, None
        elif key in CLOSES:
            self.decided = self.decided or step.kind == StepKind.decision
            self.status, self.outcome = CaseStatus.closed, CLOSES[key]
        elif step.kind == StepKind.vote:
            self.status = CaseStatus.voted if step.passed else CaseStatus.closed
            self.outcome = None if step.passed else CaseOutcome.not_adopted
        elif step.kind == StepKind.decision:
            self.decided = True
            self.status = DECIDED.get(self.measure or "", CaseStatus.closed)
            if self.status == CaseStatus.closed:
                self.outcome = CaseOutcome.expelled
        else:
            if step.kind == StepKind.proposal:
                self.measure = step.measure
            self.status = AFTER[step.kind]


def check_cases(session: Session, add: Add) -> int:
    """The cases check; answers how many cases were checked."""
    steps: dict[int, list[CaseStep]] = defaultdict(list)
    for step in session.exec(select(CaseStep).order_by(col(CaseStep.id))).all():
        steps[step.case_id].append(step)
    found = session.exec(select(DisposalCase).order_by(col(DisposalCase.id))).all()
    closed_by: dict[tuple[int, CaseOutcome], int] = {}
    for case in found:
        replay = _Replay()
        for step in steps.get(case.id or 0, []):
            if not replay.allowed(step):
                add("cases", "case", case.id, f"step {step.id} ({step.kind}) is not allowed "
                    f"after the steps before it (status {replay.status}).")
                break
            replay.take(step)
        else:
            stored = (case.status, case.outcome, case.appeal_open)
            replayed = (replay.status, replay.outcome, replay.appeal_open)
            if stored != replayed or (case.status != CaseStatus.talked
                                      and case.measure != replay.measure
                                      and case.status != CaseStatus.filed):
                add("cases", "case", case.id, f"status, outcome and open appeal {stored} "
                    f"are not what its steps lead to {replayed}.")
        if case.outcome in LEFT_BY_CASE.values():
            closed_by[(case.member_id, case.outcome)] = case.id or 0  # type: ignore[index]
    left = session.exec(select(Member).where(col(Member.left_kind).in_(list(LEFT_BY_CASE)))
                        ).all()
    for member in left:
        outcome = LEFT_BY_CASE[member.left_kind]  # type: ignore[index]
        if member.standing != Standing.left or (member.id, outcome) not in closed_by:
            add("cases", "member", member.id, f"{member.name} left as {member.left_kind} "
                f"without the closed case ({outcome}) that did it.")
    for (member_id, outcome), case_id in closed_by.items():
        subject = session.get(Member, member_id)
        if subject is None or subject.standing != Standing.left:
            add("cases", "case", case_id, f"the case closed {outcome}, but member "
                f"{member_id} has not left.")
    return len(found)
