"""`jifen check` of disposal cases (appraisal.md §5), beside app/services/integrity.py.

- cases: each case's steps, replayed in the order recorded, are each allowed after the one
  before (the filing first and once; a defence before the vote; an appeal after the
  decision, one at a time; an appeal's answer to an open appeal; every other step the one
  its status waits for), and they lead to the case's status, outcome, measure and open
  appeal as stored. Every member whose standing is `left` as expelled (除名) or persuaded
  (劝退) has the closed case with that outcome, and every such case's member has left.
- each step still says what the rules let it say, from its stored fields alone: a vote's
  counts add up (for + against + abstain = present), present ≤ eligible, more than half
  came (present × 2 > eligible), and `passed` is for × 2 > eligible; a talk has two
  different talkers, neither the case's member; a dated step (cases.DATED_STEPS) is not
  before the dated step before it, nor after the day it was recorded.
- each step is the one its audit row recorded (every step is audited as it is recorded,
  the whole row under `after.step`), and every audit row of a step still has its step: a
  step edited, inserted or deleted behind the app's back shows, even when what it now
  says is allowed. (Editing the audit row as well breaks the audit chain.)
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import (
    AuditLog,
    CaseOutcome,
    CaseStatus,
    CaseStep,
    DisposalCase,
    LeaveKind,
    Member,
    Standing,
    StepKind,
)
from app.points.disposal import VoteCount, VoteProblem, add_months
from app.services import audit
from app.services.cases import (
    BEFORE_VOTE,
    DATED_STEPS,
    NEXT_STEP,
    beijing_day,
    previous_dated,
    step_day,
)

Add = Callable[[str, str, int | None, str], None]  # Report.add: check, type, id, message
Name = Callable[[int], str]  # a member's id → "member 9 (高刚)"
STEP_ACTIONS = tuple(f"case.{kind}" for kind in StepKind)  # what case_steps.py audits
TO_TALKED = {("prereview", "return"), ("withdrawal", "refused"), ("followup", "not_rectified")}
CLOSES = {("withdrawal", "agreed"): CaseOutcome.persuaded,
          ("followup", "rectified"): CaseOutcome.rectified,
          ("decision", "refuse"): CaseOutcome.refused}
AFTER = {StepKind.investigation: CaseStatus.investigated, StepKind.talk: CaseStatus.talked,
         StepKind.proposal: CaseStatus.proposed, StepKind.prereview: CaseStatus.prereviewed}
DECIDED = {"rectify": CaseStatus.rectifying, "persuade": CaseStatus.persuading}
LEFT_BY_CASE = {LeaveKind.expelled: CaseOutcome.expelled,
                LeaveKind.persuaded: CaseOutcome.persuaded}


def _state_words(status: CaseStatus | None, outcome: CaseOutcome | None, measure: str | None,
                 appeal_open: bool) -> str:
    """closed, outcome expelled, measure expel, no appeal open."""
    return ", ".join((status or "not filed", f"outcome {outcome or 'none'}",
                      f"measure {measure or 'none'}",
                      "an appeal open" if appeal_open else "no appeal open"))


class _Replay:
    """A case's state as its steps leave it."""

    def __init__(self) -> None:
        self.status: CaseStatus | None = None
        self.outcome: CaseOutcome | None = None
        self.measure: str | None = None
        self.appeal_open = False
        self.decided = False
        self.months: int | None = None  # of a proposed 限期改正
        self.deadline: date | None = None  # of an approved one
        self.left_on: date | None = None  # the day an expulsion or a 劝退 took effect

    def words(self) -> str:
        return _state_words(self.status, self.outcome, self.measure, self.appeal_open)

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
            self.months = self.deadline = None
        elif key in CLOSES:
            self.decided = self.decided or step.kind == StepKind.decision
            self.status, self.outcome = CaseStatus.closed, CLOSES[key]
            if self.outcome == CaseOutcome.persuaded:
                self.left_on = beijing_day(step.at)  # recorded the day it is told
        elif step.kind == StepKind.vote:
            self.status = CaseStatus.voted if step.passed else CaseStatus.closed
            self.outcome = None if step.passed else CaseOutcome.not_adopted
        elif step.kind == StepKind.decision:
            self.decided = True
            self.status = DECIDED.get(self.measure or "", CaseStatus.closed)
            if self.status == CaseStatus.closed:
                self.outcome, self.left_on = CaseOutcome.expelled, step.on
            elif self.status == CaseStatus.rectifying and step.on is not None:
                self.deadline = add_months(step.on, self.months or 0)
        else:
            if step.kind == StepKind.proposal:
                self.measure, self.months, self.deadline = step.measure, step.months, None
            self.status = AFTER[step.kind]

    def term_differs(self, case: DisposalCase) -> str | None:
        """While a 限期改正 is proposed or runs: its months and deadline as stored against
        those its steps give (the deadline decides when 期满考察 may be recorded)."""
        if self.measure != "rectify" or case.status == CaseStatus.closed:
            return None
        if (case.months, case.deadline) == (self.months, self.deadline):
            return None
        return (f"case {case.id} is stored with {case.months} months to correct, deadline "
                f"{case.deadline}, but its steps give {self.months} months, deadline "
                f"{self.deadline}.")


