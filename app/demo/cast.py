"""The people of the demo: an administrator, a 党委 with three branches, their members."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session

from app.clock import FixedClock
from app.demo.texts import GIVEN_MID, GIVEN_OLD, GIVEN_YOUNG, RECRUIT_NAME, SURNAMES
from app.demo.timeline import local_day
from app.models import Account, Org, Standing
from app.services import accounts, members, orgs
from app.services.access import Actor, load_actor

PARTY_NAME = "城关镇党委"
# Per branch: (category, tags) of each member; the first two are its 支部书记 and 支委,
# "party" is the 党委's committee member. Tags name the members the story singles out:
# "late" joined last April as a 预备党员 (probationary) and became full this April,
# "recruit" joins this year as a 预备党员, "case" is the 流动党员 of the demo's disposal
# case (不合格党员处置, app/demo/cases.py). The recruit comes last and draws no die (its
# name, day and keenness are set), so everyone else's names, scores and accounts are what
# they were before it existed.
BRANCHES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("机关党支部", (
        ("active", ""), ("active", ""), ("active", "party"), ("active", "star1"),
        ("active", ""), ("active", "veto"), ("active", ""), ("active", ""), ("active", "low1"),
        ("active", ""), ("active", ""), ("active", ""), ("retired", ""),
        ("retired", "exempt"), ("active", "recruit"))),
    ("东村党支部", (
        ("rural", ""), ("rural", ""), ("rural", "star2"), ("rural", "objector"), ("rural", ""),
        ("rural", ""), ("rural", ""), ("rural", "low2"), ("rural", ""), ("rural", ""),
        ("retired", ""), ("retired", ""), ("mobile", ""), ("rural", "late"))),
    ("社区党支部", (
        ("active", ""), ("retired", ""), ("retired", "star3"), ("retired", ""), ("retired", ""),
        ("retired", ""), ("retired", "low3"), ("mobile", ""), ("mobile", ""), ("mobile", ""),
        ("mobile", "case"), ("active", ""))),
)
# The years members joined the Party, by category.
JOINED = {"retired": (1972, 1995), "active": (1998, 2021), "rural": (1985, 2020),
          "mobile": (2005, 2021)}


@dataclass(eq=False)
class Person:
    username: str
    name: str
    category: str
    joined_on: date
    engagement: float  # 0..1: how much of branch life this member takes part in
    branch: int  # index into Cast.branches
    tag: str = ""
    role: str = "党员 member"
    probationary: bool = False  # joins as a 预备党员
    id: int = 0  # set once the member exists
    account: Account | None = None
    # Held so the session's identity map answers the services' lookups without a query.
    rows: list[object] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Branch:
    name: str
    people: list[Person]
    org_id: int = 0
    org: Org | None = None

    @property
    def secretary(self) -> Person:
        return self.people[0]

    @property
    def deputy(self) -> Person:
        return self.people[1]


@dataclass(eq=False)
class Cast:
    session: Session
    admin: Actor
    party_id: int
    branches: list[Branch]
    _actors: dict[int, Actor] = field(default_factory=dict)

    @property
    def people(self) -> list[Person]:
        return [p for b in self.branches for p in b.people]

    def tagged(self, tag: str) -> Person:
        return next(p for p in self.people if p.tag == tag)

    def actor(self, person: Person) -> Actor:
        """The member's actor, loaded once the committee grants are in place."""
        if person.id not in self._actors:
            assert person.account is not None, f"{person.username} does not exist yet"
            self._actors[person.id] = load_actor(self.session, person.account)
        return self._actors[person.id]

    def enrol(self, person: Person, password: str, when: datetime) -> None:
        """Create the member and their login, as the administrator."""
        branch = self.branches[person.branch]
        new = members.NewMember(name=person.name, org_id=branch.org_id,
                                category=person.category, joined_on=person.joined_on,
                                username=person.username, password=password,
                                standing=Standing.probationary if person.probationary
                                else Standing.full)
        member, account = members.create_member(self.session, self.admin, new, when,
                                                local_day(when))
        person.id, person.account = member.id or 0, account
        person.rows.append(member)

    def logins(self) -> list[tuple[str, str]]:
        rows = [("admin", "管理员 administrator")]
        party = self.tagged("party")
        rows.append((party.username, f"{PARTY_NAME} 委员 (committee of all three branches; "
                                     f"member of {self.branches[0].name})"))
        for branch in self.branches:
            for p in branch.people:
                if p is not party:
                    extra = "".join(f"; {n}" for n in p.notes)
                    rows.append((p.username, f"{branch.name} {p.role}{extra}"))
        return rows


