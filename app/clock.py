"""The one source of time, injectable so tests can stand in any quarter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends

# Branches live on Beijing time; "today" for a future-date check is theirs.
CHINA = ZoneInfo("Asia/Shanghai")


def beijing_wall(moment: datetime | None) -> datetime | None:
    """A stored UTC moment as Beijing wall-clock time without a zone (a spreadsheet's cell,
    which has none), the way the pages show it."""
    return moment.astimezone(CHINA).replace(tzinfo=None) if moment else None


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(CHINA).date()


class FixedClock(Clock):
    """A clock that stands still until told to move (tests, the demo)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at = self.at + timedelta(**delta)


clock: Clock = Clock()


async def get_clock() -> Clock:
    """The request's clock. Async: a sync dependency costs a worker-thread hop per request."""
    return clock


def current_clock() -> Clock:
    """The clock outside a request (the command line)."""
    return clock


# The routes' clock, as `clock: ClockDep` (FastAPI's Annotated dependency style).
ClockDep = Annotated[Clock, Depends(get_clock)]
