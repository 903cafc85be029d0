"""Quarterly reviews (评议, 公示, 异议, finalize) of the demo, and the pace of every step after a
quarter ends (the annual rating's steps are in app/demo/ratings.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from app.demo.cast import Cast, Person
from app.demo.texts import OBJECTION_RESPONSE, OBJECTION_TEXT, SHORT_NOTICE_REASON
from app.demo.timeline import Timeline, local_day
from app.services import objections, reviews

NOTICE_DAYS = 5
# Days after a quarter ends (from midnight of the next day) at which each step happens:
# the sheet on day 2, scores on day 3, 公示 from 09:00 on day 5, finalized 6 days later.
# After the fourth quarter the year's rating follows (民主评议, appraisal.md §2): drafted
# on day 13, self-assessments, the ballot open from 09:00 on day 14 to the branch meeting
# on day 15 (paper ballots typed in, closed, 组织评定), 公示 from day 16, an objection
# answered and the rating reopened on day 18 and published again, submitted on day 23 and
# approved by the 党委 on day 25.
STEPS = {"create": 1.4, "scores": 2.6, "publish": 4.375, "object": 5.6, "resolve": 7.4,
         "finalize": 10.375, "rate": 12.4, "self": 12.55, "ballot_open": 13.375,
         "votes_end": 14.3, "paper": 14.625, "ballot_close": 14.7, "adjust": 14.75,
         "rating_publish": 15.375, "rating_object": 16.4, "rating_resolve": 17.4,
         "reopen": 17.45, "regrade": 17.5, "republish": 17.625, "submit": 22.7,
         "approve": 24.4}
LAST_STEP = max(STEPS.values())


@dataclass(frozen=True)
class Pace:
    """Moments of the review steps after `start`; `factor` < 1 squeezes them before now."""

    start: datetime
    factor: float = 1.0

    @classmethod
    def fitting(cls, start: datetime, now: datetime) -> Pace:
        """Normal pace, or squeezed so every step up to the rating's approval is past."""
        room = (now - start - timedelta(minutes=5)) / timedelta(days=LAST_STEP + 0.1)
        return cls(start, max(0.0, min(1.0, room)))

    def moment(self, days: float, branch: int = 0) -> datetime:
        return self.start + self.factor * timedelta(days=days, minutes=20 * branch)

    def step(self, name: str, branch: int = 0) -> datetime:
        return self.moment(STEPS[name], branch)

    def between(self, first: str, last: str, share: float, branch: int = 0) -> datetime:
        """A moment `share` (0 to 1) of the way from step `first` to step `last`."""
        days = STEPS[first] + share * (STEPS[last] - STEPS[first])
        return self.moment(days, branch)

    def notice_days(self, publish: str = "publish", end: str = "finalize") -> int:
        """Whole days of 公示 that end before the step that needs them over."""
        window = self.step(end) - self.step(publish)
        return min(NOTICE_DAYS, int(window / timedelta(days=1)))

    @staticmethod
    def notice_reason(days: int) -> str | None:
        """The reason a notice squeezed below the usual days needs (the rule set's minimum
        is the demo's NOTICE_DAYS); none for a full one."""
        return SHORT_NOTICE_REASON if days < NOTICE_DAYS else None


def review_score(rng: random.Random, person: Person) -> int:
    """Mostly 4 and 5; 3 for members who miss much of branch life."""
    e = person.engagement
    if person.tag == "exempt":
        return 4
    if person.tag == "recruit":  # a keen new member; drawn from no die (see cast.py)
        return 5
    if e >= 0.85:
        return 5 if rng.random() < 0.75 else 4
    if e >= 0.65:
        return rng.choices((5, 4, 3), (35, 50, 15))[0]
    return rng.choices((4, 3, 2), (30, 60, 10))[0]


class ReviewWriter:
    def __init__(self, session: Session, cast: Cast, timeline: Timeline,
                 rng: random.Random) -> None:
        self.session, self.cast, self.timeline, self.rng = session, cast, timeline, rng
        self.review_ids: dict[tuple[int, int, int], int] = {}

    def quarter(self, index: int, year: int, quarter: int, pace: Pace, *,
                overrides: dict[Person, int] | None = None, objection: bool = False) -> None:
        """Sheet, scores, 公示 and finalisation of one branch's quarter (those before now)."""
        branch, key = self.cast.branches[index], (index, year, quarter)
        secretary = self.cast.actor
        scores = {p: review_score(self.rng, p) for p in branch.people} | (overrides or {})
        notice = pace.notice_days()

        def create(when: datetime) -> None:
            review = reviews.create_review(self.session, secretary(branch.secretary),
                                           branch.org_id, year, quarter, when, local_day(when))
            self.review_ids[key] = review.id or 0

        def set_scores(when: datetime) -> None:
            present: dict[int, int | None] = {p.id: s for p, s in scores.items() if p.id}
            reviews.set_scores(self.session, secretary(branch.secretary), self.review_ids[key],
                               present, when)

        def publish(when: datetime) -> None:
            reviews.publish_review(self.session, secretary(branch.secretary),
                                   self.review_ids[key], notice, when,
                                   reason=pace.notice_reason(notice))

        def finalize(when: datetime) -> None:
            reviews.finalize_review(self.session, secretary(branch.secretary),
                                    self.review_ids[key], when)

        for name, action in (("create", create), ("scores", set_scores), ("publish", publish),
                             ("finalize", finalize)):
            self.timeline.add(pace.step(name, index), action)
        if objection:
            self._objection(index, key, pace)

    def _objection(self, index: int, key: tuple[int, int, int], pace: Pace) -> None:
        """A member objects to their line during 公示; the secretary answers before the end."""
        branch, objector = self.cast.branches[index], self.cast.tagged("objector")
        state: dict[str, int] = {}

        def raise_it(when: datetime) -> None:
            objection = objections.raise_objection(self.session, self.cast.actor(objector),
                                                self.review_ids[key], OBJECTION_TEXT, when)
            state["id"] = objection.id or 0

        def resolve(when: datetime) -> None:
            objections.resolve_objection(self.session, self.cast.actor(branch.secretary),
                                      state["id"], OBJECTION_RESPONSE, when)

        self.timeline.add(pace.step("object", index), raise_it)
        self.timeline.add(pace.step("resolve", index), resolve)

    def draft(self, index: int, year: int, quarter: int, when: datetime) -> None:
        """The secretary has opened this quarter's sheet and set nothing yet."""
        branch = self.cast.branches[index]

        def create(moment: datetime) -> None:
            review = reviews.create_review(self.session, self.cast.actor(branch.secretary),
                                           branch.org_id, year, quarter, moment,
                                           local_day(moment))
            self.review_ids[(index, year, quarter)] = review.id or 0

        self.timeline.add(when, create)