def _step_name(step: CaseStep) -> str:
    return f"step {step.id} ({step.kind})"


def _vote_problems(step: CaseStep) -> list[str]:
    counts = (step.eligible, step.present, step.votes_for, step.against, step.abstain)
    if step.eligible is None or step.present is None or step.votes_for is None or \
            step.against is None or step.abstain is None or step.passed is None:
        return [f"its counts or its result are missing ({counts}, passed {step.passed})"]
    vote = VoteCount(step.eligible, step.present, step.votes_for, step.against, step.abstain)
    said = {
        VoteProblem.counts_mismatch: f"{vote.votes_for} for + {vote.against} against + "
                                     f"{vote.abstain} abstaining is not the {vote.present} "
                                     "present",
        VoteProblem.present_over_eligible: f"{vote.present} present is more than the "
                                           f"{vote.eligible} members with a vote",
        VoteProblem.no_quorum: f"{vote.present} present of {vote.eligible} members with a "
                               "vote is no quorum (more than half must be there)",
    }
    wrong = [said[problem] for problem in vote.problems()]
    if step.passed != vote.passed:
        majority = "is" if vote.passed else "is not"
        wrong.append(f"it is stored as {'passed' if step.passed else 'not passed'}, but "
                     f"{vote.votes_for} for of {vote.eligible} members with a vote {majority} "
                     "more than half")
    return wrong


def _talk_problems(case: DisposalCase, step: CaseStep, name: Name) -> list[str]:
    talkers = [t for t in (step.talker1_id, step.talker2_id) if t is not None]
    wrong = []
    if len(talkers) != 2:
        wrong.append("it does not have two talkers")
    elif talkers[0] == talkers[1]:
        wrong.append(f"its two talkers are one member, {name(talkers[0])}")
    if case.member_id in talkers:
        wrong.append(f"{name(case.member_id)}, whom the case is about, is one of its talkers")
    return wrong


def _date_problems(step: CaseStep, before: CaseStep | None) -> list[str]:
    if step.on is None and step.kind not in (StepKind.file, StepKind.investigation):
        return ["it has no date"]
    day, wrong = step_day(step), []
    if before is not None and day < step_day(before):
        wrong.append(f"it is dated {day}, before {_step_name(before)} of {step_day(before)}")
    if day > beijing_day(step.at):
        wrong.append(f"it is dated {day}, after the day it was recorded "
                     f"({beijing_day(step.at)})")
    return wrong


def _rule_problems(case: DisposalCase, steps: list[CaseStep], name: Name, add: Add) -> None:
    """What each step's stored fields break of the rules it was recorded under."""
    for n, step in enumerate(steps):
        wrong = []
        if step.kind == StepKind.vote:
            wrong += _vote_problems(step)
        if step.kind == StepKind.talk:
            wrong += _talk_problems(case, step, name)
        if step.kind in DATED_STEPS:
            wrong += _date_problems(step, previous_dated(steps[:n]))
        if wrong:
            add("cases", "case", case.id, f"case {case.id}, {_step_name(step)}: "
                f"{'; '.join(wrong)}.")


@dataclass(frozen=True)
class _Recorded:
    """A step as its audit row recorded it."""

    row_id: int
    case_id: int | None
    fields: dict[str, Any]


def _recorded_steps(session: Session, add: Add) -> dict[int, list[_Recorded]]:
    """Every step the audit log recorded, by step id."""
    found: dict[int, list[_Recorded]] = defaultdict(list)
    rows = session.execute(sa.select(col(AuditLog.id), col(AuditLog.object_id),
                                     col(AuditLog.action), col(AuditLog.after))
                           .where(col(AuditLog.object_type) == "case",
                                  col(AuditLog.action).in_(STEP_ACTIONS))
                           .order_by(col(AuditLog.id)))
    for row_id, case_id, action, after in rows:
        try:
            step = json.loads(after or "null")["step"]
            found[int(step["id"])].append(_Recorded(row_id, case_id, step))
        except (ValueError, TypeError, KeyError):
            add("cases", "case", case_id, f"case {case_id}: audit row {row_id} ({action}) "
                "does not hold the step it recorded.")
    return found


def _same(field: str, recorded: Any, now: Any) -> bool:
    """Equal as stored: a moment is the same instant whatever zone it was written in."""
    if field == "at" and isinstance(recorded, str) and isinstance(now, str):
        try:
            return datetime.fromisoformat(recorded) == datetime.fromisoformat(now)
        except ValueError:
            return False
    return bool(recorded == now)


