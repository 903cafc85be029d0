"""A branch of 60 voting at once (issue 15): no ballot lost, none counted twice.

Against a real server (two worker processes, its log at DEBUG) on SQLite and PostgreSQL:
branch A grows to 60 members, all with accounts, all full members, so 60 voters and 60
graded lines. Then, released together: the 60 voters' ballots, four of them sent twice
(the same voter at the same moment), and five paper ballots typed in by the committee,
which race past the voters: 69 requests for 60 places.

- exactly 60 ballots get in, online and paper together; every other request is refused
  with 409 ballot_full or, for a voter's second request, 409 already_voted; nothing else,
  no 5xx;
- a voter sending twice: one 201 and one already_voted, or (the ballot filled before
  either came) ballot_full twice; never two 201;
- cast_online = 60 − the paper ballots that got in, and equals the online 201s; the
  voters marked as voted are exactly those answered 201;
- closed, every line's tally is the sum over the ballots that got in, each known by its
  number (bench/ballots.py), abstentions included;
- one audit row per ballot that got in; no grade in the server's log; `jifen check` clean.

And a ballot closed while its votes arrive: the tally the close audits is exactly the sum
of the ballots answered 201.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.db import make_engine
from app.models import Account
from app.services.access import load_actor
from app.services.members import NewMember, create_member
from bench.ballots import Ballot, Cast, at_once, known_ballot, tallies
from tests.api.support import NO_NOTICE
from tests.live.support import COMMITTEE_A, LAST_YEAR, PASSWORD, Api, LiveServer, build_world
from tests.live.test_concurrency import assert_consistent

VOTERS = 60
TWICE = (7, 21, 38, 52)  # voters (by index) who send their ballot twice at once
PAPER = 5
GRADE_WORDS = ("qualified", "excellent", "合格", "优秀")


@pytest.fixture
def server(live_database: str, tmp_path: os.PathLike[str]) -> Iterator[LiveServer]:
    """The live server with its log at DEBUG, to read what it wrote."""
    server = LiveServer(live_database, workdir=Path(tmp_path),
                        env={"JIFEN_LOG_LEVEL": "DEBUG", "JIFEN_LOG_FORMAT": "text"})
    server.start()
    try:
        yield server
    finally:
        server.kill()


def grown(api: Api, server: LiveServer, branch: str, secretary: str, people: list[str],
          size: int) -> list[str]:
    """The branch (`a` or `b`) grown from `people` to `size` members, all logged in (the
    new ones made here with cheap password hashes: logging in is not what is measured),
    its 2025 quarters finalized. Its members' usernames."""
    engine = make_engine(server.database_url)
    now = datetime.now(UTC)
    new = [f"{branch}{i:02d}" for i in range(size - len(people))]
    with Session(engine) as session:
        admin = session.exec(select(Account).where(Account.username == "admin")).one()
        actor = load_actor(session, admin)
        for username in new:
            member, _ = create_member(session, actor, NewMember(
                name=f"党员{username}", org_id=api.members[f"branch_{branch}"],
                category="active", joined_on=date(2012, 3, 1), username=username,
                password=PASSWORD), now, now.date())
            api.members[username] = member.id or 0
        session.commit()
    engine.dispose()
    org = api.members[f"branch_{branch}"]
    for quarter in (1, 2, 3, 4):
        review = api.ok(secretary, "POST", f"/orgs/{org}/reviews",
                        {"year": LAST_YEAR, "quarter": quarter}, status=201)
        api.ok(secretary, "POST", f"/reviews/{review['id']}/publish", NO_NOTICE)
        api.ok(secretary, "POST", f"/reviews/{review['id']}/finalize")
    for username in new:
        api.headers(username)
    return [*people, *new]


def opened_rating(api: Api, branch: str, secretary: str,
                  voters: list[str]) -> tuple[int, list[int]]:
    """The branch's rating with its ballot open: its id and its graded lines (every
    member's)."""
    made = api.ok(secretary, "POST", f"/orgs/{api.members[f'branch_{branch}']}/ratings",
                    {"year": LAST_YEAR}, status=201)
    lines = sorted(i["member_id"] for i in made["items"])
    assert sorted(api.members[v] for v in voters) == lines  # all graded
    opened = api.ok(secretary, "POST", f"/ratings/{made['id']}/ballot/open")
    assert opened["ballot"]["voters"] == len(voters)
    return made["id"], lines


def token(api: Api, who: str) -> str:
    return api.headers(who)["Authorization"].removeprefix("Bearer ")


