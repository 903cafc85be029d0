"""The rule set of a year."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.api.deps import CurrentActor, errors
from app.api.params import RuleCodePath, YearPath, YearQuery
from app.clock import ClockDep
from app.db import SessionDep
from app.points import Category, Kind, RatingParams
from app.schemas import (
    RuleItemOut,
    RuleParamsOut,
    RuleProcedureUpdate,
    RulesOut,
    RuleUpdate,
)
from app.services import rule_procedure, rules
from app.services.access import require_admin

router = APIRouter(tags=["rules"])


def params_out(params: RatingParams) -> RuleParamsOut:
    return RuleParamsOut.model_validate(asdict(params) | {
        "star_thresholds": list(params.star_thresholds)})


def _rules_out(session: SessionDep, year: int, clock: ClockDep) -> RulesOut:
    rows = rules.rule_rows(session, year, clock.now())
    return RulesOut(
        year=year, frozen=rules.year_is_frozen(session, year),
        items=[RuleItemOut(code=r.code, kind=Kind(r.kind), name=r.name, points=r.points,
                           cap=r.cap, min_points=r.min_points, max_points=r.max_points,
                           categories=[Category(c) for c in r.categories.split(",") if c])
               for r in rows],
        params=params_out(rules.load_rule_set(session, year, clock.now()).params))


@router.get("/rules", response_model=RulesOut, responses=errors(401, 422))
def read_rules(session: SessionDep, actor: CurrentActor, clock: ClockDep,
               year: YearQuery = None) -> RulesOut:
    """The rule items and parameters of a year (this year by default)."""
    return _rules_out(session, year or clock.today().year, clock)


@router.put("/rules/{code}", response_model=RuleItemOut,
            responses=errors(401, 403, 404, 409, 422))
def update_rule(code: RuleCodePath, body: RuleUpdate,
                session: SessionDep, actor: CurrentActor, clock: ClockDep,
                year: YearQuery = None) -> RuleItemOut:
    """Change an item's name, points, cap or categories; refused once the year is frozen."""
    require_admin(actor)
    the_year = year or clock.today().year
    row = rules.update_rule_item(session, actor.account_id, the_year, code,
                                 body.model_dump(exclude_unset=True), clock.now())
    return next(i for i in _rules_out(session, the_year, clock).items if i.code == row.code)


@router.put("/rules/{year}/procedure", response_model=RuleParamsOut,
            responses=errors(401, 403, 404, 422, codes={422: (
                "not_a_boolean", "notice_out_of_range", "months_out_of_range",
                "min_notice_out_of_range", "validation_error")}))
def update_procedure(year: YearPath, body: RuleProcedureUpdate,
                     session: SessionDep, actor: CurrentActor,
                     clock: ClockDep) -> RuleParamsOut:
    """Set the year's procedural parameters (appraisal.md §6), also once the year is
    frozen; answers the year's parameters."""
    require_admin(actor)
    params = rule_procedure.set_procedure(session, actor.account_id, year,
                                          body.model_dump(exclude_unset=True), clock.now())
    return params_out(params)
