"""Members and their score."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import SYNC_CODES, CurrentActor, PagingDep, SyncDep, errors
from app.api.etags import IfMatchDep
from app.api.params import (
    MemberIdPath,
    OrgFilter,
    OrgIdPath,
    SuspensionIdPath,
    YearPath,
    YearQuery,
)
from app.api.shape import listed, member_out
from app.clock import ClockDep
from app.db import SessionDep
from app.models import (
    ExemptionReason,
    LeaveKind,
    Member,
    MemberExemption,
    MemberSuspension,
    Standing,
)
from app.schemas import (
    ExemptionOut,
    ExemptionPut,
    ExemptionWithdraw,
    ItemScoreOut,
    LeaveBody,
    MemberCreate,
    MemberOut,
    MemberScoreOut,
    MemberUpdate,
    Page,
    QuarterOut,
    QuarterStatus,
    ScoreOut,
    SuspensionCreate,
    SuspensionEnd,
    SuspensionOut,
)
from app.services import members, standing
from app.services.access import get_member
from app.services.errors import NotFound
from app.services.member_score import MemberScore, member_score, org_scores

router = APIRouter(tags=["members"])


def _username(session: SessionDep, member_id: int) -> str | None:
    return members.usernames(session, [member_id]).get(member_id)


def _one(session: SessionDep, member: Member, today: date) -> MemberOut:
    member_id = member.id or 0
    return member_out(member, _username(session, member_id),
                      standing.member_facts(session, [member_id], today)[member_id])


def _read(session: SessionDep, actor: CurrentActor, member_id: int, today: date) -> MemberOut:
    """The member as GET /members/{id} answers the caller (and PATCH's If-Match compares)."""
    member, _ = get_member(session, actor, member_id)
    return _one(session, member, today)


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut,
             responses=errors(401, 403, 404, 409, 422, codes={403: ("service_account",)}))
