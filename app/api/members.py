"""Members and their score."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from app.api.deps import CurrentActor, PagingDep, errors
from app.api.shape import member_out
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas import (
    Id,
    ItemScoreOut,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    Page,
    QuarterOut,
    ScoreOut,
    Year,
)
from app.services import members
from app.services.access import get_member
from app.services.member_score import MemberScore, member_score

router = APIRouter(tags=["members"])


def _username(session: SessionDep, member_id: int) -> str | None:
    return members.usernames(session, [member_id]).get(member_id)


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut,
             responses=errors(401, 403, 404, 409, 422))
def create_member(body: MemberCreate, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> MemberOut:
    """Create a member of a branch with a login (administrators, the branch's committee)."""
    new = members.NewMember(name=body.name, org_id=body.org_id, category=body.category.value,
                            joined_on=body.joined_on, username=body.username,
                            password=body.password)
    member, account = members.create_member(session, actor, new, clock.now(), clock.today())
    return member_out(member, account.username)


@router.get("/members", response_model=Page[MemberOut], responses=errors(401, 422))
def list_members(session: SessionDep, actor: CurrentActor, paging: PagingDep,
                 org_id: Id | None = None) -> Page[MemberOut]:
    """Members the caller may see, optionally of one organisation's subtree."""
    rows, total = members.list_members(session, actor, org_id, paging.limit, paging.offset)
    names = members.usernames(session, [m.id for m in rows if m.id is not None])
    return Page[MemberOut](items=[member_out(m, names.get(m.id or 0)) for m in rows],
                           total=total)


@router.get("/members/{member_id}", response_model=MemberOut, responses=errors(401, 404, 422))
def read_member(member_id: Id, session: SessionDep, actor: CurrentActor) -> MemberOut:
    """One member."""
    member, _ = get_member(session, actor, member_id)
    return member_out(member, _username(session, member_id))


@router.patch("/members/{member_id}", response_model=MemberOut,
              responses=errors(401, 403, 404, 422))
def update_member(member_id: Id, body: MemberUpdate, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep) -> MemberOut:
    """Change name, category or exemption (免评 needs a reason)."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("category") is not None:
        changes["category"] = changes["category"].value
    for field in ("name", "category", "exempt"):
        if field in changes and changes[field] is None:
            del changes[field]
    member = members.update_member(session, actor, member_id, changes, clock.now())
    return member_out(member, _username(session, member_id))


def score_out(score: MemberScore) -> ScoreOut:
    engine = score.engine
    return ScoreOut(
        member_id=score.member.id or 0, year=score.year, score=score.annual,
        stars=score.stars, vetoed=score.vetoed, provisional=score.provisional,
        grade=score.grade,
        quarters=[QuarterOut(quarter=q.quarter, review_score=q.review_score, delta=q.delta,
                             ytd=q.ytd, status=score.state(q.quarter))
                  for q in engine.quarters],
        items=[ItemScoreOut(code=i.code, points=i.points, counted=i.counted)
               for i in engine.items],
    )


@router.get("/members/{member_id}/score", response_model=ScoreOut,
            responses=errors(401, 404, 422))
def read_score(member_id: Id, session: SessionDep, actor: CurrentActor, clock: ClockDep,
               year: Annotated[Year | None, Query()] = None) -> ScoreOut:
    """The member's score of a year (this year by default): provisional until rated."""
    return score_out(member_score(session, actor, member_id, year or clock.today().year,
                                    clock.now()))
