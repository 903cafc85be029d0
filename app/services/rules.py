"""The rule set of each year, kept as rows and handed to the engine as app.points.RuleSet."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.db import core
from app.models import Review, RuleItemRow, RuleSetRow
from app.points import Category, Kind, RatingParams, RuleItem, RuleSet, default_rule_set
from app.services import audit
from app.services.errors import Invalid, NotFound, WorkflowConflict


def _to_item(row: RuleItemRow) -> RuleItem:
    return RuleItem(
        code=row.code,
        kind=Kind(row.kind),
        name=row.name,
        points=row.points,
        cap=row.cap,
        min_points=row.min_points,
        max_points=row.max_points,
        categories=frozenset(Category(c) for c in row.categories.split(",") if c),
    )


def _to_params(row: RuleSetRow) -> RatingParams:
    return RatingParams(
        review_max=row.review_max,
        review_default=row.review_default,
        star_thresholds=tuple(int(t) for t in row.star_thresholds.split(",")),
        unqualified_below=row.unqualified_below,
        basic_below=row.basic_below,
        basic_single_deduction=row.basic_single_deduction,
        excellent_min=row.excellent_min,
        excellent_divisor=row.excellent_divisor,
    )


def write_params(row: RuleSetRow, params: RatingParams) -> None:
    """The rating parameters onto the year's row (what _to_params reads back)."""
    row.review_max = params.review_max
    row.review_default = params.review_default
    row.star_thresholds = ",".join(str(t) for t in params.star_thresholds)
    row.unqualified_below = params.unqualified_below
    row.basic_below = params.basic_below
    row.basic_single_deduction = params.basic_single_deduction
    row.excellent_min = params.excellent_min
    row.excellent_divisor = params.excellent_divisor


def item_row(year: int, item: RuleItem, position: int,
             row: RuleItemRow | None = None) -> RuleItemRow:
    """An item onto its row (a new one unless given), at its place in the list: what
    _to_item reads back."""
    if row is None:
        row = RuleItemRow(year=year, code=item.code, kind=item.kind.value, name=item.name)
    row.position = position
    row.code = item.code
    row.kind = item.kind.value
    row.name = item.name
    row.points, row.cap = item.points, item.cap
    row.min_points, row.max_points = item.min_points, item.max_points
    row.categories = ",".join(sorted(c.value for c in item.categories))
    return row


def _seed_year(session: Session, year: int, now: datetime) -> RuleSetRow:
    """A new year starts from the latest earlier year's rules, else from the defaults."""
    earlier = session.exec(
        select(RuleSetRow).where(RuleSetRow.year < year).order_by(col(RuleSetRow.year).desc())
    ).first()
    if earlier is not None:
        source = load_rule_set(session, earlier.year, now)
    else:
        source = default_rule_set(year)
    row = RuleSetRow(year=year, created_at=now)
    write_params(row, source.params)
    session.add(row)
    session.flush()
    for position, item in enumerate(source.items):
        session.add(item_row(year, item, position))
    session.flush()
    # The system's doing (the first use of the year), so the log shows where a year's
    # rules came from before any administrator changed them.
    audit.record(session, actor_id=None, action="rules.create", object_type="rule_set",
                 object_id=year, at=now, after=rule_set_snapshot(session, row) | {
                     "copied_from": earlier.year if earlier is not None else None})
    return row


def rule_set_snapshot(session: Session, row: RuleSetRow) -> dict[str, Any]:
    """The year's parameters and its items in order, for the audit log."""
    items = session.exec(select(RuleItemRow).where(RuleItemRow.year == row.year)
                         .order_by(col(RuleItemRow.position))).all()
    return audit.snapshot(row) | {"items": [audit.snapshot(i) for i in items]}


def check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise Invalid(f"Year {year} is out of range (2000 to 2100).", "year_out_of_range")


# session.info key of the rule sets already loaded in the session's transaction.
_MEMO = "jifen_rule_sets"
# This process's rule sets by year, with the revision they were loaded at: reused while
# the year's rule_set row still has that revision (one primary-key read per request).
_LOADED: dict[int, tuple[str, RuleSet]] = {}
_REVISION = sa.select(col(RuleSetRow.revision)).where(
    col(RuleSetRow.year) == sa.bindparam("year"))


