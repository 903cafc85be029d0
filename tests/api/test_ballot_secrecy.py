"""The ballot's secrecy (appraisal.md §2.3, issue 15), proved on the stored data.

Branch A's 2025 rating: six full members, all graded and all voters. Five vote online with
ballots whose every choice is written below, and a sixth ballot is typed in on paper. Then
every row of every table (SQLModel.metadata) and every audit row is read back:

- what the ballot wrote: counts per (line, grade) with no time or author, who may vote and
  whether they did, the rating's ballot columns, one audit row per step; a grade appears in
  none of them but the counts and the one audit row written when it closes;
- the same data, whoever cast which ballot: the ballots dealt out among the voters another
  way leave every table identical, so no data can say who chose what;
- no count but the ballots cast before the close; the tally to committees and
  administrators only; a member's answers and pages the same whatever the ballots said;
- no choice in a log line at DEBUG, nor in the answer to a refused ballot.

Tallies worked out by hand from the ballots (B1..B5 online, P on paper; 6 cast):

    line    excellent qualified basically unqualified abstain
    sec_a   1 (B3)    2 (B4, P) 0         0           3
    vice_a  1 (B4)    1 (B3)    0         0           4
    a1      2 (B1, P) 1 (B2)    0         0           3
    a2      0         2 (B1,B2) 0         0           4
    a3      0         1 (P)     1 (B3)    1 (B1)      3
    a4      0         3 (B1,B3,P) 1 (B2)  1 (B4)      1
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlmodel import Session, SQLModel

from app import web
from app.models import RatingTally, RatingVoter
from tests.api.support import World, ok, refused
from tests.api.test_bad_input import finalize_year
from tests.web.support import web_login

GRADES = ("excellent", "qualified", "basically_qualified", "unqualified")
# "qualified" is in the other English words, 合格 in the other Chinese ones.
GRADE_WORDS = ("qualified", "excellent", "合格", "优秀")
PEOPLE = ("sec_a", "vice_a", "a1", "a2", "a3", "a4")
MEMBERS_ONLY = PEOPLE[2:]  # sec_a and vice_a are branch A's committee

BALLOTS = {
    "B1": {"a1": "excellent", "a2": "qualified", "a3": "unqualified", "a4": "qualified"},
    "B2": {"a1": "qualified", "a2": "qualified", "a4": "basically_qualified"},
    "B3": {"sec_a": "excellent", "vice_a": "qualified", "a3": "basically_qualified",
           "a4": "qualified"},
    "B4": {"sec_a": "qualified", "vice_a": "excellent", "a4": "unqualified"},
    "B5": {},  # abstains on every line
}
PAPER = {"sec_a": "qualified", "a1": "excellent", "a3": "qualified", "a4": "qualified"}
# Who casts which ballot, in this order; DEALT_AGAIN gives each pair the other's ballot
# (a ballot never names its own voter's line either way).
DEALT = {"sec_a": "B1", "vice_a": "B2", "a1": "B3", "a2": "B4", "a3": "B5"}
DEALT_AGAIN = {"sec_a": "B2", "vice_a": "B1", "a1": "B4", "a2": "B3", "a3": "B5"}
TALLY = {  # line: (excellent, qualified, basically_qualified, unqualified, abstain)
    "sec_a": (1, 2, 0, 0, 3), "vice_a": (1, 1, 0, 0, 4), "a1": (2, 1, 0, 0, 3),
    "a2": (0, 2, 0, 0, 4), "a3": (0, 1, 1, 1, 3), "a4": (0, 3, 1, 1, 1),
}


def votes(world: World, ballot: dict[str, str]) -> dict[str, Any]:
    return {"votes": {str(world.members[line]): grade for line, grade in ballot.items()}}


def tally_out(world: World) -> dict[int, dict[str, int]]:
    """TALLY as GET /ratings/{id} answers it, by member id."""
    return {world.members[line]: dict(zip((*GRADES, "abstain"), counts, strict=True))
            for line, counts in TALLY.items()}


def read_everything(db: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order."""
    rows = {}
    for table in SQLModel.metadata.sorted_tables:
        query = sa.select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [dict(r._mapping) for r in db.execute(query)]
    db.commit()
    return rows


