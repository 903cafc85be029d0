"""What the case pages read (appraisal.md §5): a case with its steps and the names in them,
the branch's cases, the level above's queue, and the cases whose 限期改正 deadline nears or
has passed. Reading only; the steps are recorded in app/services/case_steps.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app.models import CaseStatus, CaseStep, DisposalCase, Member, Org, Standing, StepKind
from app.services import cases
from app.services.access import Actor, takes_branch_steps
from app.services.appraisal import approves
from app.services.standing import member_facts

LIST_LIMIT = 500


@dataclass(frozen=True)
class CaseFile:
    """One case as its page shows it: the case, its branch and member, the steps, the names
    of everyone in them, what comes next."""

    case: DisposalCase
    org: Org
    member: Member
    steps: list[CaseStep]
    member_names: dict[int, str]
    due: cases.Due | None

    def by(self, step: CaseStep) -> str | None:
        """Who recorded a step: the name of its account's member; None for an account that
        is no member's (an administrator), never its login name."""
        return self.member_names.get(step.by_member) if step.by_member is not None else None


def case_file(session: Session, actor: Actor, case_id: int, today: date) -> CaseFile:
    """The case if the actor may see it (404 otherwise), with everything its page names."""
    case, org = cases.get_case(session, actor, case_id)
    steps = cases.steps_of(session, [case_id])[case_id]
    member = session.get(Member, case.member_id)
    assert member is not None
    ids = {case.member_id} | {i for s in steps for i in (s.by_member, s.talker1_id,
                                                            s.talker2_id) if i is not None}
    names = {m.id or 0: m.name for m in session.exec(
        select(Member).where(col(Member.id).in_(ids))).all()}
    return CaseFile(case, org, member, steps, names, cases.next_step(case, today))


@dataclass(frozen=True)
class CaseRow:
    """A case in a list: the case, its member's name and branch."""

    case: DisposalCase
    member_name: str
    org: Org


def _rows(session: Session, found: list[DisposalCase]) -> list[CaseRow]:
    members = {m.id: m.name for m in session.exec(select(Member).where(
        col(Member.id).in_({c.member_id for c in found}))).all()}
    orgs = {o.id: o for o in session.exec(select(Org).where(
        col(Org.id).in_({c.org_id for c in found}))).all()}
    return [CaseRow(c, members.get(c.member_id, ""), orgs[c.org_id]) for c in found]


def branch_cases(session: Session, actor: Actor) -> list[CaseRow]:
    """The cases the actor reads as a committee (its branches' and, for a committee above,
    those of the branches below; administrators: all), newest first; never their own
    (that is on /me), never another member's to a plain member (cases.list_cases)."""
    found = cases.list_cases(session, actor, None, None, None, LIST_LIMIT, 0).rows
    return [r for r in _rows(session, found) if r.case.member_id != actor.member_id]


def queue_above(session: Session, actor: Actor) -> list[CaseRow]:
    """The level above's queue: cases waiting for its prereview, decision or an appeal's
    answer (cases.waiting_above), oldest first."""
    return _rows(session, cases.waiting_above(session, actor))


def may_take(session: Session, actor: Actor, file: CaseFile, kind: StepKind) -> bool:
    """Whether the page offers this actor the form of a committee step (the service decides
    again when it is posted)."""
    if actor.member_id == file.case.member_id:
        return False
    party = cases.STEP_PARTY[kind]
    if party == cases.Party.branch_committee:
        return takes_branch_steps(actor, file.org)
    if party == cases.Party.committee_above or kind == StepKind.appeal:
        return approves(session, actor, file.org)
    return False


def offered_steps(session: Session, actor: Actor, file: CaseFile) -> list[StepKind]:
    """The committee steps this actor may record now: the one due, an appeal's answer, and
    for a member who has left, their appeal recorded on their behalf."""
    kinds: list[StepKind] = []
    due = cases.NEXT_STEP.get(file.case.status)
    if due is not None:
        kinds.append(due)
    if file.case.appeal_open:
        kinds.append(StepKind.appeal_answer)
    elif file.member.standing == Standing.left and \
            any(s.kind == StepKind.decision for s in file.steps):
        kinds.append(StepKind.appeal)
    return [k for k in kinds if may_take(session, actor, file, k)]


def talker_choices(session: Session, file: CaseFile, on: date) -> list[tuple[int, str]]:
    """Who the talk form offers: the branch's full members with their rights on that day,
    not the member (the service checks again)."""
    full = session.exec(select(Member).where(
        Member.org_id == file.case.org_id, Member.standing == Standing.full,
        Member.id != file.case.member_id).order_by(col(Member.name))).all()
    facts = member_facts(session, [m.id or 0 for m in full], on)
    return [(m.id or 0, m.name) for m in full if not facts[m.id or 0].rights_suspended]


def may_file(actor: Actor, member: Member, org: Org, found: list[DisposalCase]) -> bool:
    """Whether the member's page offers 启动组织处置: the branch's own committee, a full
    member, not oneself, no open case (the service refuses the rest)."""
    return takes_branch_steps(actor, org) and member.standing == Standing.full \
        and actor.member_id != member.id \
        and all(c.status == CaseStatus.closed for c in found)

