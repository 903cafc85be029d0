"""Quarters of the calendar year (Q1 = January to March)."""

from __future__ import annotations

from datetime import date

QUARTERS = (1, 2, 3, 4)


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * (quarter - 1) + 1, 1)


def quarter_end(year: int, quarter: int) -> date:
    if quarter == 4:
        return date(year, 12, 31)
    next_start = quarter_start(year, quarter + 1)
    return date.fromordinal(next_start.toordinal() - 1)
