"""不合格党员处置: disposal cases (appraisal.md §5). Who sees a case, who takes each step,
and what is due next; the steps themselves are recorded in app/services/case_steps.py.

A case is seen by the member it is about, the branch committee, the committees above and
administrators; to anyone else it does not exist (404), and no list shows it to another
member. The branch committee files it and takes the branch's steps; the committee above
(appraisal.md §2.8: the nearest 党委 above the branch) or an administrator prereviews and
decides; the member writes their defence and appeal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.clock import CHINA
from app.models import (
    CaseGround,
    CaseMeasure,
    CaseStatus,
    CaseStep,
    DisposalCase,
    Member,
    MemberSuspension,
    Org,
    Rating,
    RatingItem,
    RatingStatus,
    Standing,
    StepKind,
)
from app.points import Grade
from app.services import audit
from app.services.access import (
    Actor,
    get_member,
    get_org,
    managed_org_filter,
    require_branch_committee,
    require_person,
)
from app.services.appraisal import approves, nearest_committee
from app.services.errors import Forbidden, Invalid, NotFound, WorkflowConflict
from app.services.locking import lock_branch
from app.services.paging import Feed, Listing, page
from app.services.standing import active_exemptions, running
from app.services.sync import SyncRead

MAX_CASE_TEXT = 2000


class Party(StrEnum):
    """Who takes a step (appraisal.md §5's `by`)."""

    branch_committee = "branch_committee"
    committee_above = "committee_above"
    member = "member"


STEP_PARTY = {
    StepKind.file: Party.branch_committee,
    StepKind.investigation: Party.branch_committee,
    StepKind.talk: Party.branch_committee,
    StepKind.proposal: Party.branch_committee,
    StepKind.prereview: Party.committee_above,
    StepKind.defence: Party.member,
    StepKind.vote: Party.branch_committee,
    StepKind.decision: Party.committee_above,
    StepKind.withdrawal: Party.branch_committee,
    StepKind.followup: Party.branch_committee,
    StepKind.appeal: Party.member,
    StepKind.appeal_answer: Party.committee_above,
}

# The step each status waits for, in §5's order (closed: none).
NEXT_STEP = {
    CaseStatus.filed: StepKind.investigation,
    CaseStatus.investigated: StepKind.talk,
    CaseStatus.talked: StepKind.proposal,
    CaseStatus.proposed: StepKind.prereview,
    CaseStatus.prereviewed: StepKind.vote,
    CaseStatus.voted: StepKind.decision,
    CaseStatus.rectifying: StepKind.followup,
    CaseStatus.persuading: StepKind.withdrawal,
}
# A defence (申辩) is heard any time before the branch meeting votes.
BEFORE_VOTE = (CaseStatus.filed, CaseStatus.investigated, CaseStatus.talked,
               CaseStatus.proposed, CaseStatus.prereviewed)
# What waits for the committee above: a prereview, a decision, or an appeal's answer.
ABOVE_STATES = (CaseStatus.proposed, CaseStatus.voted)
# What waits for the branch's own committee at once (a 限期改正 waits for its deadline).
BRANCH_STATES = tuple(status for status, kind in NEXT_STEP.items()
                      if STEP_PARTY[kind] == Party.branch_committee
                      and status != CaseStatus.rectifying)


# --- reading -----------------------------------------------------------------------------


def sees(actor: Actor, case: DisposalCase, org: Org) -> bool:
    """The member it is about, the committees of the branch and above, administrators;
    never a service account's key (to it, as to anyone outside, no case exists)."""
    if actor.service:
        return False
    return actor.member_id == case.member_id or actor.manages(org)


def get_case(session: Session, actor: Actor, case_id: int) -> tuple[DisposalCase, Org]:
    case = session.get(DisposalCase, case_id)
    org = session.get(Org, case.org_id) if case else None
    if case is None or org is None or not sees(actor, case, org):
        raise NotFound(f"Case {case_id} does not exist or is outside your scope.")
    return case, org


def steps_of(session: Session, case_ids: Iterable[int]) -> dict[int, list[CaseStep]]:
    """Each case's steps in the order recorded, in one query."""
    ids = list(case_ids)
    found: dict[int, list[CaseStep]] = defaultdict(list)
    if ids:
        for step in session.exec(select(CaseStep).where(col(CaseStep.case_id).in_(ids))
                                 .order_by(col(CaseStep.id))).all():
            found[step.case_id].append(step)
    return {i: found.get(i, []) for i in ids}


def _visible(actor: Actor) -> sa.ColumnElement[bool]:
    if actor.service:
        return sa.false()
    managed = col(DisposalCase.org_id).in_(select(Org.id).where(managed_org_filter(actor)))
    if actor.member_id is None:
        return managed
    return sa.or_(managed, col(DisposalCase.member_id) == actor.member_id)


FEED = Feed("cases", col(DisposalCase.updated_at), col(DisposalCase.id))


def list_cases(session: Session, actor: Actor, org_id: int | None, member_id: int | None,
               status: CaseStatus | None, limit: int, offset: int,
               sync: SyncRead | None = None) -> Listing[DisposalCase]:
    """The cases the actor sees, newest first (by (updated_at, id) for a sync read);
    `org_id` takes the organisation's subtree (404 outside the actor's view)."""
    where = [_visible(actor)]
    if org_id is not None:
        org = get_org(session, actor, org_id)
        subtree = select(Org.id).where(col(Org.path).startswith(org.path, autoescape=True))
        where.append(col(DisposalCase.org_id).in_(subtree))
    if member_id is not None:
        get_member(session, actor, member_id)  # 404 outside the caller's view, not []
        where.append(col(DisposalCase.member_id) == member_id)
    if status is not None:
        where.append(col(DisposalCase.status) == status)
    return page(session, select(DisposalCase).where(*where), col(DisposalCase.id).desc(),
                limit=limit, offset=offset, sync=sync, feed=FEED)


def cases_of_member(session: Session, actor: Actor, member_id: int) -> list[DisposalCase]:
    """A member's cases, newest first (404 if the actor may not see the member)."""
    get_member(session, actor, member_id)
    return list_cases(session, actor, None, member_id, None, 1000, 0).rows


def waiting_above(session: Session, actor: Actor) -> list[DisposalCase]:
    """Cases waiting for the actor as the committee above (or an administrator): a
    prereview, a decision, or an appeal's answer; oldest first."""
    if actor.service or not (actor.is_admin or actor.committee_org_ids):
        return []
    rows = session.exec(select(DisposalCase, Org).join(Org, col(Org.id) == DisposalCase.org_id)
                        .where(sa.or_(col(DisposalCase.status).in_(ABOVE_STATES),
                                      col(DisposalCase.appeal_open)),
                               managed_org_filter(actor))
                        .order_by(col(DisposalCase.updated_at), col(DisposalCase.id))).all()
    answers: dict[int, bool] = {}
    for _, org in rows:
        if org.id not in answers:
            answers[org.id or 0] = approves(session, actor, org)
    # A committee member's own case is never theirs to act on (own_case): not in their queue.
    return [case for case, org in rows if answers[org.id or 0]
            and case.member_id != actor.member_id]


# --- what is due next --------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """The step a case waits for, who takes it, and for 期满考察 its deadline."""

    kind: StepKind
    by: Party
    deadline: date | None = None
    days_left: int | None = None  # negative: the deadline has passed


def next_step(case: DisposalCase, today: date) -> Due | None:
    """What the case waits for; a closed case, only an appeal's answer if one is open."""
    kind = NEXT_STEP.get(case.status)
    if kind is None:
        return Due(StepKind.appeal_answer, Party.committee_above) if case.appeal_open else None
    if kind == StepKind.followup and case.deadline is not None:
        return Due(kind, STEP_PARTY[kind], case.deadline, (case.deadline - today).days)
    return Due(kind, STEP_PARTY[kind])


def allowed_measures(case: DisposalCase, steps: list[CaseStep]) -> tuple[CaseMeasure, ...]:
    """The measures a proposal may still make: 自行脱党 only 除名 (党章第九条); after 期满
    not rectified, 劝退 or 除名; after a refused 劝退, only 除名."""
    allowed = set(CaseMeasure)
    if case.ground == CaseGround.no_participation:
        allowed = {CaseMeasure.expel}
    for step in steps:
        if step.kind == StepKind.followup and step.result == "not_rectified":
            allowed.discard(CaseMeasure.rectify)
        if step.kind == StepKind.withdrawal and step.result == "refused":
            allowed &= {CaseMeasure.expel}
    return tuple(m for m in CaseMeasure if m in allowed)


def members_with_a_vote(session: Session, org_id: int, on: date) -> list[int]:
    """应到会有表决权的党员 on a day (appraisal.md §5): the branch's full members (joined,
    and 转正 by then), not left, without rights suspended that day, not exempt in its
    year. The member a case is about counts like any other."""
    full = session.exec(select(Member.id).where(
        Member.org_id == org_id, Member.standing == Standing.full,
        col(Member.joined_on) <= on,
        sa.or_(col(Member.full_since).is_(None), col(Member.full_since) <= on))).all()
    ids = [i for i in full if i is not None]
    if not ids:
        return []
    suspended = set(session.exec(select(MemberSuspension.member_id).where(
        col(MemberSuspension.member_id).in_(ids), running(on))).all())
    exempt = active_exemptions(session, ids, on.year)
    return sorted(i for i in ids if i not in suspended and i not in exempt)


# --- filing --------------------------------------------------------------------------------


def require_party(session: Session, actor: Actor, case: DisposalCase, org: Org,
                  kind: StepKind) -> bool:
    """Refuse (403) anyone but the step's party; True when the level above records the
    member's appeal on behalf of a member who has left (and cannot log in)."""
    party = STEP_PARTY[kind]
    if party == Party.member:
        if actor.member_id == case.member_id:
            return False
        member = session.get(Member, case.member_id)
        if kind == StepKind.appeal and member is not None and \
                member.standing == Standing.left and approves(session, actor, org):
            return True
        raise Forbidden("Only the member the case is about writes this step (for a member "
                        "who has left, the committee above records their appeal).",
                        "member_only")
    if actor.member_id == case.member_id:
        raise Forbidden("A member takes no committee step in their own case.", "own_case")
    if party == Party.branch_committee:
        require_branch_committee(actor, org)
    elif not approves(session, actor, org):
        raise Forbidden(f"Only the committee above {org.name} (the nearest 党委) or an "
                        "administrator takes this step.", "committee_above_only")
    return False


def file_case(session: Session, actor: Actor, member_id: int, ground: CaseGround, year: int,
              note: str, now: datetime, today: date, filed_on: date | None = None
              ) -> DisposalCase:
    """启动组织处置: the branch committee opens a case about one of its members, on
    `filed_on` (today unless given: a case may be typed in after the meetings)."""
    require_person(actor, "take part in a disposal case")
    member, org = get_member(session, actor, member_id)
    require_branch_committee(actor, org)
    if actor.member_id == member_id:
        raise Forbidden("A member takes no committee step in their own case.", "own_case")
    lock_branch(session, org.id or 0, member)
    note = note.strip()
    if member.standing == Standing.left:
        raise WorkflowConflict(f"{member.name} has left the membership.", "member_left")
    if member.standing == Standing.probationary:
        raise WorkflowConflict(f"{member.name} is a probationary member: their case is "
                               "handled at 转正, not here.", "probationary")
    if year > today.year:
        raise Invalid(f"year {year} is after this year.", "future_year")
    filed_on = filed_on or today
    if filed_on > today:
        raise Invalid(f"filed_on {filed_on} is in the future.", "future_date")
    earliest = max(date(year, 1, 1), member.joined_on)
    if filed_on < earliest:
        raise Invalid(f"filed_on {filed_on} is before {earliest}: a case is filed in or after "
                      f"its year and after {member.name} joined.", "filed_too_early")
    if ground == CaseGround.other and not note:
        raise Invalid("A case on ground other needs a note saying why.", "note_required")
    if len(note) > MAX_CASE_TEXT:
        raise Invalid(f"The note is at most {MAX_CASE_TEXT} characters.", "case_text_too_long")
    open_case = session.exec(select(DisposalCase.id).where(
        DisposalCase.member_id == member_id,
        col(DisposalCase.status) != CaseStatus.closed)).first()
    if open_case is not None:
        raise WorkflowConflict(f"{member.name} already has an open case ({open_case}).",
                               "case_open")
    if ground == CaseGround.unqualified_rating:
        _graded_unqualified(session, member, year)
    case = DisposalCase(member_id=member_id, org_id=org.id or 0, ground=ground, year=year,
                        note=note, created_by=actor.account_id, created_at=now,
                        updated_at=now)
    session.add(case)
    session.flush()
    step = CaseStep(case_id=case.id or 0, kind=StepKind.file, by_account=actor.account_id,
                    by_member=actor.member_id, at=now, on=filed_on, text=note)
    session.add(step)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="case.file", object_type="case",
                 object_id=case.id, at=now,
                 after=audit.snapshot(case) | {"step": audit.snapshot(step)})
    return case


