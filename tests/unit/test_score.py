"""Year-to-date score, quarter by quarter (docs/scoring.md, The score).

Every expected number is worked out by hand from docs/scoring.md; the comment on each
case shows the arithmetic. Quarter tuples read (Q1, Q2, Q3, Q4).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from app.points import (
    ItemTotal,
    Kind,
    RatingParams,
    YearScore,
    default_rule_set,
    review_points,
    review_score_allowed,
    score_year,
    year_total,
)

RULES = default_rule_set(2025)
PerQuarter = tuple[int, ...]
FULL: dict[int, int | None] = {1: 5, 2: 5, 3: 5, 4: 5}
# Every P item well over its cap of 8, in Q1.
ALL_POSITIVE_OVER_CAP = [ItemTotal(f"P{n:02d}", 1, 20, count=10, largest=2) for n in range(1, 11)]


def _score(totals: list[ItemTotal], reviews: Mapping[int, int | None]) -> YearScore:
    return score_year(RULES, totals, reviews)


def _ytd(year: YearScore) -> tuple[int, ...]:
    return tuple(q.ytd for q in year.quarters)


def _delta(year: YearScore) -> tuple[int, ...]:
    return tuple(q.delta for q in year.quarters)


@pytest.mark.parametrize(
    ("totals", "reviews", "ytd", "delta"),
    [
        pytest.param(
            [],
            {},
            (0, 0, 0, 0),
            (0, 0, 0, 0),
            id="empty_year",
        ),
        pytest.param(
            # P01 Q1 3×2=6; Q2 +2×2 → 10 capped 8, so Q2 adds 2 not 4
            [ItemTotal("P01", 1, 6, count=3), ItemTotal("P01", 2, 4, count=2)],
            {},
            (6, 8, 8, 8),
            (6, 2, 0, 0),
            id="cap_reached_mid_year",
        ),
        pytest.param(
            # as above plus review 5 a quarter: 6+5=11, 8+10=18, 8+15=23, 8+20=28
            [ItemTotal("P01", 1, 6, count=3), ItemTotal("P01", 2, 4, count=2)],
            FULL,
            (11, 18, 23, 28),
            (11, 7, 5, 5),
            id="cap_reached_mid_year_with_reviews",
        ),
        pytest.param(
            # P06 4×2=8 = cap in Q1; Q3 +4 → 12 capped 8, nothing more counts
            [ItemTotal("P06", 1, 8, count=2), ItemTotal("P06", 3, 4)],
            {},
            (8, 8, 8, 8),
            (8, 0, 0, 0),
            id="cap_hit_exactly_then_more",
        ),
        pytest.param(
            # P02 1×12=12 capped 8 in Q1; Q2 +3 → 15 still 8
            [ItemTotal("P02", 1, 12, count=12), ItemTotal("P02", 2, 3, count=3)],
            {},
            (8, 8, 8, 8),
            (8, 0, 0, 0),
            id="cap_passed_in_first_quarter",
        ),
        pytest.param(
            # Q1 P01 10→8, P03 6            = 14
            # Q2 P01 8, P03 6+4=10→8, P07 5  = 21
            # Q3 8 + 8 + P07 5+5=10→8        = 24
            # Q4 24 + P10 4                  = 28
            [
                ItemTotal("P01", 1, 10, count=5),
                ItemTotal("P03", 1, 6, count=3),
                ItemTotal("P03", 2, 4, count=2),
                ItemTotal("P07", 2, 5, count=5),
                ItemTotal("P07", 3, 5, count=5),
                ItemTotal("P10", 4, 4),
            ],
            {},
            (14, 21, 24, 28),
            (14, 7, 3, 4),
            id="several_items_each_capped",
        ),
        pytest.param(
            # B01 4, 4+5=9, 9+3=12→10, 12+5=17→10
            [
                ItemTotal("B01", 1, 4, largest=4),
                ItemTotal("B01", 2, 5, largest=5),
                ItemTotal("B01", 3, 3, largest=3),
                ItemTotal("B01", 4, 5, largest=5),
            ],
            {},
            (4, 9, 10, 10),
            (4, 5, 1, 0),
            id="bonus_cap_10_across_quarters",
        ),
        pytest.param(
            # positive P01..P04 8 each = 32; deducted D01 10, +N08 5, +N02 3×4, +N07 10×2
            # Q1 32+5-10=27  Q2 32+10-15=27  Q3 32+15-27=20  Q4 32+20-47=5
            [
                *(ItemTotal(f"P0{n}", 1, 8, count=4) for n in range(1, 5)),
                ItemTotal("D01", 1, 10, largest=10),
                ItemTotal("N08", 2, 5, largest=5),
                ItemTotal("N02", 3, 12, count=4, largest=3),
                ItemTotal("N07", 4, 20, count=2, largest=10),
            ],
            FULL,
            (27, 27, 20, 5),
            (27, 0, -7, -15),
            id="deductions_uncapped",
        ),
        pytest.param(
            # reviews only Q1 and Q3: 5, 5, 5+2=7, 7
            [],
            {1: 5, 3: 2},
            (5, 5, 7, 7),
            (5, 0, 2, 0),
            id="reviews_only_for_quarters_given",
        ),
        pytest.param(
            # Q2 left unset counts as the default 5, 0 counts 0: 4, 4+5=9, 9+0=9, 9+3=12
            [],
            {1: 4, 2: None, 3: 0, 4: 3},
            (4, 9, 9, 12),
            (4, 5, 0, 3),
            id="review_unset_counts_default_and_zero",
        ),
        pytest.param(
            # a draft sheet: P01 3×2=6 in Q1 and its own Q1 score unset → 6+5 = 11;
            # no review line in Q2..Q4 counts nothing
            [ItemTotal("P01", 1, 6, count=3)],
            {1: None},
            (11, 11, 11, 11),
            (11, 0, 0, 0),
            id="draft_sheet_unset_score",
        ),
        pytest.param(
            # Q1 5-10=-5→0; Q2 P01 8 +10-10=8 (carrying -5 or 0 would give 3 or 13)
            # Q3 8+15-10=13; Q4 8+20-10=18
            [ItemTotal("N06", 1, 10, largest=10), ItemTotal("P01", 2, 8, count=4)],
            FULL,
            (0, 8, 13, 18),
            (0, 8, 5, 5),
            id="floor_then_recovery_recomputed",
        ),
        pytest.param(
            # Q1 D01 10 + N07 10 = 20 deducted: 5-20=-15→0
            # Q2 P01 8 + P02 8 + 10 - 20 = 6; Q3 16+15-20=11; Q4 16+20-20=16
            [
                ItemTotal("D01", 1, 10, largest=10),
                ItemTotal("N07", 1, 10, largest=10),
                ItemTotal("P01", 2, 8, count=4),
                ItemTotal("P02", 2, 8, count=8),
            ],
            FULL,
            (0, 6, 11, 16),
            (0, 6, 5, 5),
            id="deep_floor_then_recovery",
        ),
        pytest.param(
            # Q1 P01 4 + 5 = 9; Q2 4+10-20=-6→0; Q3 4+15-20=-1→0; Q4 4+20-20=4
            [
                ItemTotal("P01", 1, 4, count=2),
                ItemTotal("D01", 2, 10, largest=10),
                ItemTotal("N06", 2, 10, largest=10),
            ],
            FULL,
            (9, 0, 0, 4),
            (9, -9, 0, 4),
            id="floor_in_later_quarter",
        ),
        pytest.param(
            # Q1 P01 8 + 5 = 13; Q2 8+10+B01 5 = 23; V02 in Q3 → 0 from Q3 on
            [
                ItemTotal("P01", 1, 8, count=4),
                ItemTotal("B01", 2, 5, largest=5),
                ItemTotal("V02", 3, 0),
                ItemTotal("P02", 4, 8, count=8),
            ],
            FULL,
            (13, 23, 0, 0),
            (13, 10, -23, 0),
            id="veto_in_q3",
        ),
        pytest.param(
            # V01 in Q1: 0 all year whatever else (P01 8, reviews 5)
            [ItemTotal("V01", 1, 0), ItemTotal("P01", 1, 8, count=4)],
            FULL,
            (0, 0, 0, 0),
            (0, 0, 0, 0),
            id="veto_in_q1",
        ),
        pytest.param(
            # V03 in Q4 listed first, V04 in Q2: the earlier quarter wins
            # Q1 review 5 = 5, then 0
            [ItemTotal("V03", 4, 0), ItemTotal("V04", 2, 0)],
            FULL,
            (5, 0, 0, 0),
            (5, -5, 0, 0),
            id="two_vetoes_earliest_wins",
        ),
        pytest.param(
            # 10 P items 20 each → 8 each = 80; B01 12 → 10; reviews 5 a quarter
            # 80+5+10=95, 100, 105, 110
            [*ALL_POSITIVE_OVER_CAP, ItemTotal("B01", 1, 12, count=3, largest=5)],
            FULL,
            (95, 100, 105, 110),
            (95, 5, 5, 5),
            id="maximum_110",
        ),
    ],
)
def test_ytd_and_delta(
    totals: list[ItemTotal], reviews: dict[int, int | None], ytd: PerQuarter, delta: PerQuarter
) -> None:
    year = _score(totals, reviews)
    assert _ytd(year) == ytd
    assert _delta(year) == delta
    assert year.annual == ytd[-1]
    assert tuple(q.quarter for q in year.quarters) == (1, 2, 3, 4)


@pytest.mark.parametrize(
    ("totals", "reviews", "positive", "review", "bonus", "deducted"),
    [
        pytest.param(
            # P01 6 → 10 capped 8; P07 3; review 5 then 5+4=9; B01 12 capped 10
            # D01 7 then 7+N01 2×2=11
            [
                ItemTotal("P01", 1, 6, count=3),
                ItemTotal("P01", 2, 4, count=2),
                ItemTotal("P07", 2, 3, count=3),
                ItemTotal("B01", 1, 12, count=3, largest=5),
                ItemTotal("D01", 1, 7, largest=7),
                ItemTotal("N01", 2, 4, count=2, largest=2),
            ],
            {1: 5, 2: 4},
            (6, 11, 11, 11),
            (5, 9, 9, 9),
            (10, 10, 10, 10),
            (7, 11, 11, 11),
            id="components_cumulative",
        ),
    ],
)
def test_quarter_components(
    totals: list[ItemTotal],
    reviews: dict[int, int | None],
    positive: PerQuarter,
    review: PerQuarter,
    bonus: PerQuarter,
    deducted: PerQuarter,
) -> None:
    year = _score(totals, reviews)
    assert tuple(q.positive for q in year.quarters) == positive
    assert tuple(q.review for q in year.quarters) == review
    assert tuple(q.bonus for q in year.quarters) == bonus
    assert tuple(q.deducted for q in year.quarters) == deducted


@pytest.mark.parametrize(
    ("reviews", "review_scores"),
    [
        pytest.param({1: 5, 3: 2}, (5, None, 2, None), id="missing_quarters_none"),
        pytest.param({1: 0, 2: 1, 3: 4, 4: 5}, (0, 1, 4, 5), id="all_quarters"),
    ],
)
def test_review_score_per_quarter(
    reviews: dict[int, int | None], review_scores: tuple[int | None, ...]
) -> None:
    year = _score([], reviews)
    assert tuple(q.review_score for q in year.quarters) == review_scores


@pytest.mark.parametrize(
    ("totals", "veto_quarter", "vetoed"),
    [
        pytest.param([], None, (False, False, False, False), id="no_veto"),
        pytest.param([ItemTotal("V01", 1, 0)], 1, (True, True, True, True), id="veto_q1"),
        pytest.param([ItemTotal("V02", 3, 0)], 3, (False, False, True, True), id="veto_q3"),
        pytest.param(
            [ItemTotal("V03", 4, 0), ItemTotal("V04", 2, 0)],
            2,
            (False, True, True, True),
            id="earliest_of_two",
        ),
    ],
)
def test_veto_marks(
    totals: list[ItemTotal], veto_quarter: int | None, vetoed: tuple[bool, ...]
) -> None:
    year = _score(totals, FULL)
    assert year.veto_quarter == veto_quarter
    assert year.vetoed is (veto_quarter is not None)
    assert tuple(q.vetoed for q in year.quarters) == vetoed


def test_veto_leaves_earlier_quarters_unchanged() -> None:
    # Same year with and without V02 in Q3: Q1 and Q2 identical (13, 23).
    base = [ItemTotal("P01", 1, 8, count=4), ItemTotal("B01", 2, 5, largest=5)]
    clean = _score(base, FULL)
    vetoed = _score([*base, ItemTotal("V02", 3, 0)], FULL)
    assert clean.quarters[:2] == vetoed.quarters[:2]
    assert _ytd(clean) == (13, 23, 28, 33)  # 8+5, 8+10+5, +5, +5
    assert _ytd(vetoed) == (13, 23, 0, 0)


@pytest.mark.parametrize(
    ("totals", "items"),
    [
        pytest.param(
            # P01 6+4=10 raw, 8 counted; B01 12 raw, 10 counted;
            # N02 3×2=6 both, signed −; D01 10 both, signed −; V01 carries no points
            [
                ItemTotal("D01", 3, 10, largest=10),
                ItemTotal("P01", 1, 6, count=3),
                ItemTotal("N02", 2, 6, count=2, largest=3),
                ItemTotal("B01", 1, 7, count=2, largest=5),
                ItemTotal("P01", 2, 4, count=2),
                ItemTotal("B01", 4, 5, largest=5),
                ItemTotal("V01", 4, 0),
            ],
            (
                ("P01", Kind.positive, 10, 8),
                ("N02", Kind.negative, -6, -6),
                ("B01", Kind.bonus, 12, 10),
                ("D01", Kind.deduction, -10, -10),
                ("V01", Kind.veto, 0, 0),
            ),
            id="raw_and_counted_signed_in_rule_order",
        ),
        pytest.param(
            # P07 5 under cap: 5 and 5; N10 5×3=15: −15 and −15 (no cap)
            [ItemTotal("N10", 1, 15, count=3, largest=5), ItemTotal("P07", 2, 5, count=5)],
            (
                ("P07", Kind.positive, 5, 5),
                ("N10", Kind.negative, -15, -15),
            ),
            id="under_cap_and_uncapped_negative",
        ),
        pytest.param([], (), id="no_items"),
    ],
)
def test_item_counts(
    totals: list[ItemTotal], items: tuple[tuple[str, Kind, int, int], ...]
) -> None:
    year = _score(totals, {})
    assert tuple((i.code, i.kind, i.points, i.counted) for i in year.items) == items


@pytest.mark.parametrize(
    ("totals", "deducted", "largest"),
    [
        pytest.param([], 0, 0, id="none"),
        pytest.param(
            # N01 2×2=4 + D01 10+5=15 → 19; largest single entry 10
            [
                ItemTotal("N01", 1, 4, count=2, largest=2),
                ItemTotal("D01", 3, 15, count=2, largest=10),
            ],
            19,
            10,
            id="sum_and_largest",
        ),
        pytest.param(
            # positive and bonus entries are not deductions: P01 8, B01 5 ignored; N01 2
            [
                ItemTotal("P01", 1, 8, count=1, largest=8),
                ItemTotal("B01", 1, 5, largest=5),
                ItemTotal("N01", 2, 2, largest=2),
            ],
            2,
            2,
            id="only_deducting_kinds",
        ),
        pytest.param(
            # N02 3 in each quarter = 12, largest 3: many small entries never reach 10
            [ItemTotal("N02", q, 3, largest=3) for q in (1, 2, 3, 4)],
            12,
            3,
            id="many_small",
        ),
    ],
)
def test_year_deducted_and_largest(totals: list[ItemTotal], deducted: int, largest: int) -> None:
    year = _score(totals, {})
    assert year.deducted == deducted
    assert year.largest_deduction == largest


@pytest.mark.parametrize(
    "total",
    [
        pytest.param(ItemTotal("P11", 1, 2), id="unknown_code_P11"),
        pytest.param(ItemTotal("X01", 2, 1), id="unknown_code_X01"),
        pytest.param(ItemTotal("", 1, 1), id="empty_code"),
        pytest.param(ItemTotal("P01", 5, 2), id="quarter_5"),
        pytest.param(ItemTotal("P01", 0, 2), id="quarter_0"),
    ],
)
def test_bad_total_raises(total: ItemTotal) -> None:
    with pytest.raises(ValueError):
        _score([total], {})


@pytest.mark.parametrize(
    ("positive", "review", "bonus", "deducted", "vetoed", "total"),
    [
        pytest.param(0, 0, 0, 0, False, 0, id="nothing"),
        # 32 + 20 + 10 − 47 = 15
        pytest.param(32, 20, 10, 47, False, 15, id="all_four_parts"),
        # 2 + 0 + 0 − 10 = −8 → 0: never below zero
        pytest.param(2, 0, 0, 10, False, 0, id="floor_at_zero"),
        # 8 + 5 − 13 = 0 exactly
        pytest.param(8, 5, 0, 13, False, 0, id="exactly_zero"),
        # 10 items × cap 8 = 80, four reviews of 5 = 20, bonus cap 10: the most, 110
        pytest.param(80, 20, 10, 0, False, 110, id="maximum_110"),
        # a veto: 0 whatever else
        pytest.param(80, 20, 10, 0, True, 0, id="vetoed"),
    ],
)
def test_year_total(positive: int, review: int, bonus: int, deducted: int, vetoed: bool,
                    total: int) -> None:
    assert year_total(positive, review, bonus, deducted, vetoed) == total


DEFAULTS = RatingParams()


@pytest.mark.parametrize(
    ("score", "params", "counted"),
    [
        pytest.param(None, DEFAULTS, 5, id="unset_becomes_5"),
        pytest.param(0, DEFAULTS, 0, id="zero_stays_zero"),
        pytest.param(3, DEFAULTS, 3, id="given_counts_as_given"),
        pytest.param(None, RatingParams(review_max=10, review_default=8), 8,
                     id="unset_becomes_the_years_default"),
    ],
)
def test_review_points(score: int | None, params: RatingParams, counted: int) -> None:
    assert review_points(score, params) == counted


@pytest.mark.parametrize(
    ("score", "params", "allowed"),
    [
        pytest.param(0, DEFAULTS, True, id="0"),
        pytest.param(5, DEFAULTS, True, id="5"),
        pytest.param(6, DEFAULTS, False, id="6_over_5"),
        pytest.param(-1, DEFAULTS, False, id="minus_1"),
        pytest.param(10, RatingParams(review_max=10, review_default=8), True,
                     id="10_when_the_year_allows_10"),
    ],
)
def test_review_score_allowed(score: int, params: RatingParams, allowed: bool) -> None:
    assert review_score_allowed(score, params) is allowed
