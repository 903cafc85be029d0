"""The rule set of a year."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.api.deps import CurrentActor, errors
from app.api.etags import IfMatchDep
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
from app.services.errors import NotFound

router = APIRouter(tags=["rules"])


def params_out(params: RatingParams) -> RuleParamsOut:
    return RuleParamsOut.model_validate(asdict(params) | {
        "star_thresholds": list(params.star_thresholds)})


def _rules_out(session: SessionDep, year: int, clock: ClockDep) -> RulesOut:
    rows = rules.rule_rows(session, year, clock.now())
    frozen_at = rules.frozen_since(session, year)
    updated_at = rules.rules_updated_at(session, year, frozen_at)
    return RulesOut(
        year=year, frozen=frozen_at is not None,
        items=[RuleItemOut(code=r.code, kind=Kind(r.kind), name=r.name, points=r.points,
                           cap=r.cap, min_points=r.min_points, max_points=r.max_points,
                           categories=[Category(c) for c in r.categories.split(",") if c],
                           updated_at=updated_at)
               for r in rows],
        params=params_out(rules.load_rule_set(session, year, clock.now()).params),
        updated_at=updated_at)


@router.get("/rules", response_model=RulesOut, responses=errors(401, 422))
def read_rules(session: SessionDep, actor: CurrentActor, clock: ClockDep,
               year: YearQuery = None) -> RulesOut:
    """The rule items and parameters of a year (this year by default)."""
    return _rules_out(session, year or clock.today().year, clock)


def _rule_item(session: SessionDep, year: int, code: str, clock: ClockDep) -> RuleItemOut:
    found = next((i for i in _rules_out(session, year, clock).items if i.code == code), None)
    if found is None:
        raise NotFound(f"There is no rule item {code} in {year}.", "unknown_rule")
    return found


@router.get("/rules/{code}", response_model=RuleItemOut,
            responses=errors(401, 404, 422, codes={404: ("unknown_rule",)}))
def read_rule(code: RuleCodePath, session: SessionDep, _actor: CurrentActor, clock: ClockDep,
              year: YearQuery = None) -> RuleItemOut:
    """One rule item of a year; its ETag is what PUT /rules/{code}'s If-Match names."""
    return _rule_item(session, year or clock.today().year, code, clock)


@router.put("/rules/{code}", response_model=RuleItemOut,
            responses=errors(401, 403, 404, 409, 422))
def update_rule(code: RuleCodePath, body: RuleUpdate, session: SessionDep, actor: CurrentActor,
                clock: ClockDep, if_match: IfMatchDep, year: YearQuery = None) -> RuleItemOut:
    """Change an item's name, points, cap or categories; refused once the year is frozen.
    With If-Match (the ETag of GET /rules/{code}): 412 when the item changed since."""
    require_admin(actor)
    the_year = year or clock.today().year
    unchanged = if_match.guard(lambda: _rule_item(session, the_year, code, clock))
    row = rules.update_rule_item(session, actor.account_id, the_year, code,
                                 body.model_dump(exclude_unset=True), clock.now(), unchanged)
    return _rule_item(session, the_year, row.code, clock)


@router.get("/rules/{year}/procedure", response_model=RuleParamsOut,
            responses=errors(401, 404, 422))
def read_procedure(year: YearPath,
                   session: SessionDep, _actor: CurrentActor, clock: ClockDep) -> RuleParamsOut:
    """The year's parameters (as GET /rules has them); their ETag is what PUT
    /rules/{year}/procedure's If-Match names."""
    return params_out(rules.load_rule_set(session, year, clock.now()).params)


@router.put("/rules/{year}/procedure", response_model=RuleParamsOut,
            responses=errors(401, 403, 404, 422, codes={422: (
                "not_a_boolean", "notice_out_of_range", "months_out_of_range",
                "min_notice_out_of_range", "validation_error")}))
def update_procedure(year: YearPath, body: RuleProcedureUpdate,
                     session: SessionDep, actor: CurrentActor,
                     clock: ClockDep, if_match: IfMatchDep) -> RuleParamsOut:
    """Set the year's procedural parameters (appraisal.md §6), also once the year is
    frozen; answers the year's parameters. With If-Match (the ETag of GET
    /rules/{year}/procedure): 412 when they changed since."""
    require_admin(actor)
    unchanged = if_match.guard(
        lambda: params_out(rules.load_rule_set(session, year, clock.now()).params))
    params = rule_procedure.set_procedure(session, actor.account_id, year,
                                          body.model_dump(exclude_unset=True), clock.now(),
                                          unchanged)
    return params_out(params)
