"""The rule set of a year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import CurrentActor, errors
from app.clock import ClockDep
from app.db import SessionDep
from app.points import RULE_CODE_PATTERN, Category, Kind
from app.schemas import RuleItemOut, RulesOut, RuleUpdate, Year
from app.services import rules
from app.services.access import require_admin

router = APIRouter(tags=["rules"])


def _rules_out(session: SessionDep, year: int, clock: ClockDep) -> RulesOut:
    rows = rules.rule_rows(session, year, clock.now())
    return RulesOut(
        year=year, frozen=rules.year_is_frozen(session, year),
        items=[RuleItemOut(code=r.code, kind=Kind(r.kind), name=r.name, points=r.points,
                           cap=r.cap, min_points=r.min_points, max_points=r.max_points,
                           categories=[Category(c) for c in r.categories.split(",") if c])
               for r in rows])


@router.get("/rules", response_model=RulesOut, responses=errors(401, 422))
def read_rules(session: SessionDep, actor: CurrentActor, clock: ClockDep,
               year: Annotated[Year | None, Query()] = None) -> RulesOut:
    """The rule items of a year (this year by default)."""
    return _rules_out(session, year or clock.today().year, clock)


@router.put("/rules/{code}", response_model=RuleItemOut,
            responses=errors(401, 403, 404, 409, 422))
def update_rule(code: Annotated[str, Path(pattern=RULE_CODE_PATTERN)], body: RuleUpdate,
                session: SessionDep, actor: CurrentActor, clock: ClockDep,
                year: Annotated[Year | None, Query()] = None) -> RuleItemOut:
    """Change an item's name, points, cap or categories; refused once the year is frozen."""
    require_admin(actor)
    the_year = year or clock.today().year
    row = rules.update_rule_item(session, actor.account_id, the_year, code,
                                 body.model_dump(exclude_unset=True), clock.now())
    return next(i for i in _rules_out(session, the_year, clock).items if i.code == row.code)
