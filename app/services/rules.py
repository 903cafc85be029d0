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
from app.models import Review, ReviewStatus, RuleItemRow, RuleSetRow
from app.points import (
    RULE_CODE_PATTERN,
    Category,
    Kind,
    RatingParams,
    RuleItem,
    RuleSet,
    default_rule_set,
)
from app.points.disposal import MAX_RECTIFY_MONTHS as MAX_RECTIFY_MONTHS
from app.services import audit
from app.services.errors import Invalid, NotFound, WorkflowConflict
from app.services.locking import Precondition, lock_rule_year


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


def read_params(row: RuleSetRow) -> RatingParams:
    """The rating parameters stored on the year's row."""
    return RatingParams(
        review_max=row.review_max,
        review_default=row.review_default,
        star_thresholds=tuple(int(t) for t in row.star_thresholds.split(",")),
        unqualified_below=row.unqualified_below,
        basic_below=row.basic_below,
        basic_single_deduction=row.basic_single_deduction,
        excellent_min=row.excellent_min,
        excellent_divisor=row.excellent_divisor,
        ballot_required=bool(row.ballot_required),
        rating_notice_days=row.rating_notice_days,
        rectify_months=row.rectify_months,
        min_notice_days=row.min_notice_days,
    )


def write_params(row: RuleSetRow, params: RatingParams) -> None:
    """The rating parameters onto the year's row (what read_params reads back)."""
    row.review_max = params.review_max
    row.review_default = params.review_default
    row.star_thresholds = ",".join(str(t) for t in params.star_thresholds)
    row.unqualified_below = params.unqualified_below
    row.basic_below = params.basic_below
    row.basic_single_deduction = params.basic_single_deduction
    row.excellent_min = params.excellent_min
    row.excellent_divisor = params.excellent_divisor
    row.ballot_required = params.ballot_required
    row.rating_notice_days = params.rating_notice_days
    row.rectify_months = params.rectify_months
    row.min_notice_days = params.min_notice_days


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


def _seed_year(session: Session, year: int, rules: RuleSet, copied_from: int | None,
               now: datetime) -> None:
    """Store the rules a new year starts from: the latest earlier year's, else the defaults."""
    row = RuleSetRow(year=year, created_at=now)
    write_params(row, rules.params)
    session.add(row)
    session.flush()
    for position, item in enumerate(rules.items):
        session.add(item_row(year, item, position))
    session.flush()
    # The system's doing (the first write of the year), so the log shows where a year's
    # rules came from before any administrator changed them.
    audit.record(session, actor_id=None, action="rules.create", object_type="rule_set",
                 object_id=year, at=now, after=rule_set_snapshot(session, row) | {
                     "copied_from": copied_from})


def rule_set_snapshot(session: Session, row: RuleSetRow) -> dict[str, Any]:
    """The year's parameters and its items in order, for the audit log."""
    items = session.exec(select(RuleItemRow).where(RuleItemRow.year == row.year)
                         .order_by(col(RuleItemRow.position))).all()
    return audit.snapshot(row) | {"items": [audit.snapshot(i) for i in items]}


def check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise Invalid(f"Year {year} is out of range (2000 to 2100).", "year_out_of_range")


# session.info key of the rule sets already read in the session's transaction: year →
# (rules, the year whose stored rule set they come from, None for the defaults).
_MEMO = "jifen_rule_sets"


def _source(*columns: Any, year: Any) -> sa.Select[Any]:
    """The stored rule set a year reads: a year with none of its own reads as the one it
    would start from (_seed_year). One indexed read: the year's own row, else the latest
    earlier year's, else none."""
    return (sa.select(*columns).where(col(RuleSetRow.year) <= year)
            .order_by(col(RuleSetRow.year).desc()).limit(1))


def revision_read(year: Any) -> sa.ScalarSelect[Any]:
    """The revision of the rule set `year` reads (a column or a bound parameter): what is
    kept of that year's pages is kept under it (app/web/page_cache.py)."""
    return _source(col(RuleSetRow.revision), year=year).scalar_subquery()


