"""Quarters of the calendar year: Q1 = January to March, and so on (docs/scoring.md, The score)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.points import QUARTERS, quarter_end, quarter_of, quarter_start


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        pytest.param(date(2025, 1, 1), 1, id="jan_1"),
        pytest.param(date(2025, 2, 14), 1, id="feb_14"),
        pytest.param(date(2024, 2, 29), 1, id="leap_day"),
        pytest.param(date(2025, 3, 31), 1, id="mar_31"),
        pytest.param(date(2025, 4, 1), 2, id="apr_1"),
        pytest.param(date(2025, 6, 30), 2, id="jun_30"),
        pytest.param(date(2025, 7, 1), 3, id="jul_1"),
        pytest.param(date(2025, 9, 30), 3, id="sep_30"),
        pytest.param(date(2025, 10, 1), 4, id="oct_1"),
        pytest.param(date(2025, 12, 31), 4, id="dec_31"),
    ],
)
def test_quarter_of(day: date, quarter: int) -> None:
    assert quarter_of(day) == quarter


@pytest.mark.parametrize(
    ("year", "quarter", "start", "end"),
    [
        pytest.param(2025, 1, date(2025, 1, 1), date(2025, 3, 31), id="2025_q1"),
        pytest.param(2025, 2, date(2025, 4, 1), date(2025, 6, 30), id="2025_q2"),
        pytest.param(2025, 3, date(2025, 7, 1), date(2025, 9, 30), id="2025_q3"),
        pytest.param(2025, 4, date(2025, 10, 1), date(2025, 12, 31), id="2025_q4"),
        pytest.param(2024, 1, date(2024, 1, 1), date(2024, 3, 31), id="2024_leap_q1"),
    ],
)
def test_quarter_bounds(year: int, quarter: int, start: date, end: date) -> None:
    assert quarter_start(year, quarter) == start
    assert quarter_end(year, quarter) == end


def test_quarters() -> None:
    assert QUARTERS == (1, 2, 3, 4)


@pytest.mark.parametrize("year", [2024, 2025])
def test_quarters_tile_the_year(year: int) -> None:
    # Every day lies in exactly the quarter whose bounds contain it.
    day = date(year, 1, 1)
    while day.year == year:
        q = quarter_of(day)
        assert quarter_start(year, q) <= day <= quarter_end(year, q)
        day += timedelta(days=1)