def changed_rows(before: dict[str, list[dict[str, Any]]],
                 after: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows of `after` that are new or differ from `before`, per table."""
    changed = {}
    for name, rows in after.items():
        old = {json.dumps(r, default=str, sort_keys=True) for r in before[name]}
        new = [r for r in rows if json.dumps(r, default=str, sort_keys=True) not in old]
        if new:
            changed[name] = new
    return changed


def holds_a_grade(value: object) -> bool:
    return isinstance(value, str) and any(w in value for w in GRADE_WORDS)


@contextmanager
def undone(db: Session, world: World) -> Iterator[None]:
    """What happens inside is rolled back afterwards, the clock put back too: a savepoint
    of the test's transaction, under the app's own (the request session's) savepoints."""
    db.commit()
    connection = db.get_bind()
    assert isinstance(connection, sa.Connection)
    savepoint = connection.begin_nested()
    at = world.clock.now()
    try:
        yield
    finally:
        db.rollback()
        savepoint.rollback()
        db.expunge_all()
        world.clock.at = at


@pytest.fixture
def rating(world: World) -> int:
    """Branch A's 2025 rating, a draft (every quarter finalized, no entries); everyone
    who takes part logged in already (a login writes rows too)."""
    finalize_year(world, world.branch_a)
    rating_id: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings",
                                   {"year": 2025}), 201)["id"]
    for who in (*PEOPLE, "party_sec", "sec_b", "b1", "admin"):
        world.as_(who)
    return rating_id


def run_ballot(world: World, rating_id: int, dealt: dict[str, str]) -> None:
    """Open, cast the ballots as dealt (a minute apart), type in the paper one, close."""
    ok(world.post("sec_a", f"/ratings/{rating_id}/ballot/open"))
    for voter, ballot in dealt.items():
        world.clock.advance(minutes=1)
        ok(world.post(voter, f"/ratings/{rating_id}/ballots", votes(world, BALLOTS[ballot])),
           201)
    world.clock.advance(minutes=1)
    ok(world.post("vice_a", f"/ratings/{rating_id}/paper-ballots", votes(world, PAPER)), 201)
    world.clock.advance(minutes=1)
    ok(world.post("sec_a", f"/ratings/{rating_id}/ballot/close"))


def test_the_ballot_stores_counts_apart_from_voters_and_audits_no_choice(
        world: World, db: Session, rating: int) -> None:
    before = read_everything(db)
    run_ballot(world, rating, DEALT)
    after = read_everything(db)
    changed = changed_rows(before, after)
    members = world.members

    # The choices: counts per (line, grade), every row there (made at 0 on opening), with
    # no time and no author; nothing else in the table.
    assert {c.name for c in RatingTally.__table__.columns} == {  # type: ignore[attr-defined]
        "rating_id", "member_id", "grade", "count"}
    stored = {(r["member_id"], r["grade"]): r["count"] for r in after["rating_tally"]
              if r["rating_id"] == rating}
    assert stored == {(members[line], grade): counts[i] for line, counts in TALLY.items()
                      for i, grade in enumerate(GRADES)}
    # Who may vote and whether they did: no choice there.
    assert {c.name for c in RatingVoter.__table__.columns} == {  # type: ignore[attr-defined]
        "rating_id", "member_id", "voted"}
    assert sorted((r["member_id"], r["voted"]) for r in after["rating_voter"]) == sorted(
        (members[p], p != "a4") for p in PEOPLE)
    # The committee's grades are untouched by the ballot.
    assert after["rating_item"] == before["rating_item"]

    # Outside the counts, a grade is written by the ballot in one row only: the audit row
    # of the close, which holds the whole tally.
    with_a_grade = [(name, row) for name, rows in changed.items() if name != "rating_tally"
                    for row in rows if any(holds_a_grade(v) for v in row.values())]
    assert [(name, row["action"]) for name, row in with_a_grade] == [
        ("audit_log", "rating.ballot_close")]

    # The audit rows, in order: the casts name the voter (as actor) and the rating only.
    accounts = {r["member_id"]: r["id"] for r in after["account"] if r["member_id"]}
    audit = changed["audit_log"]
    assert [(r["action"], r["actor_id"], r["object_type"], r["object_id"]) for r in audit] == [
        ("rating.ballot_open", accounts[members["sec_a"]], "rating", rating),
        *[("rating.ballot_cast", accounts[members[v]], "rating", rating) for v in DEALT],
        ("rating.paper_ballot", accounts[members["vice_a"]], "rating", rating),
        ("rating.ballot_close", accounts[members["sec_a"]], "rating", rating)]
    for row in audit[1:-1]:
        assert (row["before"], row["after"]) == (None, None), row
    # No audit row anywhere holds a tally but that one, and it holds the whole tally.
    tallied = [r for r in after["audit_log"] if "tally" in (r["after"] or "") + (
        r["before"] or "")]
    assert [r["id"] for r in tallied] == [audit[-1]["id"]]
    assert json.loads(audit[-1]["after"])["tally"] == {
        str(m): t for m, t in tally_out(world).items()}