_SOURCE = _source(col(RuleSetRow.year), col(RuleSetRow.revision), year=sa.bindparam("year"))
# This process's rule sets by year, with the stored set (year, revision) they were read
# from: reused while _SOURCE still finds that (one read per request).
_LOADED: dict[int, tuple[tuple[int, str] | None, RuleSet]] = {}


def _read(session: Session, year: int) -> tuple[RuleSet, int | None]:
    """The year's rules and the year whose stored rule set they are (None: the defaults)."""
    check_year(year)
    memo: dict[int, tuple[RuleSet, int | None]] = session.info.setdefault(_MEMO, {})
    if year in memo:
        return memo[year]
    found = core(session, _SOURCE, {"year": year}).first()
    return _resolve(session, year, (found[0], found[1]) if found is not None else None)


def _resolve(session: Session, year: int,
             source: tuple[int, str] | None) -> tuple[RuleSet, int | None]:
    """The year's rules read from the stored set `source` (year, revision) found for it."""
    cached = _LOADED.get(year)
    if cached is not None and cached[0] == source:
        rules = cached[1]
    elif source is None:
        rules = default_rule_set(year)
    elif (earlier := _LOADED.get(source[0])) is not None and earlier[0] == source:
        # The earlier year's rules, already read here: the same rules, for this year.
        rules = replace(earlier[1], year=year)
    else:
        row = session.get(RuleSetRow, source[0])
        assert row is not None
        items = session.exec(select(RuleItemRow).where(RuleItemRow.year == source[0])
                             .order_by(col(RuleItemRow.position))).all()
        rules = RuleSet(year=year, items=tuple(_to_item(i) for i in items),
                        params=read_params(row))
    _LOADED[year] = (source, rules)
    memo: dict[int, tuple[RuleSet, int | None]] = session.info.setdefault(_MEMO, {})
    memo[year] = (rules, source[0] if source is not None else None)
    return memo[year]


def source_columns(year: Any) -> tuple[sa.Label[Any], sa.Label[Any]]:
    """The stored rule set that `year` (a bound parameter) reads, its year and revision, as
    two columns of another statement: the hot reads ask for it beside what they read anyway
    (rules_read), not in a statement of its own."""
    return (_source(col(RuleSetRow.year), year=year).scalar_subquery().label("rules_year"),
            revision_read(year).label("rules_revision"))


def rules_read(session: Session, year: int, source_year: int | None,
               revision: str | None) -> RuleSet:
    """load_rule_set, with the stored set found by source_columns in another statement."""
    check_year(year)
    memo: dict[int, tuple[RuleSet, int | None]] = session.info.setdefault(_MEMO, {})
    if year in memo:
        return memo[year][0]
    source = (source_year, revision) if source_year is not None and revision is not None \
        else None
    return _resolve(session, year, source)[0]


def load_rule_set(session: Session, year: int, now: datetime) -> RuleSet:
    """The year's rules, read once per transaction. A year with none stored reads as the
    rules it would start from, and nothing is written: reads never write."""
    return _read(session, year)[0]


def ensure_rule_set(session: Session, year: int, now: datetime) -> RuleSet:
    """The year's rules for a write that records something under them (an entry, a review,
    a rating, a rule edit): stored first if the year has none yet, once, under the year's
    lock, so that what was recorded is scored by rules that stay put."""
    rules, stored = _read(session, year)
    if stored == year:
        return rules
    lock_rule_year(session, year)
    # Read again under the lock: another writer may have stored the year, or changed the
    # earlier year it starts from, while this one waited.
    session.info.get(_MEMO, {}).pop(year, None)
    rules, stored = _read(session, year)
    if stored != year:
        _seed_year(session, year, rules, stored, now)
        session.info[_MEMO][year] = (rules, year)
    return rules


def rule_rows(session: Session, year: int, now: datetime) -> list[RuleItemRow]:
    """The year's items as rows, in order; for a year with none stored, the rows it would
    start with, not added to the session (reads never write)."""
    rules, stored = _read(session, year)
    if stored != year:
        return [item_row(year, item, position) for position, item in enumerate(rules.items)]
    return list(session.exec(
        select(RuleItemRow).where(RuleItemRow.year == year).order_by(col(RuleItemRow.position))
    ).all())


