"""Quarterly reviews (评议, 公示, 异议, finalize) and annual ratings (评星定级) of the demo."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from app.demo.cast import Cast, Person
from app.demo.texts import LOWER_REASON, OBJECTION_RESPONSE, OBJECTION_TEXT, RAISE_REASON
from app.demo.timeline import Timeline, local_day
from app.models import RatingItem
from app.points import Grade
from app.services import appraisal, objections, ratings, reviews

NOTICE_DAYS = 5
# Days after a quarter ends (from midnight of the next day) at which each step happens:
# the sheet on day 2, scores on day 3, 公示 from 09:00 on day 5, finalized 6 days later.
STEPS = {"create": 1.4, "scores": 2.6, "publish": 4.375, "object": 5.6, "resolve": 7.4,
         "finalize": 10.375, "rate": 12.4, "adjust": 12.6, "rate_draft": 13.4,
         "approve": 14.4}


@dataclass(frozen=True)
class Pace:
    """Moments of the review steps after `start`; `factor` < 1 squeezes them before now."""

    start: datetime
    factor: float = 1.0

    @classmethod
    def fitting(cls, start: datetime, now: datetime) -> Pace:
        """Normal pace, or squeezed so every step up to the rating's approval is past."""
        room = (now - start - timedelta(minutes=5)) / timedelta(days=STEPS["approve"] + 0.1)
        return cls(start, max(0.0, min(1.0, room)))

    def step(self, name: str, branch: int = 0) -> datetime:
        return self.start + self.factor * timedelta(days=STEPS[name], minutes=20 * branch)

    def notice_days(self) -> int:
        window = self.step("finalize") - self.step("publish")
        return min(NOTICE_DAYS, int(window / timedelta(days=1)))


def review_score(rng: random.Random, person: Person) -> int:
    """Mostly 4 and 5; 3 for members who miss much of branch life."""
    e = person.engagement
    if person.tag == "exempt":
        return 4
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
        self.rating_ids: dict[tuple[int, int], int] = {}

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
                                   self.review_ids[key], notice, when)

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

    def rating(self, index: int, year: int, pace: Pace, *, approver: Person | None) -> None:
        """Create the year's rating; with an approver, adjust two grades and approve it."""
        branch, key = self.cast.branches[index], (index, year)
        by = self.cast.actor

        def create(when: datetime) -> None:
            rating = ratings.create_rating(self.session, by(branch.secretary), branch.org_id,
                                           year, when)
            self.rating_ids[key] = rating.id or 0

        if approver is None:
            self.timeline.add(pace.step("rate_draft", index), create)
            return

        def approve(when: datetime) -> None:
            secretary, rating_id = by(branch.secretary), self.rating_ids[key]
            appraisal.open_ballot(self.session, secretary, rating_id, when, local_day(when))
            appraisal.close_ballot(self.session, secretary, rating_id, when)
            appraisal.publish(self.session, secretary, rating_id, 0, when)
            appraisal.submit(self.session, secretary, rating_id, when)
            appraisal.approve(self.session, by(approver), rating_id, when)

        self.timeline.add(pace.step("rate", index), create)
        self.timeline.add(pace.step("adjust", index),
                          lambda when: self._adjust(index, year, when))
        self.timeline.add(pace.step("approve", index), approve)

    def _adjust(self, index: int, year: int, when: datetime) -> None:
        """Lower the last proposed excellent to qualified; give the freed place to the best
        qualified member (both with reasons, within the ⌊n/3⌋ cap)."""
        branch = self.cast.branches[index]
        actor = self.cast.actor(branch.secretary)
        rating_id = self.rating_ids[(index, year)]
        items = ratings.rating_items(self.session, rating_id)
        people = {p.id: p for p in branch.people}

        def rank(i: RatingItem) -> tuple[int, int, int]:
            return (-i.score, i.deducted, i.member_id)

        excellent = sorted((i for i in items if i.grade == Grade.excellent), key=rank)
        _rated, limit = ratings.rating_limit(items, self.session, year, when)
        if excellent:
            lowered = excellent.pop()
            ratings.override_grade(self.session, actor, rating_id, lowered.member_id,
                                   Grade.qualified, LOWER_REASON, when)
            people[lowered.member_id].notes.append(f"{year} grade lowered to 合格 by the "
                                                   "committee")
        committee = {branch.secretary.id, branch.deputy.id}  # not their own promotion
        qualified = sorted((i for i in items if i.grade == Grade.qualified and not i.vetoed
                            and i.score >= 85 and i.proposed_grade == Grade.qualified
                            and i.member_id not in committee), key=rank)
        if qualified and len(excellent) < limit:
            raised = qualified[0]
            ratings.override_grade(self.session, actor, rating_id, raised.member_id,
                                   Grade.excellent, RAISE_REASON, when)
            people[raised.member_id].notes.append(f"{year} grade raised to 优秀 by the "
                                                  "committee")
