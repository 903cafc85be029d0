"""The default rule set against its table (docs/scoring.md, Rule items)."""

from __future__ import annotations

import pytest

from app.points import (
    ALL_CATEGORIES,
    Category,
    Kind,
    RatingParams,
    default_rule_set,
    needs_reason,
)

RULES = default_rule_set(2025)
P, N, BON, DED, V = Kind.positive, Kind.negative, Kind.bonus, Kind.deduction, Kind.veto

# code, kind, points per unit (None: chosen per entry), min, max, cap per year (None: —)
SPEC_TABLE = [
    ("P01", P, 2, None, None, 8),
    ("P02", P, 1, None, None, 8),
    ("P03", P, 2, None, None, 8),
    ("P04", P, 2, None, None, 8),
    ("P05", P, 2, None, None, 8),
    ("P06", P, 4, None, None, 8),
    ("P07", P, 1, None, None, 8),
    ("P08", P, 2, None, None, 8),
    ("P09", P, 2, None, None, 8),
    ("P10", P, 4, None, None, 8),
    ("N01", N, 2, None, None, None),
    ("N02", N, 3, None, None, None),
    ("N03", N, 2, None, None, None),
    ("N04", N, 3, None, None, None),
    ("N05", N, 3, None, None, None),
    ("N06", N, 10, None, None, None),
    ("N07", N, 10, None, None, None),
    ("N08", N, 5, None, None, None),
    ("N09", N, 5, None, None, None),
    ("N10", N, 5, None, None, None),
    ("B01", BON, None, 1, 5, 10),
    ("D01", DED, None, 1, 10, None),
    ("V01", V, None, None, None, None),
    ("V02", V, None, None, None, None),
    ("V03", V, None, None, None, None),
    ("V04", V, None, None, None, None),
]


@pytest.mark.parametrize(
    ("code", "kind", "points", "min_points", "max_points", "cap"),
    [pytest.param(*row, id=row[0]) for row in SPEC_TABLE],
)
def test_default_item(
    code: str,
    kind: Kind,
    points: int | None,
    min_points: int | None,
    max_points: int | None,
    cap: int | None,
) -> None:
    item = RULES.item(code)
    assert item is not None
    assert (item.code, item.kind, item.points, item.min_points, item.max_points, item.cap) == (
        code,
        kind,
        points,
        min_points,
        max_points,
        cap,
    )
    assert item.name
    # Only B01 and D01 have their points chosen per entry.
    assert item.chosen_points is (code in {"B01", "D01"})
    # By default every item applies to every member category.
    assert item.categories == ALL_CATEGORIES
    assert all(item.applies_to(c) for c in ("active", "mobile", "retired", "rural"))


def test_default_items_are_exactly_the_table() -> None:
    assert [i.code for i in RULES.items] == [row[0] for row in SPEC_TABLE]
    assert RULES.year == 2025


@pytest.mark.parametrize("code", ["P11", "N00", "X01", "p01", ""])
def test_unknown_item_is_none(code: str) -> None:
    assert RULES.item(code) is None


def test_categories() -> None:
    assert {c.value for c in Category} == {"active", "mobile", "retired", "rural"}


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("review_max", 5, id="review_0_to_5"),
        pytest.param("review_default", 5, id="unset_review_becomes_5"),
        pytest.param("star_thresholds", (60, 70, 80, 90, 96), id="stars_1_to_5"),
        pytest.param("unqualified_below", 60, id="unqualified_below_60"),
        pytest.param("basic_below", 70, id="basic_below_70"),
        pytest.param("basic_single_deduction", 10, id="single_entry_10"),
        pytest.param("excellent_min", 90, id="excellent_from_90"),
        pytest.param("excellent_divisor", 3, id="excellent_n_over_3"),
    ],
)
def test_default_rating_params(field: str, expected: object) -> None:
    assert getattr(RULES.params, field) == expected
    assert getattr(RatingParams(), field) == expected


@pytest.mark.parametrize(
    ("kind", "points", "threshold", "needed"),
    [
        pytest.param(V, 0, 10, True, id="veto"),
        pytest.param(N, -10, 10, True, id="N06_10"),
        pytest.param(DED, -10, 10, True, id="D01_10"),
        pytest.param(DED, -9, 10, False, id="D01_9"),
        pytest.param(N, -12, 10, True, id="N02_x4"),
        pytest.param(N, -2, 10, False, id="N01"),
        pytest.param(P, 8, 10, False, id="positive"),
        pytest.param(BON, 5, 10, False, id="bonus"),
        pytest.param(N, -8, 8, True, id="threshold_is_the_years"),
    ],
)
def test_a_veto_or_a_big_deduction_needs_a_reason(kind: Kind, points: int, threshold: int,
                                                  needed: bool) -> None:
    """The grade's single-deduction line (docs/scoring.md, Grades) is the reason's too."""
    params = RatingParams(basic_single_deduction=threshold)
    assert needs_reason(kind, points, params) is needed
