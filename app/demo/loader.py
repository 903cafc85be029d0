"""load_demo: two years of a 党委 and its three branches, written through app.services.

Everything goes through the service functions with the moment it happens, so every rule of
docs/scoring.md (dates, categories, caps, locks, the ⌊n/3⌋ cap) and the audit log apply.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlmodel import Session, select

from app.clock import FixedClock
from app.demo.cases import disposal_case
from app.demo.cast import Cast, Person, build_cast, plan_people
from app.demo.entries import EntryWriter
from app.demo.ratings import RatingWriter
from app.demo.reviews import Pace, ReviewWriter
from app.demo.texts import (
    EXEMPT_NOTE,
    REVOKE_REASON,
    REVOKED_NOTE,
    SCRIPTED,
    WAITING,
)
from app.demo.timeline import Timeline, at, local_day
from app.models import Account, ExemptionReason, Org, Standing
from app.points import QUARTERS, quarter_of, quarter_start
from app.services import members, stamps, standing
from app.services.errors import WorkflowConflict

DEMO_PASSWORD = "jifen-demo-2025"
SEED = 2025


@dataclass(frozen=True)
class DemoLogins:
    password: str
    accounts: list[tuple[str, str]]  # (username, who it is)


def _refuse_if_loaded(session: Session) -> None:
    if members.username_taken(session, "admin"):
        raise WorkflowConflict(
            "The demo is already loaded in this database (the account 'admin' exists); "
            "log in with the accounts it printed.", "demo_loaded")
    if session.exec(select(Org.id)).first() is not None:
        raise WorkflowConflict("This database already has organisations; the demo loads only "
                               "into an empty database.", "database_not_empty")


def _next_quarter_start(year: int, quarter: int) -> datetime:
    """Midnight (Beijing) after the quarter ends."""
    return at(date(year + 1, 1, 1) if quarter == 4 else quarter_start(year, quarter + 1), 0)


def _one_offs(writer: EntryWriter, cast: Cast, prev: int) -> None:
    """Bonuses, deductions, negative items, the veto and the revoked entry."""
    for offset, tag, code, month, day, points, note in SCRIPTED:
        person = cast.tagged(tag)
        writer.record(person, code, date(prev + offset, month, day), note,
                      by=cast.branches[person.branch].secretary, points=points)
    community = cast.branches[2]
    mistaken = writer.record(community.people[4], "P03", date(prev, 5, 6), REVOKED_NOTE,
                             by=community.secretary)
    if mistaken is not None:
        writer.revoke(mistaken, community.deputy, at(date(prev, 5, 14), 16), REVOKE_REASON)


def _approval_queue(writer: EntryWriter, cast: Cast, now: datetime) -> None:
    """Self-reports of the last hours that no committee member has looked at yet."""
    today = local_day(now)
    opened = at(quarter_start(today.year, quarter_of(today)), 0)
    reporters = [b.people[i] for i in (6, 9) for b in cast.branches][:len(WAITING)]
    for i, (person, (code, quantity, note)) in enumerate(zip(reporters, WAITING, strict=True)):
        created = max(now - timedelta(hours=5 * i + 1), opened)
        day = max(local_day(created) - timedelta(days=i), local_day(opened))
        writer.report(person, code, day, note, quantity=quantity, decide=False,
                      created=created)


def _exemption(cast: Cast, timeline: Timeline, person: Person, year: int, decided: date,
               consent: date, recorded: datetime) -> None:
    """免评 of `year` for `person` (appraisal.md §1): decided by the branch meeting, consented
    to by the 党委, recorded by the secretary."""
    given = standing.ExemptionIn(ExemptionReason.bedridden, EXEMPT_NOTE, consent, decided)

    def record(when: datetime) -> None:
        secretary = cast.actor(cast.branches[person.branch].secretary)
        standing.record_exemption(cast.session, secretary, person.id, year, given, when,
                                  local_day(when))

    timeline.add(recorded, record)
    person.notes.append(f"免评 exempt in {year} ({EXEMPT_NOTE})")


def _standings(cast: Cast, timeline: Timeline, prev: int, now: datetime) -> None:
    """Who joins as a 预备党员 and when, the 转正 a year on, and the exemptions of both
    years (this year's as early as the year allows)."""
    late, recruit, exempt = cast.tagged("late"), cast.tagged("recruit"), cast.tagged("exempt")
    year = prev + 1
    for person in (late, recruit):
        timeline.add(at(person.joined_on, 8, 30), partial(cast.enrol, person, DEMO_PASSWORD))
    late.notes.append(f"joined {late.joined_on} as 预备党员 (probationary)")
    recruit.notes.append(f"joins {recruit.joined_on} as 预备党员 (probationary)")
    full_since = date(year, 4, 15)

    def become_full(when: datetime) -> None:
        secretary = cast.actor(cast.branches[late.branch].secretary)
        members.update_member(cast.session, secretary, late.id,
                              {"standing": Standing.full, "full_since": full_since}, when)

    timeline.add(at(full_since, 10), become_full)
    late.notes.append(f"转正 (full) on {full_since}")
    _exemption(cast, timeline, exempt, prev, date(prev, 11, 8), date(prev, 11, 14),
               at(date(prev, 11, 15), 10))
    recorded = max(at(date(year, 1, 2), 10), min(at(date(year, 3, 19), 10),
                                                   now - timedelta(hours=1)))
    day = local_day(recorded)
    _exemption(cast, timeline, exempt, year, min(date(year, 3, 12), day),
               min(date(year, 3, 18), day), recorded)


def load_demo(session: Session, now: datetime) -> DemoLogins:
    """Load the demo as of `now`: last year complete and rated, this year up to today.

    Does not commit; the caller does. Refuses a database that already has the demo.
    """
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    _refuse_if_loaded(session)
    rng = random.Random(SEED)
    today = local_day(now)
    year, prev, current = today.year, today.year - 1, quarter_of(today)

    # The recruit joins before 七一, or by today early in the year.
    recruited = max(date(year, 1, 2), min(date(year, 6, 28), today))
    start = at(date(prev, 1, 2), 9)
    # Every row's updated_at is the moment it was written in the story, not the loading's.
    clock = FixedClock(start)
    stamps.use_clock(session, clock, replay=True)
    cast = build_cast(session, plan_people(rng, prev, recruited), DEMO_PASSWORD, start, clock)
    timeline = Timeline(now, clock)
    writer = EntryWriter(session, cast, timeline, rng, opening=date(prev, 1, 3))
    veto, recruit = cast.tagged("veto"), cast.tagged("recruit")
    _standings(cast, timeline, prev, now)

    for y in (prev, year):
        for person in cast.people:
            if person is not recruit:
                writer.year(person, y)
    # The recruit's entries come from a die of their own (cast.py says why).
    EntryWriter(session, cast, timeline, random.Random(SEED + 1),
                opening=recruited).year(recruit, year)
    _one_offs(writer, cast, prev)
    _approval_queue(writer, cast, now)
    veto.notes.append(f"{prev} 一票否决 vetoed (V01 in Q3)")

    results = ReviewWriter(session, cast, timeline, rng)
    objector = cast.tagged("objector")
    objector.notes.append(f"objected to the {prev} Q2 review")
    # Last year's Q4 and the rating must be done by now, even on 2 January.
    closing = Pace.fitting(_next_quarter_start(prev, 4), now)
    for q in QUARTERS:
        pace = closing if q == 4 else Pace(_next_quarter_start(prev, q))
        for index in range(len(cast.branches)):
            objecting = index == objector.branch and q == 2
            forced: dict[Person, int] = {}
            if objecting:
                forced = {objector: 3}  # the score they will object to
            elif index == veto.branch and q >= 3:
                forced = {veto: 2 if q == 3 else 3}
            results.quarter(index, prev, q, pace, overrides=forced, objection=objecting)
    rated = RatingWriter(session, cast, timeline, SEED)
    # 机关党支部: through every step, with an objection and a reopen, approved by the 党委;
    # 东村党支部: submitted, waiting for the 党委.
    rated.rating(0, prev, closing, approver=cast.tagged("party"), objection=True)
    rated.rating(1, prev, closing, approver=None)
    # This year: ended quarters go through the same steps (those still ahead of now wait).
    for q in range(1, current):
        for index in range(len(cast.branches)):
            results.quarter(index, year, q, Pace(_next_quarter_start(year, q)))
    results.draft(0, year, current,
                  max(now - timedelta(hours=2), at(quarter_start(year, current), 0)))
    # 社区党支部: a disposal case (不合格党员处置), decided about two months ago, 限期改正 now.
    disposal_case(cast, timeline)

    timeline.play()
    clock.at = now
    # Every password was set at a moment worked out from the year (above); as tokens carry
    # the stamp, that made them guessable. The passwords are set now, as the demo is loaded.
    session.execute(sa.update(Account).values(password_changed_at=now))
    session.flush()
    return DemoLogins(password=DEMO_PASSWORD, accounts=cast.logins())
