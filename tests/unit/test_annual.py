"""The annual score from year totals (what the rating engine uses) equals score_year's Q4.

Hand-worked cases from docs/scoring.md (caps bound an item's year total; a veto anywhere in
the year zeroes the annual score; the score never goes below 0), then a property check
against the quarter-by-quarter engine over random years.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.points import AnnualScore, ItemTotal, default_rule_set, score_annual, score_year

RULES = default_rule_set(2025)
FULL: dict[int, int | None] = {1: 5, 2: 5, 3: 5, 4: 5}


@pytest.mark.parametrize(
    ("totals", "reviews", "expected"),
    [
        pytest.param([], {}, AnnualScore(0, False, 0, 0), id="empty_year"),
        pytest.param([], FULL, AnnualScore(20, False, 0, 0), id="reviews_only"),
        pytest.param(
            # 5 + unset (the default, 5) + 3 + no line in Q4 (nothing) = 13
            [], {1: 5, 2: None, 3: 3}, AnnualScore(13, False, 0, 0),
            id="unset_review_counts_default",
        ),
        pytest.param(
            # P01 10 points over the year, capped 8; P02 3 under its cap: 8+3+20 = 31
            [("P01", 10, 5, 2), ("P02", 3, 3, 1)], FULL, AnnualScore(31, False, 0, 0),
            id="cap_bounds_the_year",
        ),
        pytest.param(
            # every P item at 20, capped 8 each: 80; B01 12 capped 10; review 20 → 110
            [(f"P{n:02d}", 20, 10, 2) for n in range(1, 11)] + [("B01", 12, 3, 5)], FULL,
            AnnualScore(110, False, 0, 0), id="all_caps_and_bonus_cap",
        ),
        pytest.param(
            # 8 + 20 − (N01 4 + D01 7) = 17; largest single deduction 7 (D01)
            [("P01", 8, 4, 2), ("N01", 4, 2, 2), ("D01", 7, 1, 7)], FULL,
            AnnualScore(17, False, 11, 7), id="deductions_have_no_cap",
        ),
        pytest.param(
            # 2 − 10 → 0: never below zero; deducted still reported as 10
            [("P01", 2, 1, 2), ("N06", 10, 1, 10)], {}, AnnualScore(0, False, 10, 10),
            id="floor_at_zero",
        ),
        pytest.param(
            # a veto zeroes the year whatever else was earned
            [("P01", 8, 4, 2), ("V02", 0, 1, 0)], FULL, AnnualScore(0, True, 0, 0),
            id="veto_zeroes",
        ),
        pytest.param(
            # a score outside 0..5 counts as given: the range is checked where it is set
            [("P01", 6, 3, 2)], {1: -3}, AnnualScore(3, False, 0, 0),
            id="negative_review_counted_as_given",
        ),
    ],
)
def test_annual_cases(totals: list[tuple[str, int, int, int]],
                      reviews: dict[int, int | None], expected: AnnualScore) -> None:
    assert score_annual(RULES, totals, reviews) == expected


def test_unknown_code_raises() -> None:
    with pytest.raises(ValueError, match="X99"):
        score_annual(RULES, [("X99", 1, 1, 1)], {})


CODES = [item.code for item in RULES.items]

item_totals = st.lists(
    st.builds(
        lambda code, quarter, count, each: ItemTotal(code, quarter, count * each, count, each),
        st.sampled_from(CODES), st.integers(1, 4), st.integers(1, 6), st.integers(0, 10),
    ),
    max_size=25,
)
reviews = st.dictionaries(st.integers(1, 4), st.one_of(st.none(), st.integers(-5, 10)))


@settings(max_examples=400, deadline=None)
@given(item_totals, reviews)
def test_annual_equals_score_year(totals: list[ItemTotal],
                                  quarter_reviews: dict[int, int | None]) -> None:
    # The same year as the quarter engine sees it, summed per item as SQL sums it.
    year: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for t in totals:
        summed = year[t.code]
        summed[0] += t.points
        summed[1] += t.count
        summed[2] = max(summed[2], t.largest)
    quarterly = score_year(RULES, totals, quarter_reviews)
    annual = score_annual(RULES, [(code, *v) for code, v in year.items()], quarter_reviews)
    assert annual == AnnualScore(quarterly.annual, quarterly.vetoed, quarterly.deducted,
                                 quarterly.largest_deduction)