def _name(rng: random.Random, joined: int, taken: set[str]) -> str:
    given = GIVEN_OLD if joined < 1995 else GIVEN_MID if joined < 2010 else GIVEN_YOUNG
    while True:
        name = rng.choice(SURNAMES) + rng.choice(given)
        if name not in taken:
            taken.add(name)
            return name


def _engagement(rng: random.Random, category: str, tag: str) -> float:
    if tag.startswith("low") or tag == "objector":
        return rng.uniform(0.6, 0.7)
    if tag == "exempt":
        return 0.3
    if tag.startswith("star") or tag == "late":  # a keen new member catches up
        return 1.0
    if category == "mobile":
        return rng.uniform(0.65, 0.85)
    return rng.uniform(0.75, 1.0)


def plan_people(rng: random.Random, prev_year: int, recruited: date) -> list[Branch]:
    """Everyone, named and described, before anything is written; the recruit joins on
    `recruited`."""
    taken: set[str] = set()
    branches: list[Branch] = []
    plain = 0
    recruit: Person | None = None
    for index, (branch_name, specs) in enumerate(BRANCHES):
        people: list[Person] = []
        for position, (category, tag) in enumerate(specs):
            if tag == "recruit":
                recruit = Person(username="", name=RECRUIT_NAME, category=category,
                                 joined_on=recruited, engagement=1.0, branch=index, tag=tag,
                                 role="预备党员 (probationary) member", probationary=True)
                people.append(recruit)
                continue
            low, high = JOINED[category]
            joined = date(rng.randint(low, high), rng.randint(1, 12), rng.randint(1, 28))
            if tag == "late":
                joined = date(prev_year, 4, 15)
            if position == 0:
                username, role = f"shuji{index + 1}", "支部书记 (committee)"
            elif position == 1:
                username, role = f"zhiwei{index + 1}", "支委 (committee)"
            elif tag == "party":
                username, role = "dangwei", "党委委员 (committee)"
            else:
                plain += 1
                username, role = f"dangyuan{plain:02d}", "党员 member"
            people.append(Person(username=username, name=_name(rng, joined.year, taken),
                                 category=category, joined_on=joined,
                                 engagement=_engagement(rng, category, tag), branch=index,
                                 tag=tag, role=role, probationary=tag == "late"))
        branches.append(Branch(name=branch_name, people=people))
    if recruit is not None:  # numbered after everyone, so no other account changes name
        recruit.username = f"dangyuan{plain + 1:02d}"
    return branches


def build_cast(session: Session, branches: list[Branch], password: str,
               start: datetime, clock: FixedClock | None = None) -> Cast:
    """The administrator sets up the organisations, members and committees, two minutes
    apart (`clock`, the rows' updated_at, following)."""

    def moments() -> Iterator[datetime]:
        for i in range(1000):
            at = start + timedelta(minutes=2 * i)
            if clock is not None:
                clock.at = at
            yield at

    ticks = moments()
    admin_account = accounts.create_admin(session, "admin", password, next(ticks))
    admin = load_actor(session, admin_account)
    party = orgs.create_org(session, admin, PARTY_NAME, None, "committee", next(ticks))
    cast = Cast(session=session, admin=admin, party_id=party.id or 0, branches=branches)
    for branch in branches:
        org = orgs.create_org(session, admin, branch.name, party.id, "branch", next(ticks))
        branch.org_id, branch.org = org.id or 0, org
        for person in branch.people:
            if person.tag not in ("late", "recruit"):  # they join later (loader.py)
                cast.enrol(person, password, next(ticks))
    for branch in branches:
        for person in (branch.secretary, branch.deputy):
            orgs.grant_committee(session, admin, branch.org_id, person.id, next(ticks))
    orgs.grant_committee(session, admin, party.id or 0, cast.tagged("party").id, next(ticks))
    return cast
