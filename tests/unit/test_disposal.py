"""The arithmetic of a disposal case (appraisal.md §5), by tables worked out by hand."""

from __future__ import annotations

from datetime import date

import pytest

from app.points.disposal import VoteCount, VoteProblem, add_months


@pytest.mark.parametrize(("on", "months", "deadline"), [
    (date(2026, 8, 31), 6, date(2027, 2, 28)),  # clamped to February's end
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),  # a leap year
    (date(2027, 8, 31), 6, date(2028, 2, 29)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2026, 5, 31), 1, date(2026, 6, 30)),
    (date(2026, 1, 10), 6, date(2026, 7, 10)),
    (date(2026, 12, 15), 1, date(2027, 1, 15)),  # across the year
    (date(2026, 3, 31), 12, date(2027, 3, 31)),
    (date(2026, 7, 1), 6, date(2027, 1, 1)),
])
def test_the_deadline_is_calendar_months_later_clamped_to_the_months_end(
        on: date, months: int, deadline: date) -> None:
    assert add_months(on, months) == deadline


@pytest.mark.parametrize(("eligible", "present", "for_", "against", "abstain", "problem",
                          "passed"), [
    (6, 5, 4, 1, 0, None, True),  # 8 > 6
    (6, 4, 3, 1, 0, None, False),  # 6 is not more than 6
    (6, 6, 3, 3, 0, None, False),
    (6, 4, 4, 0, 0, None, True),
    (6, 3, 3, 0, 0, VoteProblem.no_quorum, False),  # 6 ≤ 6: no quorum, nor a majority
    (7, 4, 4, 0, 0, None, True),  # 8 > 7 either way
    (7, 3, 3, 0, 0, VoteProblem.no_quorum, False),
    (6, 5, 4, 0, 0, VoteProblem.counts_mismatch, True),
    (6, 7, 7, 0, 0, VoteProblem.present_over_eligible, True),
    (0, 0, 0, 0, 0, VoteProblem.no_quorum, False),
    (1, 1, 1, 0, 0, None, True),
])
def test_a_vote_needs_its_counts_to_add_up_a_quorum_and_a_majority_of_all_with_a_vote(
        eligible: int, present: int, for_: int, against: int, abstain: int,
        problem: VoteProblem | None, passed: bool) -> None:
    vote = VoteCount(eligible, present, for_, against, abstain)
    assert (vote.problem(), vote.passed) == (problem, passed)


@pytest.mark.parametrize(("counts", "problems"), [
    ((6, 5, 4, 1, 0), []),
    ((6, 2, 1, 0, 0), [VoteProblem.counts_mismatch, VoteProblem.no_quorum]),
    ((6, 7, 3, 6, 0), [VoteProblem.counts_mismatch, VoteProblem.present_over_eligible]),
    ((6, 3, 1, 1, 1), [VoteProblem.no_quorum]),
])
def test_every_problem_of_a_vote_is_named(counts: tuple[int, int, int, int, int],
                                          problems: list[VoteProblem]) -> None:
    """What `jifen check` reports of a stored vote: all that is wrong, the first as refused."""
    vote = VoteCount(*counts)
    assert vote.problems() == problems
    assert vote.problem() == (problems[0] if problems else None)