def forget_rule_sets(session: Session) -> None:
    """Drop what the session remembers of the rules: they changed, or the transaction ended."""
    session.info.pop(_MEMO, None)


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    forget_rule_sets(session)


@sa.event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous_transaction: Any) -> None:
    # A rolled-back savepoint (a refusal shown in place, web/admin_common.attempt) may have
    # undone the storing of a year that the memo says is stored.
    forget_rule_sets(session)


def frozen_since(session: Session, year: int) -> datetime | None:
    """When the year's rules froze: its first finalized quarter's finalized_at (None: not yet)."""
    return session.exec(select(sa.func.min(col(Review.finalized_at))).where(
        Review.year == year, Review.status == ReviewStatus.finalized)).one()


def rules_updated_at(session: Session, year: int, frozen_at: datetime | None
                     ) -> datetime | None:
    """When what GET /rules answers of the year last changed: the stored rule set it reads
    (its own, else the earlier year's it starts from) or its freezing (`frozen_at`, from
    frozen_since), whichever is later. None while no year has rules stored (the built-in
    defaults)."""
    _rules, stored = _read(session, year)
    row = session.get(RuleSetRow, stored) if stored is not None else None
    moments = [m for m in (row.updated_at if row else None, frozen_at) if m is not None]
    return max(moments, default=None)


def year_is_frozen(session: Session, year: int) -> bool:
    """Frozen once any quarter of the year is finalized anywhere (docs/scoring.md, Workflow 5)."""
    return session.exec(
        select(Review.id)
        .where(Review.year == year, Review.status == ReviewStatus.finalized).limit(1)
    ).first() is not None


# One problem with a rule set: the field (as a path inside it), a stable code, English text.
RuleProblem = tuple[str, str, str]
CODE_PATTERN = re.compile(RULE_CODE_PATTERN)
MAX_POINTS, MAX_CAP, MAX_SCORE = 100, 1000, 1000
# A notice period (公示) of at most two months; 限期改正 of at most a year (appraisal.md §5).
MAX_NOTICE_DAYS = 60


def rule_item_problems(item: RuleItem) -> list[RuleProblem]:
    """What is wrong with one item (docs/scoring.md, Rule items): the one check an edit and an
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
    """What is wrong with a year's rating numbers (docs/scoring.md, Stars and Grades)."""
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
    if not 0 <= params.rating_notice_days <= MAX_NOTICE_DAYS:
        problems.append(("rating_notice_days", "notice_out_of_range",
                         f"must be from 0 to {MAX_NOTICE_DAYS}"))
    if not 1 <= params.rectify_months <= MAX_RECTIFY_MONTHS:
        problems.append(("rectify_months", "months_out_of_range",
                         f"must be from 1 to {MAX_RECTIFY_MONTHS}"))
    if not 0 <= params.min_notice_days <= MAX_NOTICE_DAYS:
        problems.append(("min_notice_days", "min_notice_out_of_range",
                         f"must be from 0 to {MAX_NOTICE_DAYS}"))
    return problems


def lock_rule_set(session: Session, year: int) -> None:
    """Hold the stored year's rule set row until the transaction ends (every edit of the year
    writes it): a check made now holds until this edit is written. What was read of the year
    before is forgotten: it may predate the lock."""
    session.get(RuleSetRow, year, with_for_update=True, populate_existing=True)
    forget_rule_sets(session)


def bump_revision(session: Session, rule_set: RuleSetRow) -> None:
    """The year's rules changed: a new revision (kept rule sets and member pages move on)."""
    rule_set.revision = uuid4().hex
    session.add(rule_set)
    forget_rule_sets(session)


def update_rule_item(
    session: Session, actor_id: int, year: int, code: str, changes: dict[str, Any], now: datetime,
    precondition: Precondition | None = None,
) -> RuleItemRow:
    ensure_rule_set(session, year, now)
    if precondition is not None:
        lock_rule_set(session, year)
        precondition()
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