def test_sixty_voting_at_once_lose_no_ballot_and_count_each_once(server: LiveServer) -> None:
    api = build_world(server)
    voters = grown(api, server, "a", "sec_a", [*COMMITTEE_A, "a1", "a2", "a3", "a4"], VOTERS)
    m = api.members
    rating, lines = opened_rating(api, "a", "sec_a", voters)
    base = f"/api/v1/ratings/{rating}"
    online: list[tuple[str, Ballot]] = [(v, known_ballot(i, lines, own=m[v]))
                                        for i, v in enumerate(voters)]
    paper: list[Ballot] = [known_ballot(100 + k, lines) for k in range(PAPER)]
    casts = [Cast(f"{base}/ballots", token(api, v), b) for v, b in online]
    casts += [Cast(f"{base}/ballots", token(api, voters[i]), online[i][1]) for i in TWICE]
    casts += [Cast(f"{base}/paper-ballots", token(api, COMMITTEE_A[k % 4]), b)
              for k, b in enumerate(paper)]
    # Sent in a shuffled order (threads start one by one before the common release), so
    # the paper ballots and the second requests are not all last.
    order = list(range(len(casts)))
    random.Random(2025).shuffle(order)
    seconds, shuffled = at_once(server.url, [casts[i] for i in order])
    answers = [a for _, a in sorted(zip(order, shuffled, strict=True))]
    firsts, seconds_of_twice, typed = (answers[:VOTERS], answers[VOTERS:VOTERS + len(TWICE)],
                                       answers[VOTERS + len(TWICE):])
    outcome = Counter((a.status, a.code) for a in answers)
    print(f"{len(casts)} ballots at once in {seconds:.2f}s: {dict(outcome)}")
    assert set(outcome) <= {(201, ""), (409, "ballot_full"), (409, "already_voted")}, outcome
    assert outcome[(201, "")] == VOTERS

    # Per voter: in at most once. A voter sending twice is in once and told already_voted,
    # or was too late for both.
    got_in = {v for (v, _), a in zip(online, firsts, strict=True) if a.status == 201}
    for i, again in zip(TWICE, seconds_of_twice, strict=True):
        pair = sorted([(firsts[i].status, firsts[i].code), (again.status, again.code)])
        assert pair in ([(201, ""), (409, "already_voted")],
                        [(409, "ballot_full"), (409, "ballot_full")]), (voters[i], pair)
        if again.status == 201:
            got_in.add(voters[i])
    paper_in = [b for b, a in zip(paper, typed, strict=True) if a.status == 201]
    assert len(got_in) + len(paper_in) == VOTERS
    print(f"in: {len(got_in)} online, {len(paper_in)} on paper")
    assert outcome[(409, "already_voted")] == sum(v in got_in for v in
                                                  (voters[i] for i in TWICE))

    seen = api.ok("sec_a", "GET", f"/ratings/{rating}")["ballot"]
    assert (seen["cast_online"], seen["cast_paper"]) == (VOTERS - len(paper_in),
                                                         len(paper_in))
    assert seen["cast_online"] == len(got_in)
    assert seen["voted"] == sorted(m[v] for v in got_in)

    closed = api.ok("sec_a", "POST", f"/ratings/{rating}/ballot/close")
    counted = [b for v, b in online if v in got_in] + paper_in
    assert {i["member_id"]: i["tally"] for i in closed["items"]} == tallies(counted, lines)

    audit = Counter(r["action"] for r in api.ok("admin", "GET", "/audit", limit=500,
                                                object_type="rating")["items"])
    assert (audit["rating.ballot_cast"], audit["rating.paper_ballot"],
            audit["rating.ballot_close"]) == (len(got_in), len(paper_in), 1)
    time.sleep(0.5)  # the log's last lines written
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert f"{base}/ballots" in log  # the access lines are there
    assert [line for line in log.splitlines() if any(w in line for w in GRADE_WORDS)] == []
    assert_consistent(server)


def test_a_ballot_closed_while_votes_arrive_counts_exactly_the_ballots_answered_201(
        server: LiveServer) -> None:
    """Branch B grown to 20: its 20 ballots sent at once with two closes among them. One
    close lands; every ballot is in (201) or refused as too late (409 ballot_not_open);
    the tally the close wrote to the audit log, and the one shown after, is the sum of
    exactly the ballots answered 201, each of which was audited before the close."""
    api = build_world(server)
    voters = grown(api, server, "b", "sec_b", ["sec_b", "b1"], 20)
    rating, lines = opened_rating(api, "b", "sec_b", voters)
    base = f"/api/v1/ratings/{rating}"
    ballots = [known_ballot(i, lines, own=api.members[v]) for i, v in enumerate(voters)]
    casts = [Cast(f"{base}/ballots", token(api, v), b) for v, b in zip(voters, ballots,
                                                                       strict=True)]
    # The closes a little after the release, so that some ballots land before them.
    closes = [Cast(f"{base}/ballot/close", token(api, who), None, after=0.25)
              for who in ("sec_b", "admin")]
    _, answers = at_once(server.url, casts[:12] + closes + casts[12:])
    closed, cast = answers[12:14], answers[:12] + answers[14:]
    assert sorted((a.status, a.code) for a in closed) == [(200, ""),
                                                          (409, "ballot_not_open")], closed
    assert {(a.status, a.code) for a in cast} <= {(201, ""), (409, "ballot_not_open")}, cast
    counted = [b for b, a in zip(ballots, cast, strict=True) if a.status == 201]
    print(f"{len(counted)} of 20 ballots in before the close")

    shown = api.ok("sec_b", "GET", f"/ratings/{rating}")
    assert shown["ballot"]["cast_online"] == len(counted)
    assert {i["member_id"]: i["tally"] for i in shown["items"]} == tallies(counted, lines)
    log = api.ok("admin", "GET", "/audit", limit=500, object_type="rating",
                 object_id=rating)["items"]
    [close] = [r for r in log if r["action"] == "rating.ballot_close"]
    assert close["after"]["tally"] == {str(k): v for k, v in tallies(counted, lines).items()}
    assert sorted(r["id"] < close["id"] for r in log if r["action"] == "rating.ballot_cast") \
        == [True] * len(counted)
    assert_consistent(server)
