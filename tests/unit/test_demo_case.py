"""The demo's disposal case (app/demo/cases.py): whatever day the demo is loaded, its steps
fall on working days, in order, in the past, and the branch meeting's counts pass."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.demo.cases import HOLIDAYS, MONTHS, SCHEDULE, meeting, moments
from app.demo.timeline import local_day
from app.models import StepKind
from app.points.disposal import add_months


def test_the_steps_fall_on_working_days_in_order_whatever_the_day() -> None:
    today, last = date(2025, 1, 1), date(2031, 1, 1)
    while today < last:
        found = moments(today)
        assert list(found) == [kind for kind, *_ in SCHEDULE]
        days = [local_day(m) for m in found.values()]
        assert days == sorted(set(days)), today
        assert all(d.weekday() < 5 and (d.month, d.day) not in HOLIDAYS for d in days)
        # Filed about three months ago, decided about two: the deadline about four ahead.
        assert 80 <= (today - days[0]).days <= 92, today
        assert 50 <= (today - days[-1]).days <= 61, today
        assert 110 <= (add_months(days[-1], MONTHS) - today).days <= 135, today
        today += timedelta(days=1)


def test_on_7_april_2026_the_case_was_filed_in_january() -> None:
    """The day the e2e screenshots are taken (tests/e2e/support.DEMO_START)."""
    found = {k: local_day(m) for k, m in moments(date(2026, 4, 7)).items()}
    assert (found[StepKind.file], found[StepKind.vote], found[StepKind.decision]) == (
        date(2026, 1, 5), date(2026, 2, 2), date(2026, 2, 5))


@pytest.mark.parametrize("eligible", range(1, 60))
def test_the_branch_meeting_has_its_quorum_and_passes(eligible: int) -> None:
    count = meeting(eligible)
    assert count.problem() is None and count.passed
    assert count.present <= eligible and count.votes_for + count.against + count.abstain \
        == count.present


def test_the_community_branch_meeting() -> None:
    """社区党支部's twelve: ten there, eight for, one against, one abstaining."""
    count = meeting(12)
    assert (count.present, count.votes_for, count.against, count.abstain) == (10, 8, 1, 1)
