"""Entries of the demo: what the committee records, what members self-report, decisions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from app.demo.cast import Cast, Person
from app.demo.texts import NOTES, REJECT_REASONS
from app.demo.timeline import Timeline, at, local_day
from app.models import Entry, RuleSetRow
from app.points import QUARTERS, RuleSet, quarter_end, quarter_of, quarter_start
from app.services import entries
from app.services.entries import NewEntry
from app.services.rules import load_rule_set

# Per positive item: units that reach the default cap, most entries a year, the share
# members self-report, and the quarters it happens in (P06 pledges are checked twice a year).
HABITS: dict[str, tuple[int, int, float, tuple[int, ...]]] = {
    "P01": (4, 2, 0.1, QUARTERS),
    "P02": (8, 3, 0.0, QUARTERS),
    "P03": (4, 2, 0.1, QUARTERS),
    "P05": (4, 2, 0.2, QUARTERS),
    "P06": (2, 2, 0.3, (2, 4)),
    "P07": (8, 2, 0.8, QUARTERS),
    "P08": (4, 2, 0.7, QUARTERS),
    "P09": (4, 2, 0.9, QUARTERS),
    "P10": (1, 2, 0.0, (3, 3, 1, 4)),  # rarer than its cap allows
}
SINGLE = {"P06", "P10"}  # one pledge or one urgent task per entry
REJECT_SHARE = 0.07


@dataclass(eq=False)
class Planned:
    """One entry as the story means it; `entry` once the timeline has created it."""

    person: Person
    code: str
    day: date
    by: Person
    note: str
    quantity: int | None = None
    points: int | None = None
    entry: Entry | None = None


class EntryWriter:
    """Puts entries and their decisions on the timeline, inside each quarter's own days."""

    def __init__(self, session: Session, cast: Cast, timeline: Timeline, rng: random.Random,
                 opening: date) -> None:
        self.session, self.cast, self.timeline, self.rng = session, cast, timeline, rng
        self.now = timeline.now
        self.today = local_day(timeline.now)
        self.opening = opening  # the first day anything is recorded
        self._rules: dict[int, RuleSet] = {}
        self._rows: list[object] = []

    # -- who does it, and when ------------------------------------------------------------

    def recorder(self, person: Person) -> Person:
        branch = self.cast.branches[person.branch]
        first, second = (branch.secretary, branch.deputy) if self.rng.random() < 0.7 else \
            (branch.deputy, branch.secretary)
        return second if first is person else first

    def decider(self, person: Person) -> Person:
        """A committee member of the branch other than the person concerned."""
        return self.recorder(person)

    def _moment(self, day: date, lag_days: int, hours: tuple[int, int]) -> datetime:
        """A working moment `lag_days` after `day`, kept inside the quarter and before now."""
        last = quarter_end(day.year, quarter_of(day))
        when = at(day + timedelta(days=lag_days), self.rng.randint(*hours),
                  self.rng.randrange(0, 60, 5))
        return min(when, at(last, 20), self.now)

    def _valid_day(self, person: Person, day: date) -> bool:
        return max(self.opening, person.joined_on) <= day <= self.today

    # -- putting entries on the timeline --------------------------------------------------

    def record(self, person: Person, code: str, day: date, note: str, *,
               by: Person | None = None, quantity: int | None = None,
               points: int | None = None) -> Planned | None:
        """The committee records an entry: approved at once."""
        if not self._valid_day(person, day):
            return None
        planned = Planned(person, code, day, by or self.recorder(person), note, quantity, points)
        self.timeline.add(self._moment(day, self.rng.randint(0, 3), (9, 17)),
                          lambda when: self._create(planned, when))
        return planned

    def report(self, person: Person, code: str, day: date, note: str, *,
               quantity: int | None = None, decide: bool = True,
               created: datetime | None = None) -> Planned | None:
        """The member self-reports; another committee member decides a few days later."""
        if not self._valid_day(person, day):
            return None
        planned = Planned(person, code, day, person, note, quantity)
        created = created or self._moment(day, self.rng.randint(0, 2), (19, 22))
        self.timeline.add(created, lambda when: self._create(planned, when))
        if decide:
            decider = self.decider(person)
            last = at(quarter_end(day.year, quarter_of(day)), 21)
            when = at(local_day(created) + timedelta(days=self.rng.randint(1, 4)),
                      self.rng.randint(8, 18), self.rng.randrange(0, 60, 5))
            when = max(min(when, last), created + timedelta(minutes=30))
            reason = self.rng.choice(REJECT_REASONS) \
                if self.rng.random() < REJECT_SHARE else None
            self.timeline.add(when, lambda moment: self._decide(planned, decider, reason,
                                                                moment))
        return planned

    def revoke(self, planned: Planned, by: Person, when: datetime, reason: str) -> None:
        def run(moment: datetime) -> None:
            if planned.entry is not None and planned.entry.id is not None:
                entries.revoke_entry(self.session, self.cast.actor(by), planned.entry.id,
                                     reason, moment)
        self.timeline.add(when, run)

    # -- what happens when the timeline plays ---------------------------------------------

    def rules(self, year: int, when: datetime) -> RuleSet:
        if year not in self._rules:
            self._rules[year] = load_rule_set(self.session, year, when)
            self._rows.append(self.session.get(RuleSetRow, year))  # see Person.rows
        return self._rules[year]

    def _create(self, planned: Planned, when: datetime) -> None:
        item = self.rules(planned.day.year, when).item(planned.code)
        if item is None or not item.applies_to(planned.person.category):
            return  # an administrator narrowed the rule; the demo respects it
        new = NewEntry(member_id=planned.person.id, rule_code=planned.code,
                       occurred_on=planned.day, quantity=planned.quantity,
                       points=planned.points, note=planned.note)
        entry = entries.create_entry(self.session, self.cast.actor(planned.by), new, when,
                                     local_day(when))
        planned.entry = entry

    def _decide(self, planned: Planned, decider: Person, reason: str | None,
                when: datetime) -> None:
        if planned.entry is None or planned.entry.id is None:
            return
        actor = self.cast.actor(decider)
        if reason is None:
            entries.approve_entry(self.session, actor, planned.entry.id, when)
        else:
            entries.reject_entry(self.session, actor, planned.entry.id, reason, when)

    # -- a member's year ------------------------------------------------------------------

    def note(self, code: str, day: date) -> str:
        return self.rng.choice(NOTES[code]).format(m=day.month, q="一二三四"[quarter_of(day) - 1])

    def year(self, person: Person, year: int) -> None:
        """A year of branch life for one member, at their level of engagement; what lies
        after today or before they joined is left out."""
        rng, e = self.rng, person.engagement

        def day_in(quarter: int, within: int = 92) -> date:
            start = quarter_start(year, quarter)
            last = quarter_end(year, quarter)
            return min(last, start + timedelta(days=rng.randrange(within)))

        for quarter in QUARTERS:  # dues, quarterly
            day = day_in(quarter, 40)
            if rng.random() < 0.9 + 0.1 * e:
                self.record(person, "P04", day, self.note("P04", day))
            elif e < 0.75 and person.tag != "exempt":
                self.record(person, "N03", day + timedelta(days=30), self.note("N03", day))
        for code, (cap_units, most, self_share, quarters) in HABITS.items():
            done = min(1.0, max(0.05, e + rng.gauss(0, 0.08)))
            units = int(cap_units * done * 1.1 + rng.random())
            count = min(units, most)
            if count == 0:
                continue
            sizes = [1] * count
            for _ in range(0 if code in SINGLE else units - count):
                sizes[rng.randrange(count)] += 1
            picked = rng.sample(quarters, count) if count <= len(quarters) else \
                rng.choices(quarters, k=count)
            for quarter, quantity in zip(picked, sizes, strict=True):
                day = day_in(quarter)
                note = self.note(code, day)
                if rng.random() < self_share:
                    self.report(person, code, day, note, quantity=quantity)
                else:
                    self.record(person, code, day, note, quantity=quantity)
        if person.tag == "exempt":
            return
        for quarter in QUARTERS:  # members who drift away miss meetings and study
            for code, chance in (("N01", 0.4), ("N02", 0.35)):
                if rng.random() < chance * (1 - e) - 0.05:
                    day = day_in(quarter)
                    self.record(person, code, day, self.note(code, day))
