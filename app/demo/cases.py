"""The demo's one 不合格党员处置 disposal case (appraisal.md §5), on the timeline.

In 社区党支部 the 流动党员 tagged "case" spread an unverified rumour in the residents' group
chat. About three months before now the secretary files a case on ground `other`; the
deputy investigates; the secretary and the deputy talk with the member; the 支委会 proposes
限期改正 for six months; the 党委's committee member prereviews it; the member writes their
申辩; the branch meeting (支部党员大会) votes; and about two months before now the 党委's
committee member approves. The case is `rectifying`: its deadline is about four months
ahead, so the pages show the countdown to 期满考察.

Every step is a fixed number of days before today (moved on to a working day), so the steps
keep their order and lie in the past whatever day the demo is loaded; no die is drawn, so
the rest of the demo is what it was.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from app.demo.cast import Cast, Person
from app.demo.texts import (
    CASE_DECISION,
    CASE_DEFENCE,
    CASE_FINDINGS,
    CASE_NOTE,
    CASE_PREREVIEW,
    CASE_REASON,
    CASE_TALK,
)
from app.demo.timeline import Action, Timeline, at, local_day
from app.models import CaseGround, CaseMeasure, StepKind
from app.points.disposal import VoteCount, add_months
from app.services import case_steps, cases
from app.services.case_steps import StepIn

MONTHS = 6  # 限期改正: six months, the rule set's default
# Each step: days before today, and the Beijing hour and minute it is recorded at.
SCHEDULE: tuple[tuple[StepKind, int, int, int], ...] = (
    (StepKind.file, 92, 10, 0),
    (StepKind.investigation, 85, 15, 30),
    (StepKind.talk, 80, 10, 0),
    (StepKind.proposal, 76, 16, 0),  # the 支委会
    (StepKind.prereview, 71, 10, 30),
    (StepKind.defence, 69, 20, 30),  # the member writes in the evening
    (StepKind.vote, 66, 15, 0),  # the 支部党员大会
    (StepKind.decision, 61, 10, 0),
)


# Public holidays on fixed dates (元旦, 劳动节, 国庆节), kept free of meetings. (春节 moves
# with the lunar calendar; a case step may fall in it.)
HOLIDAYS = ((1, 1), (5, 1), (5, 2), (5, 3), (5, 4), (5, 5), *((10, d) for d in range(1, 8)))


def workday(day: date) -> date:
    """The day, or the first working day after it (not a weekend, not a fixed holiday)."""
    while day.weekday() >= 5 or (day.month, day.day) in HOLIDAYS:
        day += timedelta(days=1)
    return day


def moments(today: date) -> dict[StepKind, datetime]:
    """When each step is recorded: each on a working day after the step before it (a
    weekend or a holiday moves it on by a few days at most), all well before today."""
    found: dict[StepKind, datetime] = {}
    last: date | None = None
    for kind, days, hour, minute in SCHEDULE:
        day = today - timedelta(days=days)
        day = workday(day if last is None else max(day, last + timedelta(days=1)))
        found[kind], last = at(day, hour, minute), day
    assert last is not None and last < today - timedelta(days=30), found
    return found


def meeting(eligible: int) -> VoteCount:
    """The branch meeting: one member with a vote in six away (working elsewhere), one
    against and one abstaining (unless the branch is too small for that), the rest for; it
    has its quorum and passes."""
    present = eligible - eligible // 6
    against = abstain = 1 if (present - 2) * 2 > eligible else 0
    count = VoteCount(eligible, present, present - against - abstain, against, abstain)
    assert count.problem() is None and count.passed, count
    return count


def disposal_case(cast: Cast, timeline: Timeline) -> None:
    """The case about the member tagged "case", step by step, each by its party: the branch's
    secretary and deputy, the member, and the 党委's committee member (tagged "party")."""
    person = cast.tagged("case")
    branch = cast.branches[person.branch]
    secretary, deputy, above = branch.secretary, branch.deputy, cast.tagged("party")
    session = cast.session
    when = moments(local_day(timeline.now))
    state: dict[str, int] = {}

    def file(moment: datetime) -> None:
        day = local_day(moment)
        case = cases.file_case(session, cast.actor(secretary), person.id, CaseGround.other,
                               day.year, CASE_NOTE, moment, day)
        state["id"] = case.id or 0

    def step(who: Person, given: StepIn) -> Action:
        def take(moment: datetime) -> None:
            case_steps.record_step(session, cast.actor(who), state["id"], given, moment,
                                   local_day(moment))
        return take

    def vote(moment: datetime) -> None:
        day = local_day(moment)
        count = meeting(len(cases.members_with_a_vote(session, branch.org_id, day)))
        given = StepIn(StepKind.vote, on=day, present=count.present,
                       votes_for=count.votes_for, against=count.against,
                       abstain=count.abstain)
        case_steps.record_step(session, cast.actor(secretary), state["id"], given, moment,
                               day)

    def on(kind: StepKind) -> date:
        return local_day(when[kind])

    actions: dict[StepKind, Action] = {
        StepKind.file: file,
        StepKind.investigation: step(deputy, StepIn(StepKind.investigation, CASE_FINDINGS)),
        StepKind.talk: step(secretary, StepIn(StepKind.talk, CASE_TALK, on=on(StepKind.talk),
                                              talker_ids=(secretary.id, deputy.id))),
        StepKind.proposal: step(secretary, StepIn(StepKind.proposal, CASE_REASON,
                                                  measure=CaseMeasure.rectify,
                                                  months=MONTHS)),
        StepKind.prereview: step(above, StepIn(StepKind.prereview, CASE_PREREVIEW,
                                               result="approve")),
        StepKind.defence: step(person, StepIn(StepKind.defence, CASE_DEFENCE)),
        StepKind.vote: vote,
        StepKind.decision: step(above, StepIn(StepKind.decision, CASE_DECISION,
                                              on=on(StepKind.decision), result="approve")),
    }
    for kind, action in actions.items():
        timeline.add(when[kind], action)
    deadline = add_months(on(StepKind.decision), MONTHS)
    person.notes.append(f"不合格党员处置 disposal case: filed {on(StepKind.file)}, "
                        f"限期改正 (rectifying) until {deadline}")
