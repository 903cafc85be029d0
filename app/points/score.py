"""Year-to-date score, quarter by quarter (docs/scoring.md, The score)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.points.calendar import QUARTERS
from app.points.rules import ADDING_KINDS, DEDUCTING_KINDS, Kind, RatingParams, RuleSet


def review_score_allowed(score: int, params: RatingParams) -> bool:
    """Whole points from 0 to the year's maximum (docs/scoring.md, Quarterly review score)."""
    return 0 <= score <= params.review_max


def review_points(score: int | None, params: RatingParams) -> int:
    """What a review score counts: one left unset counts as the default, as publishing
    makes it (docs/scoring.md, Quarterly review score)."""
    return params.review_default if score is None else score


def year_total(positive: int, review: int, bonus: int, deducted: int, vetoed: bool) -> int:
    """ytd = max(0, positive + review + bonus − deducted), and 0 once vetoed (docs/scoring.md,
    The score): the one place the parts of a score are put together."""
    return 0 if vetoed else max(0, positive + review + bonus - deducted)


@dataclass(frozen=True)
class ItemTotal:
    """Approved entries of one rule item in one quarter, summed.

    `points` is the magnitude (never negative); `largest` is the largest single
    entry among them, which the grade rules look at for deductions.
    """

    code: str
    quarter: int
    points: int
    count: int = 1
    largest: int = 0


@dataclass(frozen=True)
class QuarterScore:
    quarter: int
    review_score: int | None
    positive: int
    review: int
    bonus: int
    deducted: int
    ytd: int
    delta: int
    vetoed: bool


@dataclass(frozen=True)
class ItemCount:
    """One item's year so far: raw points and what counts after its cap (signed)."""

    code: str
    kind: Kind
    points: int
    counted: int


@dataclass(frozen=True)
class YearScore:
    quarters: tuple[QuarterScore, ...]
    items: tuple[ItemCount, ...]
    veto_quarter: int | None
    deducted: int
    largest_deduction: int

    @property
    def vetoed(self) -> bool:
        return self.veto_quarter is not None

    @property
    def annual(self) -> int:
        return self.quarters[-1].ytd

    def quarter(self, quarter: int) -> QuarterScore:
        return self.quarters[quarter - 1]


def _capped(points: int, cap: int | None) -> int:
    return points if cap is None else min(cap, points)


def counted_by_entry(rules: RuleSet,
                     entries: Iterable[tuple[int, str, int]]) -> dict[int, int]:
    """What each approved entry adds to its item's capped year, the entries taken in the
    order given (by date): (id, code, signed points) → id → the magnitude that counts.
    The year's total is score_year's; this only says which entry the cap stopped, so a
    member reads "已达全年上限" beside the entry, not "+2分" that changed nothing. Items
    without a cap are left out (each counts whole)."""
    running: dict[str, int] = {}
    counted: dict[int, int] = {}
    for entry_id, code, points in entries:
        item = rules.item(code)
        if item is None or item.cap is None:
            continue
        before = running.get(code, 0)
        running[code] = before + abs(points)
        counted[entry_id] = _capped(running[code], item.cap) - _capped(before, item.cap)
    return counted