def normalized(db: Session) -> dict[str, list[dict[str, Any]]]:
    """Every table, with what differs between two runs of the same steps by design taken
    out: the random revisions (a new one for every change to a branch or rule set) and the
    ids of new audit rows (PostgreSQL's sequences do not roll back), counted from the first."""
    everything = read_everything(db)
    for rows in everything.values():
        for row in rows:
            row.pop("revision", None)
    return everything


def test_whoever_cast_which_ballot_the_stored_data_is_the_same(
        world: World, db: Session, rating: int) -> None:
    """The same ballots dealt out among the voters another way, cast at the same moments
    in the same order: every table identical, so nothing stored says who chose what."""
    first_audit = max(r["id"] for r in read_everything(db)["audit_log"]) + 1
    runs = []
    for dealt in (DEALT, DEALT_AGAIN):
        with undone(db, world):
            run_ballot(world, rating, dealt)
            data = normalized(db)
        offset = min(r["id"] for r in data["audit_log"] if r["action"] == "rating.ballot_open")
        for row in data["audit_log"]:
            if row["id"] >= offset:
                row["id"] = first_audit + row["id"] - offset
        runs.append(data)
    assert runs[0]["rating_tally"], "the ballot ran"
    differing = {name: [(a, b) for a, b in zip(runs[0][name], runs[1][name], strict=True)
                        if a != b][:1] for name in runs[0] if runs[0][name] != runs[1][name]}
    assert differing == {}, differing  # per table, its first row that differs
    # And the two voters who swapped ballots did choose differently.
    assert BALLOTS[DEALT["sec_a"]] != BALLOTS[DEALT_AGAIN["sec_a"]]


def view(world: World, who: str, rating_id: int) -> Any:
    return world.get(who, f"/ratings/{rating_id}")


