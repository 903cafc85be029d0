"""The arithmetic of a disposal case (appraisal.md §5): the branch meeting's vote and the
deadline of 限期改正. Plain functions over plain numbers and dates."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

MIN_RECTIFY_MONTHS, MAX_RECTIFY_MONTHS = 1, 12


def add_months(on: date, months: int) -> date:
    """`on` plus whole calendar months, clamped to the month's end (08-31 + 6 = 02-28)."""
    index = on.year * 12 + on.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(on.day, last))


class VoteProblem(StrEnum):
    """Why a vote's counts cannot be recorded."""

    counts_mismatch = "counts_mismatch"  # for + against + abstain != present
    present_over_eligible = "present_over_eligible"
    no_quorum = "no_quorum"  # present × 2 ≤ eligible


@dataclass(frozen=True)
class VoteCount:
    """A branch meeting's vote (支部大会表决): who was there and how they voted, against the
    members with a vote that day (应到会有表决权的党员)."""

    eligible: int
    present: int
    votes_for: int
    against: int
    abstain: int

    def problems(self) -> list[VoteProblem]:
        """Everything wrong with the counts, in this order: they add up, at most everyone
        with a vote came, and more than half of them did (the quorum)."""
        found = []
        if self.votes_for + self.against + self.abstain != self.present:
            found.append(VoteProblem.counts_mismatch)
        if self.present > self.eligible:
            found.append(VoteProblem.present_over_eligible)
        if self.present * 2 <= self.eligible:
            found.append(VoteProblem.no_quorum)
        return found

    def problem(self) -> VoteProblem | None:
        """The first thing wrong with the counts, or None."""
        return next(iter(self.problems()), None)

    @property
    def passed(self) -> bool:
        """More than half of the members with a vote (not of those present) voted for."""
        return self.votes_for * 2 > self.eligible
