"""Demo time: Beijing wall-clock helpers and a list of dated actions played in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from app.clock import CHINA, FixedClock

Action = Callable[[datetime], object]  # what it returns is not used


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock moment, as the aware UTC datetime the services store."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(UTC)


def local_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


@dataclass
class Timeline:
    """Actions with the moment each happens; played in time order, up to `now` only."""

    now: datetime
    # Stands at each action's moment while it plays: the time of the rows' updated_at.
    clock: FixedClock | None = None
    _events: list[tuple[datetime, int, Action]] = field(default_factory=list)

    def add(self, when: datetime, action: Action) -> None:
        self._events.append((when, len(self._events), action))

    def play(self) -> int:
        played = 0
        for when, _, action in sorted(self._events, key=lambda e: (e[0], e[1])):
            if when <= self.now:
                if self.clock is not None:
                    self.clock.at = max(self.clock.at, when)
                action(when)
                played += 1
        return played