def test_only_the_ballots_cast_are_seen_while_it_is_open_and_the_tally_never_by_members(
        world: World, rating: int) -> None:
    m = world.members
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/open"))
    for voter in ("a1", "a2"):
        ok(world.post(voter, f"/ratings/{rating}/ballots",
                      votes(world, BALLOTS[DEALT[voter]])), 201)
    ok(world.post("vice_a", f"/ratings/{rating}/paper-ballots", votes(world, PAPER)), 201)
    for who in ("sec_a", "party_sec", "admin"):  # the branch, the 党委 above, the admin
        seen = ok(view(world, who, rating))
        assert seen["ballot"] == {"status": "open", "voters": 6, "cast_online": 2,
                                  "cast_paper": 1, "voted": sorted([m["a1"], m["a2"]]),
                                  "you_voted": {"sec_a": False}.get(who)}
        assert [i["tally"] for i in seen["items"]] == [None] * 6
    # A member does not see a draft at all; another branch's committee neither.
    for who in ("a1", "a4", "sec_b", "b1"):
        refused(view(world, who, rating), 404)
    listed = ok(world.get("sec_a", "/ratings", year=2025))["items"]
    assert not any(holds_a_grade(json.dumps(r)) or "tally" in r for r in listed)

    for voter in ("sec_a", "vice_a", "a3"):
        ok(world.post(voter, f"/ratings/{rating}/ballots",
                      votes(world, BALLOTS[DEALT[voter]])), 201)
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/close"))
    for who in ("sec_a", "party_sec", "admin"):
        seen = ok(view(world, who, rating))
        assert {i["member_id"]: i["tally"] for i in seen["items"]} == tally_out(world)
    refused(view(world, "a1", rating), 404)

    ok(world.post("sec_a", f"/ratings/{rating}/publish", {"notice_days": 5}))
    for who in MEMBERS_ONLY:
        seen = ok(view(world, who, rating))
        assert [i["tally"] for i in seen["items"]] == [None] * 6, who
        assert seen["ballot"]["voted"] is None
    world.clock.advance(days=6)
    ok(world.post("sec_a", f"/ratings/{rating}/submit"))
    ok(world.post("party_sec", f"/ratings/{rating}/approve"))
    for who in MEMBERS_ONLY:
        assert [i["tally"] for i in ok(view(world, who, rating))["items"]] == [None] * 6
    refused(view(world, "b1", rating), 404)
    assert {i["member_id"]: i["tally"] for i in ok(view(world, "party_sec", rating))[
        "items"]} == tally_out(world)


