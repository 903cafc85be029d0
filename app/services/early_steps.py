"""Steps taken before their time (issue 17): publishing or finalizing a quarterly review
before its quarter has ended, publishing or submitting a year's rating before the year has
ended, or publishing either with a notice (公示) shorter than the year's `min_notice_days`.

A branch may have its reasons, so none of these is refused outright; but finalizing early
locks the rest of the quarter for the whole branch, and a short notice leaves members little
time to object, so none is done silently either: each needs a reason, which is stored on the
review or rating (and so in its audit row). This module is the one place that decides
whether a step is early and what its reason must be; the services raise its refusal and the
pages say the same before the button (docs/scoring.md, Workflow 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from app.clock import CHINA
from app.services.errors import Invalid
from app.services.text import says_nothing

# Stored in a column of this length (migration 0014).
MAX_REASON = 500
# A review is published and finalized, a rating published and submitted (its last step).
EarlyStep = Literal["publish", "finalize", "submit"]


def unended(last_day: date, now: datetime) -> date | None:
    """The period's last day while it has not ended (today in Beijing is on or before it),
    else None."""
    return last_day if now.astimezone(CHINA).date() <= last_day else None


def short_notice(notice_days: int | None, min_notice_days: int) -> bool:
    return notice_days is not None and notice_days < min_notice_days


@dataclass(frozen=True)
class Earliness:
    """Why a step needs a reason now: the period's last day if it has not ended, and for a
    publication a notice below the year's minimum. Neither: no reason is needed."""

    year: int
    quarter: int | None  # None: the year (a rating)
    step: EarlyStep
    ends_on: date | None
    notice_days: int | None = None
    min_notice_days: int = 0

    @property
    def short(self) -> bool:
        return short_notice(self.notice_days, self.min_notice_days)

    @property
    def needs_reason(self) -> bool:
        return self.ends_on is not None or self.short


def year_earliness(year: int, step: EarlyStep, now: datetime, notice_days: int | None = None,
                   min_notice_days: int = 0) -> Earliness:
    """Why a step of the year's rating needs a reason now: the year has not ended (today
    before 1 January of the next), or, publishing, the notice is below the minimum."""
    return Earliness(year, None, step, unended(date(year, 12, 31), now), notice_days,
                     min_notice_days)


class ReasonRequired(Invalid):
    """422 `reason_required` for an early step without a reason; the detail says why, and
    the pages read the same from `earliness` (app/present/messages.py)."""

    def __init__(self, earliness: Earliness) -> None:
        period = (f"{earliness.year} Q{earliness.quarter}" if earliness.quarter
                  else str(earliness.year))
        why = []
        if earliness.ends_on is not None:
            why.append(f"{period} has not ended (it ends on {earliness.ends_on.isoformat()})")
        if earliness.short:
            why.append(f"a notice of {earliness.notice_days} days is below the year's minimum "
                       f"of {earliness.min_notice_days} days")
        super().__init__("A reason is required: " + " and ".join(why) + ".", "reason_required")
        self.earliness = earliness


def checked_reason(reason: str | None, earliness: Earliness) -> str | None:
    """The reason to store, stripped (None when blank); ReasonRequired when the step is
    early and none is given, `reason_too_long` past MAX_REASON. A reason given for a step
    that needs none is kept too."""
    text = (reason or "").strip()
    if len(text) > MAX_REASON:
        raise Invalid(f"reason is longer than {MAX_REASON} characters.", "reason_too_long")
    if says_nothing(text) and earliness.needs_reason:
        raise ReasonRequired(earliness)
    return text or None