def _shown(value: Any) -> str:
    text = "none" if value is None else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _audit_problems(case: DisposalCase, steps: list[CaseStep],
                    recorded: dict[int, list[_Recorded]], add: Add) -> None:
    """Each step is the one its audit row recorded; what the log still holds of the case's
    steps once they are taken out is what was deleted."""
    for step in steps:
        rows = recorded.pop(step.id or 0, [])
        where = f"case {case.id}, {_step_name(step)}"
        if not rows:
            add("cases", "case", case.id, f"{where}: the audit log has no row recording it: "
                "it was written behind the app's back.")
            continue
        if len(rows) > 1:
            add("cases", "case", case.id, f"{where}: audit rows "
                f"{', '.join(str(r.row_id) for r in rows)} all record it.")
        now = audit.snapshot(step)
        first = rows[0]
        differ = [f"{field} {_shown(now.get(field))} (recorded {_shown(first.fields.get(field))})"
                  for field in sorted(set(now) | set(first.fields))
                  if not _same(field, first.fields.get(field), now.get(field))]
        if first.case_id != case.id:
            differ.append(f"its audit row {first.row_id} is of case {first.case_id}")
        if differ:
            add("cases", "case", case.id, f"{where} is not what audit row {first.row_id} "
                f"recorded: {', '.join(differ)}: it was changed behind the app's back.")


def check_cases(session: Session, add: Add, name: Name) -> int:
    """The cases check; answers how many cases were checked."""
    steps: dict[int, list[CaseStep]] = defaultdict(list)
    for step in session.exec(select(CaseStep).order_by(col(CaseStep.id))).all():
        steps[step.case_id].append(step)
    recorded = _recorded_steps(session, add)
    found = session.exec(select(DisposalCase).order_by(col(DisposalCase.id))).all()
    closed_by: dict[tuple[int, CaseOutcome], int] = {}
    left_on: dict[int, tuple[int, date]] = {}  # member → (case, the day its steps say)
    for case in found:
        mine = steps.get(case.id or 0, [])
        replay = _Replay()
        for step in mine:
            if not replay.allowed(step):
                add("cases", "case", case.id, f"case {case.id}, {_step_name(step)}: it is "
                    f"not allowed after the steps before it (the case was then "
                    f"{replay.words()}).")
                break
            replay.take(step)
        else:
            stored = (case.status, case.outcome, case.appeal_open)
            replayed = (replay.status, replay.outcome, replay.appeal_open)
            if stored != replayed or (case.status != CaseStatus.talked
                                      and case.measure != replay.measure
                                      and case.status != CaseStatus.filed):
                was = _state_words(case.status, case.outcome, case.measure, case.appeal_open)
                add("cases", "case", case.id, f"case {case.id} is stored as {was}, but its "
                    f"steps lead to {replay.words()}.")
            term = replay.term_differs(case)
            if term is not None:
                add("cases", "case", case.id, term)
            if replay.left_on is not None:
                left_on[case.member_id] = (case.id or 0, replay.left_on)
        _rule_problems(case, mine, name, add)
        _audit_problems(case, mine, recorded, add)
        if case.outcome in LEFT_BY_CASE.values():
            closed_by[(case.member_id, case.outcome)] = case.id or 0  # type: ignore[index]
    for step_id, rows in sorted(recorded.items()):
        for row in rows:
            add("cases", "case", row.case_id, f"case {row.case_id}, step {step_id} "
                f"({row.fields.get('kind', '?')}), recorded by audit row {row.row_id}, is no "
                "longer in the database: it was deleted behind the app's back.")
    left = session.exec(select(Member).where(col(Member.left_kind).in_(list(LEFT_BY_CASE)))
                        ).all()
    for member in left:
        outcome = LEFT_BY_CASE[member.left_kind]  # type: ignore[index]
        if member.standing != Standing.left or (member.id, outcome) not in closed_by:
            add("cases", "member", member.id, f"{name(member.id or 0)} left as "
                f"{member.left_kind} without the closed case (outcome {outcome}) that did it.")
        elif member.id in left_on and member.left_on != left_on[member.id or 0][1]:
            case_id, day = left_on[member.id or 0]
            add("cases", "member", member.id, f"{name(member.id or 0)} is stored as having "
                f"left on {member.left_on}, but case {case_id}'s steps say {day}.")
    for (member_id, outcome), case_id in closed_by.items():
        subject = session.get(Member, member_id)
        if subject is None or subject.standing != Standing.left:
            add("cases", "case", case_id, f"case {case_id} closed with outcome {outcome}, "
                f"but {name(member_id)} has not left.")
    return len(found)