def load_rule_set(session: Session, year: int, now: datetime) -> RuleSet:
    """The year's rules (seeded on first use), loaded once per transaction."""
    check_year(year)
    memo: dict[int, RuleSet] = session.info.setdefault(_MEMO, {})
    if year in memo:
        return memo[year]
    cached = _LOADED.get(year)
    if cached is not None and cached[0] == core(session, _REVISION, {"year": year}).scalar():
        memo[year] = cached[1]
        return cached[1]
    row = session.get(RuleSetRow, year) or _seed_year(session, year, now)
    items = session.exec(
        select(RuleItemRow).where(RuleItemRow.year == year).order_by(col(RuleItemRow.position))
    ).all()
    memo[year] = RuleSet(year=year, items=tuple(_to_item(i) for i in items),
                         params=_to_params(row))
    _LOADED[year] = (row.revision, memo[year])
    return memo[year]


def forget_rule_sets(session: Session) -> None:
    """Drop what load_rule_set remembers: the rules changed, or the transaction ended."""
    session.info.pop(_MEMO, None)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    forget_rule_sets(session)


def year_is_frozen(session: Session, year: int) -> bool:
    """Frozen once any quarter of the year is finalized anywhere (scoring.md, Workflow 5)."""
    return session.exec(
        select(Review.id).where(Review.year == year, Review.status == "finalized").limit(1)
    ).first() is not None


# One problem with a rule set: the field (as a path inside it), a stable code, English text.
RuleProblem = tuple[str, str, str]
CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{0,9}")
MAX_POINTS, MAX_CAP, MAX_SCORE = 100, 1000, 1000


def rule_item_problems(item: RuleItem) -> list[RuleProblem]:
    """What is wrong with one item (scoring.md, Rule items): the one check an edit and an
    import both go through."""
    problems: list[RuleProblem] = []
    if not CODE_PATTERN.fullmatch(item.code):
        problems.append(("code", "code_invalid", "must be 1 to 10 capital letters and digits, "
                         "starting with a letter (like P01)"))
    if not item.name.strip() or len(item.name) > 100:
        problems.append(("name", "name_required", "must be 1 to 100 characters"))
    if not item.categories:
        problems.append(("categories", "categories_required", "must name at least one category"))
    fields = {"points": item.points, "min_points": item.min_points,
              "max_points": item.max_points}
    if item.kind is Kind.veto:
        problems += [(f, "veto_points", "a veto item has no points (it takes the whole score)")
                     for f, v in fields.items() if v is not None]
        if item.cap is not None:
            problems.append(("cap", "cap_not_allowed", "a veto item has no cap"))
        return problems
    problems += [(f, "points_invalid", f"must be a whole number from 1 to {MAX_POINTS} (the "
                  "kind decides whether the points add or deduct)")
                 for f, v in fields.items() if v is not None and not 1 <= v <= MAX_POINTS]
    ranged = item.min_points is not None or item.max_points is not None
    if item.points is not None and ranged:
        problems.append(("points", "points_and_range", "give either points, or min_points and "
                         "max_points for points chosen per entry, not both"))
    elif item.points is None and (item.min_points is None or item.max_points is None):
        problems.append(("points", "points_required", "give points, or min_points and "
                         "max_points for points chosen per entry"))
    elif ranged and item.min_points is not None and item.max_points is not None \
            and item.min_points > item.max_points:
        problems.append(("max_points", "range_reversed", "must not be below min_points"))
    if item.cap is not None and not 0 <= item.cap <= MAX_CAP:
        problems.append(("cap", "cap_invalid", f"must be a whole number from 0 to {MAX_CAP}, "
                         "or null for no cap"))
    return problems