def create_member(body: MemberCreate, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> MemberOut:
    """Create a member of a branch with a login (administrators, the branch's committee).
    Never with a service account's key (403 `service_account`): whoever sets a member's
    password can log in as them."""
    new = members.NewMember(name=body.name, org_id=body.org_id, category=body.category.value,
                            joined_on=body.joined_on, username=body.username,
                            password=body.password, standing=Standing(body.standing.value))
    member, _ = members.create_member(session, actor, new, clock.now(), clock.today())
    return _one(session, member, clock.today())


@router.get("/members", response_model=Page[MemberOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_members(session: SessionDep, actor: CurrentActor, paging: PagingDep, clock: ClockDep,
                 sync: SyncDep,
                 org_id: OrgFilter = None) -> Page[MemberOut]:
    """Members the caller may see, optionally of one organisation's subtree; a sync read by
    (updated_at, id)."""
    found = members.list_members(session, actor, org_id, paging.limit, paging.offset, sync)
    rows = found.rows
    ids = [m.id for m in rows if m.id is not None]
    names = members.usernames(session, ids)
    facts = standing.member_facts(session, ids, clock.today())
    return Page[MemberOut](items=[member_out(m, names.get(m.id or 0), facts[m.id or 0])
                                  for m in rows], **listed(found))


@router.get("/members/{member_id}", response_model=MemberOut, responses=errors(401, 404, 422))
def read_member(member_id: MemberIdPath, session: SessionDep, actor: CurrentActor,
                clock: ClockDep) -> MemberOut:
    """One member; its ETag is what PATCH's If-Match names."""
    return _read(session, actor, member_id, clock.today())


@router.patch("/members/{member_id}", response_model=MemberOut,
              responses=errors(401, 403, 404, 409, 422))
def update_member(member_id: MemberIdPath, body: MemberUpdate, session: SessionDep,
                  actor: CurrentActor, clock: ClockDep, if_match: IfMatchDep) -> MemberOut:
    """Change name, category, standing (转正) or this year's exemption (免评 needs a
    reason). 409 member_left for a member who has left. With If-Match (the ETag of GET
    /members/{id}): 412 when the member changed since."""
    changes = body.model_dump(exclude_unset=True)
    for field in ("category", "standing"):
        if changes.get(field) is not None:
            changes[field] = changes[field].value
    for field in ("name", "category", "exempt", "standing"):
        if field in changes and changes[field] is None:
            del changes[field]
    unchanged = if_match.guard(lambda: _read(session, actor, member_id, clock.today()))
    member = members.update_member(session, actor, member_id, changes, clock.now(), unchanged)
    return _one(session, member, clock.today())


@router.post("/members/{member_id}/leave", response_model=MemberOut,
             responses=errors(401, 403, 404, 409, 422))
def record_leave(member_id: MemberIdPath, body: LeaveBody, session: SessionDep, actor: CurrentActor,
          clock: ClockDep) -> MemberOut:
    """The member leaves the membership (committee above the branch, admin): standing
    `left`, their logins refused at once, their records kept. 409 member_left."""
    member = standing.leave(session, actor, member_id, LeaveKind(body.kind), body.on, body.note,
                            clock.now(), clock.today())
    return _one(session, member, clock.today())


def suspension_out(suspension: MemberSuspension) -> SuspensionOut:
    return SuspensionOut.model_validate(suspension, from_attributes=True)


@router.get("/members/{member_id}/suspensions", response_model=Page[SuspensionOut],
            responses=errors(401, 404, 422))
def list_suspensions(member_id: MemberIdPath, session: SessionDep,
                     actor: CurrentActor) -> Page[SuspensionOut]:
    """The member's suspensions of rights, oldest first."""
    rows = standing.list_suspensions(session, actor, member_id)
    return Page[SuspensionOut](items=[suspension_out(s) for s in rows], total=len(rows))


@router.post("/members/{member_id}/suspensions", status_code=status.HTTP_201_CREATED,
             response_model=SuspensionOut, responses=errors(401, 403, 404, 409, 422))
def add_suspension(member_id: MemberIdPath, body: SuspensionCreate, session: SessionDep,
                   actor: CurrentActor, clock: ClockDep) -> SuspensionOut:
    """Suspend the member's rights (留党察看, or detained): 422 dates_reversed, 409
    member_left."""
    return suspension_out(standing.add_suspension(
        session, actor, member_id, body.kind, body.starts_on, body.ends_on, body.note,
        clock.now()))


@router.post("/members/{member_id}/suspensions/{suspension_id}/end",
             response_model=SuspensionOut, responses=errors(401, 403, 404, 409, 422))
def end_suspension(member_id: MemberIdPath, suspension_id: SuspensionIdPath,
                   body: SuspensionEnd, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep) -> SuspensionOut:
    """End a suspension on `ends_on` (the first day with the rights back): 409
    suspension_ended, 422 dates_reversed."""
    return suspension_out(standing.end_suspension(
        session, actor, member_id, suspension_id, body.ends_on, body.note, clock.now(),
        clock.today()))


def exemption_out(exemption: MemberExemption) -> ExemptionOut:
    return ExemptionOut.model_validate(exemption, from_attributes=True)


def _exemption(session: SessionDep, actor: CurrentActor, member_id: int,
               year: int) -> ExemptionOut | None:
    found = standing.active_exemption(session, actor, member_id, year)
    return exemption_out(found) if found is not None else None


@router.get("/members/{member_id}/exemptions/{year}", response_model=ExemptionOut,
            responses=errors(401, 404, 422))
def read_exemption(member_id: MemberIdPath, year: YearPath, session: SessionDep,
                   actor: CurrentActor) -> ExemptionOut:
    """The member's active exemption (免评) of a year; 404 with none. Its ETag is what PUT's
    If-Match names."""
    found = _exemption(session, actor, member_id, year)
    if found is None:
        raise NotFound(f"Member {member_id} has no active exemption for {year}.")
    return found


@router.put("/members/{member_id}/exemptions/{year}", response_model=ExemptionOut,
            responses=errors(401, 403, 404, 409, 422))
def put_exemption(member_id: MemberIdPath, year: YearPath, body: ExemptionPut,
                  session: SessionDep,
                  actor: CurrentActor, clock: ClockDep, if_match: IfMatchDep) -> ExemptionOut:
    """Record (or change) the member's exemption (免评) of a year: 422 note_required,
    future_date; 409 member_left, rating_final (the year's rating is approved). A draft
    rating of the year has the line, n and the proposals computed again. With If-Match
    (the ETag of GET .../exemptions/{year}): 412 when it changed since, or there is none."""
    given = standing.ExemptionIn(ExemptionReason(body.reason_kind.value), body.note,
                                 body.parent_consent_on, body.meeting_on)
    unchanged = if_match.guard(lambda: _exemption(session, actor, member_id, year))
    return exemption_out(standing.record_exemption(session, actor, member_id, year, given,
                                                   clock.now(), clock.today(), unchanged))


@router.get("/members/{member_id}/exemptions", response_model=Page[ExemptionOut],
            responses=errors(401, 404, 422, codes={422: SYNC_CODES}))
def list_exemptions(member_id: MemberIdPath, session: SessionDep, actor: CurrentActor,
                    paging: PagingDep, sync: SyncDep) -> Page[ExemptionOut]:
    """The member's exemptions, withdrawn ones too (never deleted), newest year first; a
    sync read by (updated_at, id)."""
    found = standing.list_exemptions(session, actor, member_id, paging.limit, paging.offset,
                                     sync)
    return Page[ExemptionOut](items=[exemption_out(e) for e in found.rows], **listed(found))


@router.post("/members/{member_id}/exemptions/{year}/withdraw", response_model=ExemptionOut,
             responses=errors(401, 403, 404, 409, 422))
def withdraw_exemption(member_id: MemberIdPath, year: YearPath, body: ExemptionWithdraw,
                       session: SessionDep,
                       actor: CurrentActor, clock: ClockDep) -> ExemptionOut:
    """Withdraw the year's exemption, with a reason (it stays, status withdrawn): 404 with
    none active; 409 rating_final."""
    return exemption_out(standing.withdraw_exemption(session, actor, member_id, year,
                                                     body.reason, clock.now()))


def score_out(score: MemberScore) -> ScoreOut:
    return ScoreOut(**_score_fields(score))


def _score_fields(score: MemberScore) -> dict[str, object]:
    engine = score.engine
    return dict(
        member_id=score.member.id or 0, year=score.year, score=score.annual,
        stars=score.stars, vetoed=score.vetoed, provisional=score.provisional,
        grade=score.grade,
        quarters=[QuarterOut(quarter=q.quarter, review_score=q.review_score, delta=q.delta,
                             ytd=q.ytd, status=QuarterStatus(score.state(q.quarter)))
                  for q in engine.quarters],
        items=[ItemScoreOut(code=i.code, points=i.points, counted=i.counted)
               for i in engine.items],
    )


@router.get("/members/{member_id}/score", response_model=ScoreOut,
            responses=errors(401, 404, 422))
def read_score(member_id: MemberIdPath, session: SessionDep, actor: CurrentActor, clock: ClockDep,
               year: YearQuery = None) -> ScoreOut:
    """The member's score of a year (this year by default): provisional until rated."""
    return score_out(member_score(session, actor, member_id, year or clock.today().year,
                                    clock.now()))


@router.get("/orgs/{org_id}/scores", response_model=Page[MemberScoreOut],
            responses=errors(401, 403, 404, 422, codes={
                403: ("committee_only",), 422: ("invalid_cursor", "validation_error")}))
def read_org_scores(
    org_id: OrgIdPath, session: SessionDep, actor: CurrentActor, clock: ClockDep,
    year: YearQuery = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Members per page.")] = 50,
    after: Annotated[str | None, Query(description="The `next` of the previous page; "
                                       "422 `invalid_cursor` for anything else.")] = None,
) -> Page[MemberScoreOut]:
    """Every member's score of a year in the organisation's branches that the caller
    manages, by member id, a page at a time: each item is GET /members/{id}/score's answer
    with the member's name and branch. Committees (of the organisation, above it, or of a
    branch in it: that branch's members) and administrators; 403 `committee_only` for
    anyone else (a member reads their own score)."""
    found = org_scores(session, actor, org_id, year or clock.today().year, clock.now(), limit,
                       after)
    return Page[MemberScoreOut](
        items=[MemberScoreOut(**_score_fields(s), org_id=s.member.org_id, name=s.member.name)
               for s in found.scores],
        total=found.total, next=found.next)