def _graded_unqualified(session: Session, member: Member, year: int) -> None:
    """The member's line in the branch's approved rating of `year` is unqualified, and not
    by a V01 veto (已受党纪处分的, 不再因同一问题进行组织处置)."""
    line = session.exec(select(RatingItem).join(Rating, col(Rating.id) == RatingItem.rating_id)
                        .where(Rating.org_id == member.org_id, Rating.year == year,
                               Rating.status == RatingStatus.approved,
                               RatingItem.member_id == member.id)).first()
    if line is None or line.grade != Grade.unqualified:
        raise WorkflowConflict(f"{member.name} is not graded unqualified in the approved "
                               f"rating of {year}.", "not_unqualified")
    if line.vetoed:
        raise WorkflowConflict(f"{member.name}'s grade of {year} comes from a veto (V01): "
                               "the same matter is not handled twice.", "already_disciplined")


def beijing_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


# The steps people date (the filing, 调查核实, the talk, the vote, the decision): each is
# dated on or after the one of them before it.
DATED_STEPS = (StepKind.file, StepKind.investigation, StepKind.talk, StepKind.vote,
               StepKind.decision)
# The steps of the case's path that take no date: their day is the day they were recorded,
# and a dated step after them is not before it (a vote is not dated before the prereview
# it needs). The member's defence and the appeals stand aside from the order.
ORDERED_STEPS = (*DATED_STEPS, StepKind.proposal, StepKind.prereview, StepKind.withdrawal,
                 StepKind.followup)


def step_day(step: CaseStep) -> date:
    """The date entered for the step, or (a filing or 调查核实 recorded before they took a
    date) the Beijing day it was recorded."""
    return step.on if step.on is not None else beijing_day(step.at)


def previous_dated(steps: list[CaseStep]) -> CaseStep | None:
    """The latest step of the case's path (ORDERED_STEPS), which the next dated step may not
    be before. A 调查核实 recorded before it took a date is passed over: its stamp is the
    day it was typed in, and the talk after it was then compared with the filing."""
    return next((s for s in reversed(steps) if s.kind in ORDERED_STEPS
                 and (s.on is not None or s.kind != StepKind.investigation)), None)


def committee_above_of(session: Session, org: Org) -> Org | None:
    """The organisation whose committee prereviews and decides (appraisal.md §2.8)."""
    return nearest_committee(session, org)
