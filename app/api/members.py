"""Members and their score."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, status
from sqlmodel import Session, col

from app.api.deps import ClockDep, CurrentActor, PagingDep, errors
from app.api.shape import member_out
from app.db import SessionDep, core
from app.models import Rating, RatingItem, Review
from app.points import Grade, stars
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
from app.services.access import Actor, get_member
from app.services.rules import load_rule_set
from app.services.scoring import member_year_score

router = APIRouter(tags=["members"])


def _username(session: Session, member_id: int) -> str | None:
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


_QUARTER_STATES = sa.select(col(Review.quarter), col(Review.status)).where(
    col(Review.org_id) == sa.bindparam("org"), col(Review.year) == sa.bindparam("year"))
_APPROVED_GRADE = (
    sa.select(col(RatingItem.grade)).join(Rating, col(Rating.id) == RatingItem.rating_id)
    .where(col(Rating.org_id) == sa.bindparam("org"), col(Rating.year) == sa.bindparam("year"),
           col(Rating.status) == "approved", col(RatingItem.member_id) == sa.bindparam("member"))
)


def _quarter_states(session: Session, org_id: int, year: int) -> dict[int, str]:
    rows = core(session, _QUARTER_STATES, {"org": org_id, "year": year}).all()
    return {quarter: status for quarter, status in rows}


def _approved_grade(session: Session, org_id: int, year: int, member_id: int) -> Grade | None:
    grade = core(session, _APPROVED_GRADE, {
        "org": org_id, "year": year, "member": member_id}).scalar()
    return Grade(grade) if grade else None


def member_score(session: Session, actor: Actor, member_id: int, year: int,
                 clock: ClockDep) -> ScoreOut:
    member, _org = get_member(session, actor, member_id)
    rules = load_rule_set(session, year, clock.now())
    score = member_year_score(session, rules, member_id)
    states = _quarter_states(session, member.org_id, year)
    grade = _approved_grade(session, member.org_id, year, member_id)
    return ScoreOut(
        member_id=member_id, year=year, score=score.annual,
        stars=stars(score.annual, score.vetoed, rules.params), vetoed=score.vetoed,
        provisional=grade is None, grade=grade,
        quarters=[QuarterOut(quarter=q.quarter, review_score=q.review_score, delta=q.delta,
                             ytd=q.ytd, status=states.get(q.quarter, "open"))
                  for q in score.quarters],
        items=[ItemScoreOut(code=i.code, points=i.points, counted=i.counted)
               for i in score.items],
    )


@router.get("/members/{member_id}/score", response_model=ScoreOut,
            responses=errors(401, 404, 422))
def read_score(member_id: Id, session: SessionDep, actor: CurrentActor, clock: ClockDep,
               year: Annotated[Year | None, Query()] = None) -> ScoreOut:
    """The member's score of a year (this year by default): provisional until rated."""
    return member_score(session, actor, member_id, year or clock.today().year, clock)
