"""The demo's annual ratings (评星定级 through 民主评议, appraisal.md §2), on the timeline.

A branch's rating is drafted, a few members write their self-assessment, the ballot opens
and most voters vote online (the keen first), the committee types in the paper ballots of
the rest at the branch meeting and closes it, adjusts grades with reasons (组织评定),
publishes, and submits once the notice is over. With an objection, the committee grades
one member 基本合格 whom the points call 合格; that member objects during the 公示, and the
secretary answers, reopens the rating, changes the grade back and publishes again. With an
approver, the 党委 approves it.

Ballots are drawn from a die of their own, so the rest of the demo is what it was.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from app.demo.cast import Cast, Person
from app.demo.reviews import NOTICE_DAYS, Pace
from app.demo.texts import (
    LOWER_REASON,
    RAISE_REASON,
    RATING_LOWER_REASON,
    RATING_OBJECTION_RESPONSE,
    RATING_OBJECTION_TEXT,
    REGRADE_REASON,
    REOPEN_REASON,
    SELF_ASSESSMENTS,
)
from app.demo.timeline import Timeline, local_day
from app.models import RatingItem
from app.points import Grade
from app.services import appraisal, objections, ratings

# How a voter grades a line, by the grade the engine proposed for it (the points): weights
# of excellent, qualified, basically qualified, unqualified and leaving it out (abstaining).
CHOICES = (Grade.excellent, Grade.qualified, Grade.basically_qualified, Grade.unqualified,
           None)
LEANING: dict[str, tuple[int, int, int, int, int]] = {
    Grade.excellent: (70, 27, 1, 0, 2),
    Grade.qualified: (8, 84, 4, 0, 4),
    Grade.basically_qualified: (1, 40, 50, 4, 5),
    Grade.unqualified: (0, 6, 34, 55, 5),
}
PAPER_SHARE = 5  # about one voter in five votes on paper at the branch meeting
SELF_WRITERS = 5  # self-assessments written online per branch (the rest read out on paper)


class RatingWriter:
    def __init__(self, session: Session, cast: Cast, timeline: Timeline, seed: int) -> None:
        self.session, self.cast, self.timeline, self.seed = session, cast, timeline, seed
        self.rating_ids: dict[tuple[int, int], int] = {}

    def rating(self, index: int, year: int, pace: Pace, *, approver: Person | None,
               objection: bool = False) -> None:
        """One branch's rating of `year`, through every step up to its submission; with
        `objection`, an objection and a reopen; with an approver, the 党委's approval."""
        branch, key = self.cast.branches[index], (index, year)
        objector: dict[str, Person] = {}  # chosen in 组织评定 (adjust)
        rng = random.Random(self.seed * 100 + index)
        add = self.timeline.add

        def create(when: datetime) -> None:
            rating = ratings.create_rating(self.session, self.cast.actor(branch.secretary),
                                           branch.org_id, year, when)
            self.rating_ids[key] = rating.id or 0

        add(pace.step("rate", index), create)
        writers = self._self_writers(index)
        for n, person in enumerate(writers):
            add(pace.between("self", "ballot_open", n / len(writers), index),
                self._self_assessment(key, person))
        add(pace.step("ballot_open", index), lambda when: appraisal.open_ballot(
            self.session, self.cast.actor(branch.secretary), self.rating_ids[key], when,
            local_day(when)))
        self._ballots(index, key, pace, rng)
        add(pace.step("ballot_close", index), lambda when: appraisal.close_ballot(
            self.session, self.cast.actor(branch.secretary), self.rating_ids[key], when))
        add(pace.step("adjust", index),
            lambda when: self._adjust(index, year, when, objector if objection else None))
        first_notice = NOTICE_DAYS if objection else pace.notice_days("rating_publish", "submit")
        add(pace.step("rating_publish", index), lambda when: appraisal.publish(
            self.session, self.cast.actor(branch.secretary), self.rating_ids[key],
            first_notice, when, reason=pace.notice_reason(first_notice)))
        if objection:
            self._objection(index, key, pace, objector)
        add(pace.step("submit", index), lambda when: appraisal.submit(
            self.session, self.cast.actor(branch.secretary), self.rating_ids[key], when))
        if approver is not None:
            add(pace.step("approve", index), lambda when: appraisal.approve(
                self.session, self.cast.actor(approver), self.rating_ids[key], when))

    # -- self-assessments -------------------------------------------------------------------

    def _self_writers(self, index: int) -> list[Person]:
        """The secretary, the members the story singles out, then others, up to
        SELF_WRITERS (not the exempt: they are not graded and write none)."""
        people = self.cast.branches[index].people
        told = [p for p in people[1:] if p.tag and p.tag not in ("exempt", "recruit", "veto")]
        plain = [p for p in people[2:] if not p.tag]
        return [people[0], *told, *plain][:SELF_WRITERS]

    def _self_assessment(self, key: tuple[int, int], person: Person
                         ) -> Callable[[datetime], None]:
        branch = self.cast.branches[person.branch]
        role = "secretary" if person is branch.secretary else person.tag
        texts = SELF_ASSESSMENTS.get(role) or SELF_ASSESSMENTS[""]
        text = texts[branch.people.index(person) % len(texts)]

        def write(when: datetime) -> None:
            if person.account is not None:  # one who joined after the rating writes none
                appraisal.write_self_assessment(self.session, self.cast.actor(person),
                                                self.rating_ids[key], text, when)
        return write

    # -- the ballot (民主测评) ----------------------------------------------------------------

    def _ballots(self, index: int, key: tuple[int, int], pace: Pace,
                 rng: random.Random) -> None:
        """Online ballots spread over the ballot's days, the keen first; at the branch
        meeting the deputy types in a paper ballot for each voter who has not voted."""
        branch = self.cast.branches[index]
        people: dict[int, Person] = {}
        state: dict[str, list[int]] = {}

        def plan(when: datetime) -> None:
            """At the opening: who votes online (most), and who on paper (the least
            engaged, the retired first)."""
            people.update({p.id: p for p in branch.people if p.id})
            rating_id = self.rating_ids[key]
            voters = sorted(appraisal.voter_ids(self.session, rating_id),
                            key=lambda m: (people[m].category == "retired",
                                           -people[m].engagement, m))
            paper = max(1, len(voters) // PAPER_SHARE)
            state["online"], state["paper"] = voters[:-paper], voters[-paper:]

        def online(n: int) -> Callable[[datetime], None]:
            def vote(when: datetime) -> None:
                online_voters = state["online"]
                if n < len(online_voters):
                    voter = people[online_voters[n]]
                    rating_id = self.rating_ids[key]
                    appraisal.cast_ballot(self.session, self.cast.actor(voter), rating_id,
                                          self._choices(rng, rating_id, voter.id), when)
            return vote

        def on_paper(when: datetime) -> None:
            rating_id = self.rating_ids[key]
            for member_id in state["paper"]:
                appraisal.cast_paper_ballot(self.session, self.cast.actor(branch.deputy),
                                            rating_id,
                                            self._choices(rng, rating_id, member_id), when)

        self.timeline.add(pace.step("ballot_open", index), plan)
        seats = len(branch.people)
        for n in range(seats):
            self.timeline.add(pace.between("ballot_open", "votes_end", (n + 1) / (seats + 1),
                                           index), online(n))
        self.timeline.add(pace.step("paper", index), on_paper)

    def _choices(self, rng: random.Random, rating_id: int, voter: int) -> dict[int, Grade]:
        """One ballot: a grade for each graded line but the voter's own, by its proposed
        grade, or none (an abstention)."""
        votes: dict[int, Grade] = {}
        for line in ratings.rating_items(self.session, rating_id):
            if not appraisal.graded(line) or line.member_id == voter:
                continue
            choice = rng.choices(CHOICES, LEANING[line.proposed_grade])[0]
            if choice is not None:
                votes[line.member_id] = choice
        return votes

    # -- 组织评定, objection, reopen ----------------------------------------------------------

    def _adjust(self, index: int, year: int, when: datetime,
                objector: dict[str, Person] | None) -> None:
        """Lower the last proposed excellent to qualified; give the freed place to the best
        qualified member (both with reasons, within the ⌊n/3⌋ cap). For an objection, grade
        basically qualified the plain member of the lowest score the points call qualified
        (that member then objects)."""
        branch = self.cast.branches[index]
        actor = self.cast.actor(branch.secretary)
        rating_id = self.rating_ids[(index, year)]
        items = ratings.rating_items(self.session, rating_id)
        people = {p.id: p for p in branch.people}

        def rank(i: RatingItem) -> tuple[int, int, int]:
            return (-i.score, i.deducted, i.member_id)

        def change(item: RatingItem, grade: Grade, reason: str, note: str) -> None:
            ratings.override_grade(self.session, actor, rating_id, item.member_id, grade,
                                   reason, when)
            people[item.member_id].notes.append(f"{year} {note}")

        excellent = sorted((i for i in items if i.grade == Grade.excellent), key=rank)
        _rated, limit = ratings.rating_limit(items, self.session, year, when)
        if excellent:
            change(excellent.pop(), Grade.qualified, LOWER_REASON,
                   "grade lowered to 合格 by the committee")
        committee = {branch.secretary.id, branch.deputy.id}  # not their own promotion
        qualified = sorted((i for i in items if i.grade == Grade.qualified and not i.vetoed
                            and i.score >= 85 and i.proposed_grade == Grade.qualified
                            and i.member_id not in committee), key=rank)
        if qualified and len(excellent) < limit:
            change(qualified.pop(0), Grade.excellent, RAISE_REASON,
                   "grade raised to 优秀 by the committee")
        plain = [i for i in items if i.grade == i.proposed_grade == Grade.qualified
                 and not people[i.member_id].tag and i.member_id not in committee]
        if objector is not None and plain:
            line = max(plain, key=rank)
            objector["person"] = people[line.member_id]
            change(line, Grade.basically_qualified, RATING_LOWER_REASON,
                   "graded 基本合格 by the committee, objected during the 公示, graded 合格 "
                   "after the rating was reopened")

    def _objection(self, index: int, key: tuple[int, int], pace: Pace,
                   objector: dict[str, Person]) -> None:
        """During the 公示 the objector objects to their grade; the secretary answers,
        reopens the rating with the reason, changes the grade and publishes it again."""
        secretary = self.cast.branches[index].secretary
        state: dict[str, int] = {}

        def raise_it(when: datetime) -> None:
            objection = appraisal.raise_objection(
                self.session, self.cast.actor(objector["person"]), self.rating_ids[key],
                RATING_OBJECTION_TEXT, when)
            state["id"] = objection.id or 0

        def answer(when: datetime) -> None:
            objections.resolve_objection(self.session, self.cast.actor(secretary),
                                         state["id"], RATING_OBJECTION_RESPONSE, when)

        def reopen(when: datetime) -> None:
            appraisal.reopen(self.session, self.cast.actor(secretary), self.rating_ids[key],
                             REOPEN_REASON, when)

        def regrade(when: datetime) -> None:
            ratings.override_grade(self.session, self.cast.actor(secretary),
                                   self.rating_ids[key], objector["person"].id,
                                   Grade.qualified, REGRADE_REASON, when)

        def publish_again(when: datetime) -> None:
            days = pace.notice_days("republish", "submit")
            appraisal.publish(self.session, self.cast.actor(secretary), self.rating_ids[key],
                              days, when, reason=pace.notice_reason(days))

        for step, action in (("rating_object", raise_it), ("rating_resolve", answer),
                             ("reopen", reopen), ("regrade", regrade),
                             ("republish", publish_again)):
            self.timeline.add(pace.step(step, index), action)