def page_paths(routes: list[Any], prefix: str = "") -> Iterator[str]:
    """The GET paths of the routes, through the included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from page_paths(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            yield prefix + route.path


# Member pages: /me and every page under it without a parameter other than a rating's.
MEMBER_PAGES = sorted({
    path for path in page_paths(web.router.routes) if path.startswith("/me")
    and not set(re.findall(r"\{(\w+)", path)) - {"rating_id"}})
# The session's CSRF token, in the page's hx-headers and its forms, and the forms' one-time
# keys (app/web/once.py): new with every page, whatever the ballots said.
_CSRF = re.compile(r'("X-CSRF-Token": "|name="(?:csrf_token|form_key)" value=")[^"]+')


def member_sees(world: World, rating_id: int) -> dict[str, Any]:
    """What a1 is shown: the rating through the API, and every member page."""
    seen: dict[str, Any] = {"api": ok(view(world, "a1", rating_id))}
    web_login(world.client, "a1")
    for path in MEMBER_PAGES:
        page = world.client.get(path.replace("{rating_id}", str(rating_id)))
        assert page.status_code == 200 or path != "/me", page.status_code
        if page.headers["content-type"].startswith("text/html"):  # not a download
            seen[path] = (page.status_code, _CSRF.sub(r"\1", page.text))
    world.client.cookies.clear()
    return seen


def test_a_member_is_shown_the_same_whatever_the_ballots_said(
        world: World, db: Session, rating: int) -> None:
    """The rating published, then approved: a1's answers and pages after the ballot above,
    and after one where every voter abstained on every line, are the same."""
    assert "/me" in MEMBER_PAGES
    shown = []
    for dealt in (DEALT, dict.fromkeys(DEALT, "B5")):
        with undone(db, world):
            ok(world.post("sec_a", f"/ratings/{rating}/ballot/open"))
            for voter, ballot in dealt.items():
                ok(world.post(voter, f"/ratings/{rating}/ballots",
                              votes(world, BALLOTS[ballot])), 201)
            ok(world.post("sec_a", f"/ratings/{rating}/ballot/close"))
            ok(world.post("sec_a", f"/ratings/{rating}/publish", {"notice_days": 5}))
            published = member_sees(world, rating)
            world.clock.advance(days=6)
            ok(world.post("sec_a", f"/ratings/{rating}/submit"))
            ok(world.post("party_sec", f"/ratings/{rating}/approve"))
            shown.append((published, member_sees(world, rating)))
            tallies = [i["tally"] for i in ok(view(world, "sec_a", rating))["items"]]
        assert any(t["excellent"] + t["qualified"] for t in tallies) is (dealt == DEALT)
    assert shown[0] == shown[1]
    # Nor are votes counted on them in so many words (N票, 票数, 弃权 N).
    for name, page in (*shown[0][0].items(), *shown[0][1].items()):
        text = json.dumps(page, ensure_ascii=False)
        assert not re.search(r"\d\s*票|票数|弃权\D{0,3}\d", text), name


class Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def logged_at_debug() -> Iterator[Recorded]:
    """Every log line of the process at DEBUG, formatted (not pytest's caplog, which the
    suite may run without: -p no:logging)."""
    root = logging.getLogger()
    handler, level = Recorded(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_no_choice_reaches_a_log_line_or_a_refusal(world: World, rating: int) -> None:
    with logged_at_debug() as log:
        cast_and_refuse(world, rating)
    # The log was recording (an access line per request), and no line holds a choice.
    assert sum(f"/ratings/{rating}/ballots" in line for line in log.lines) >= 10, log.lines
    assert [line for line in log.lines if holds_a_grade(line)] == []
    # The SQL, whose parameters carry the counts' grades, stays out of the log at DEBUG.
    assert not logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)


def cast_and_refuse(world: World, rating: int) -> None:
    """Ballots cast and refused; no refusal repeats a choice."""
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/open"))
    m = world.members
    refusals = [  # (who, votes, status, code): each refused, nothing counted
        ("a1", {"a1": "excellent", "a2": "qualified"}, 422, "own_line"),
        ("a1", {"a2": "unqualified", "b1": "excellent"}, 422, "not_a_graded_line"),
        ("b1", {"a2": "basically_qualified"}, 404, None),
        ("admin", {"a2": "excellent"}, 403, "not_a_voter"),
    ]
    for who, ballot, status, code in refusals:
        body = refused(world.post(who, f"/ratings/{rating}/ballots",
                                  {"votes": {str(m[k]): g for k, g in ballot.items()}}),
                       status, code)
        assert not holds_a_grade(json.dumps(body, ensure_ascii=False)), body
    # An unknown grade: the error lists the four grades, and repeats neither the bad value
    # nor the other choices of the ballot.
    body = refused(world.post("a1", f"/ratings/{rating}/ballots", {
        "votes": {str(m["a2"]): "unqualified", str(m["a3"]): "superb"}}), 422,
        "validation_error")
    assert "superb" not in json.dumps(body) and all("input" not in e for e in body["errors"])
    assert "unqualified" not in body["detail"].split("Input should be")[0]
    for voter, number in DEALT.items():
        ok(world.post(voter, f"/ratings/{rating}/ballots", votes(world, BALLOTS[number])), 201)
    body = refused(world.post("a1", f"/ratings/{rating}/ballots",
                              votes(world, BALLOTS["B3"])), 409, "already_voted")
    assert not holds_a_grade(json.dumps(body, ensure_ascii=False))
    ok(world.post("vice_a", f"/ratings/{rating}/paper-ballots", votes(world, PAPER)), 201)
    body = refused(world.post("a4", f"/ratings/{rating}/ballots", votes(world, BALLOTS["B5"])),
                   409, "ballot_full")
    assert not holds_a_grade(json.dumps(body, ensure_ascii=False))
    body = refused(world.post("sec_a", f"/ratings/{rating}/paper-ballots",
                              votes(world, PAPER)), 409, "ballot_full")
    assert not holds_a_grade(json.dumps(body, ensure_ascii=False))


def test_audit_rows_say_who_voted_and_when_never_what(world: World, rating: int) -> None:
    """Through GET /audit too: a cast's row has no before or after."""
    run_ballot(world, rating, DEALT)
    cast = ok(world.get("admin", "/audit", action="rating.ballot_cast"))["items"]
    assert len(cast) == 5
    assert [(r["before"], r["after"], r["object_id"]) for r in cast] == [(None, None, rating)] * 5
    assert sorted(r["actor"] for r in cast) == sorted(DEALT)
    closed = ok(world.get("admin", "/audit", action="rating.ballot_close"))["items"]
    assert [r["after"]["tally"] for r in closed] == [
        {str(k): v for k, v in tally_out(world).items()}]
    assert isinstance(datetime.fromisoformat(cast[0]["at"]), datetime)