def rating_params_problems(params: RatingParams) -> list[RuleProblem]:
    """What is wrong with a year's rating numbers (scoring.md, Stars and Grades)."""
    problems: list[RuleProblem] = []
    if not 1 <= params.review_max <= MAX_POINTS:
        problems.append(("review_max", "review_max_invalid", f"must be 1 to {MAX_POINTS}"))
    elif not 0 <= params.review_default <= params.review_max:
        problems.append(("review_default", "review_default_invalid",
                         "must be from 0 to review_max"))
    stars = params.star_thresholds
    if len(stars) != 5:
        problems.append(("star_thresholds", "star_thresholds_count",
                         "must list 5 scores, the least for 1, 2, 3, 4 and 5 stars"))
    elif any(not 0 < t <= MAX_SCORE for t in stars) or list(stars) != sorted(set(stars)):
        problems.append(("star_thresholds", "star_thresholds_order",
                         f"must rise strictly, each from 1 to {MAX_SCORE}"))
    ladder = (("unqualified_below", params.unqualified_below),
              ("basic_below", params.basic_below), ("excellent_min", params.excellent_min))
    for field, value in ladder:
        if not 0 <= value <= MAX_SCORE:
            problems.append((field, "score_invalid", f"must be from 0 to {MAX_SCORE}"))
    if all(0 <= v <= MAX_SCORE for _, v in ladder) and \
            not params.unqualified_below <= params.basic_below <= params.excellent_min:
        problems.append(("basic_below", "grade_order", "must lie between unqualified_below and "
                         "excellent_min"))
    if not 1 <= params.basic_single_deduction <= MAX_SCORE:
        problems.append(("basic_single_deduction", "score_invalid",
                         f"must be from 1 to {MAX_SCORE}"))
    if not 1 <= params.excellent_divisor <= MAX_POINTS:
        problems.append(("excellent_divisor", "excellent_divisor_invalid",
                         f"must be from 1 to {MAX_POINTS}"))
    return problems


def bump_revision(session: Session, rule_set: RuleSetRow) -> None:
    """The year's rules changed: a new revision (kept rule sets and member pages move on)."""
    rule_set.revision = uuid4().hex
    session.add(rule_set)
    forget_rule_sets(session)


def update_rule_item(
    session: Session, actor_id: int, year: int, code: str, changes: dict[str, Any], now: datetime
) -> RuleItemRow:
    load_rule_set(session, year, now)
    row = session.exec(
        select(RuleItemRow).where(RuleItemRow.year == year, RuleItemRow.code == code)
    ).first()
    if row is None:
        raise NotFound(f"There is no rule item {code} in {year}.", "unknown_rule")
    if year_is_frozen(session, year):
        raise WorkflowConflict(
            f"The {year} rule set is frozen: a quarter of {year} has been finalized.",
            "rules_frozen",
        )
    for field in ("name", "categories"):
        if field in changes and changes[field] is None:
            raise Invalid(f"{field} cannot be null; leave it out to keep it unchanged.",
                          f"{field}_required")
    kind = Kind(row.kind)
    if "points" in changes:
        points = changes["points"]
        if kind is Kind.veto or row.points is None:
            raise Invalid(
                f"{code} has no fixed points (they are chosen per entry, or it is a veto).",
                "points_not_fixed",
            )
        if points is None:
            raise Invalid("points cannot be null for a fixed-point item.", "points_required")
    if "cap" in changes and kind is Kind.veto and changes["cap"] is not None:
        raise Invalid("A veto item has no cap.", "cap_not_allowed")
    candidate = replace(_to_item(row), **{f: changes[f] for f in ("name", "points", "cap")
                                          if f in changes})
    if "categories" in changes:
        candidate = replace(candidate, categories=frozenset(
            Category(c) for c in changes["categories"]))
    for field, problem, text in rule_item_problems(candidate):
        raise Invalid(f"{field}: {text}.", problem)
    before = audit.snapshot(row)
    for field in ("name", "points", "cap"):
        if field in changes:
            setattr(row, field, changes[field])
    if "categories" in changes:
        row.categories = ",".join(sorted(Category(c).value for c in changes["categories"]))
    session.add(row)
    rule_set = session.get(RuleSetRow, year)
    assert rule_set is not None
    bump_revision(session, rule_set)
    audit.record(session, actor_id=actor_id, action="rule.update", object_type="rule_item",
                 object_id=row.id, at=now, before=before, after=audit.snapshot(row))
    return row


def rule_rows(session: Session, year: int, now: datetime) -> list[RuleItemRow]:
    load_rule_set(session, year, now)
    return list(
        session.exec(
            select(RuleItemRow).where(RuleItemRow.year == year).order_by(col(RuleItemRow.position))
        ).all()
    )