def score_year(
    rules: RuleSet, totals: Iterable[ItemTotal], reviews: Mapping[int, int | None]
) -> YearScore:
    """Score one member's year from approved item totals and review scores by quarter.

    A quarter missing from `reviews` had no review line (it counts nothing); one present
    with None was left unset (it counts as the default, `review_points`).
    """
    by_item: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    seen: set[str] = set()
    veto_quarter: int | None = None
    largest_deduction = 0
    for total in totals:
        item = rules.item(total.code)
        if item is None:
            raise ValueError(f"no rule item {total.code} in the {rules.year} rule set")
        if total.quarter not in QUARTERS:
            raise ValueError(f"quarter {total.quarter} is not 1 to 4")
        seen.add(item.code)
        if item.kind is Kind.veto:
            if total.count > 0 and (veto_quarter is None or total.quarter < veto_quarter):
                veto_quarter = total.quarter
            continue
        by_item[item.code][total.quarter] += total.points
        if item.kind in DEDUCTING_KINDS:
            largest_deduction = max(largest_deduction, total.largest)

    # Each item's capped running total, quarter by quarter, added to its kind's sums (index
    # q: the year up to quarter q). One pass an item: a member's year is scored for every
    # member at every quarter's close and rating, so this loop is the engine's hot path.
    positive_by_q, bonus_by_q, deducted_by_q = [0] * 5, [0] * 5, [0] * 5
    running: dict[str, int] = {}
    for code, per_quarter in by_item.items():
        item = rules.item(code)
        assert item is not None
        sums = (positive_by_q if item.kind is Kind.positive
                else bonus_by_q if item.kind is Kind.bonus else deducted_by_q)
        cap = item.cap
        raw = 0
        for q in QUARTERS:
            raw += per_quarter[q]
            sums[q] += raw if cap is None or raw < cap else cap
        running[code] = raw

    quarters: list[QuarterScore] = []
    previous_ytd = 0
    review_sum = 0
    for q in QUARTERS:
        positive, bonus, deducted = positive_by_q[q], bonus_by_q[q], deducted_by_q[q]
        review_score = reviews.get(q)
        if q in reviews:
            review_sum += review_points(review_score, rules.params)
        vetoed = veto_quarter is not None and q >= veto_quarter
        ytd = year_total(positive, review_sum, bonus, deducted, vetoed)
        quarters.append(
            QuarterScore(
                quarter=q,
                review_score=review_score,
                positive=positive,
                review=review_sum,
                bonus=bonus,
                deducted=deducted,
                ytd=ytd,
                delta=ytd - previous_ytd,
                vetoed=vetoed,
            )
        )
        previous_ytd = ytd

    items = []
    for item in rules.items:
        if item.code not in seen:
            continue
        raw = running.get(item.code, 0)
        sign = 1 if item.kind in ADDING_KINDS else -1
        items.append(ItemCount(item.code, item.kind, sign * raw, sign * _capped(raw, item.cap)))
    return YearScore(
        quarters=tuple(quarters),
        items=tuple(items),
        veto_quarter=veto_quarter,
        deducted=sum(-i.counted for i in items if i.kind in DEDUCTING_KINDS),
        largest_deduction=largest_deduction,
    )


@dataclass(frozen=True)
class AnnualScore:
    """What the annual rating needs of one member's year; equal to `score_year`'s Q4."""

    annual: int
    vetoed: bool
    deducted: int
    largest_deduction: int


# Where an item's capped points go in score_annual: positive, bonus, deducted; or a veto.
_POSITIVE, _BONUS, _DEDUCTED, _VETO = range(4)
_SLOTS = {Kind.positive: _POSITIVE, Kind.bonus: _BONUS, Kind.negative: _DEDUCTED,
          Kind.deduction: _DEDUCTED, Kind.veto: _VETO}


def _annual_table(rules: RuleSet) -> dict[str, tuple[int, int | None]]:
    """code → (slot, cap), built once per rule set: the loop below runs per member and item."""
    table: dict[str, tuple[int, int | None]] | None = getattr(rules, "_annual", None)
    if table is None:
        table = {i.code: (_SLOTS[i.kind], i.cap) for i in rules.items}
        object.__setattr__(rules, "_annual", table)
    return table


def score_annual(
    rules: RuleSet, totals: Iterable[tuple[str, int, int, int]],
    reviews: Mapping[int, int | None],
) -> AnnualScore:
    """Score a whole year from per-item year totals `(code, points, count, largest)`.

    A cap bounds an item's running total, so at the year's end it bounds the year's sum:
    the quarters need not be kept apart, and SQL can sum over the year (one row per member
    and item). `reviews` are the year's review scores by quarter, as for `score_year`.
    Equal to `score_year`'s fourth quarter (tests/unit/test_annual.py checks it on random
    years).
    """
    table = _annual_table(rules)
    sums = [0, 0, 0]
    vetoed = False
    largest_deduction = 0
    for code, points, count, largest in totals:
        try:
            slot, cap = table[code]
        except KeyError:
            raise ValueError(f"no rule item {code} in the {rules.year} rule set") from None
        if slot == _VETO:
            vetoed = vetoed or count > 0
            continue
        sums[slot] += points if cap is None or points < cap else cap
        if slot == _DEDUCTED and largest > largest_deduction:
            largest_deduction = largest
    positive, bonus, deducted = sums
    review = sum(review_points(score, rules.params) for score in reviews.values())
    annual = year_total(positive, review, bonus, deducted, vetoed)
    return AnnualScore(annual, vetoed, deducted, largest_deduction)
