"""Incremental sync (issue 18, docs/api/sync.md): every list answers updated_at; a change moves
its resource's updated_at (and only its own); a poll by updated_since and `after` sees each
change exactly once across pages, holds back what is not settled, and still finds a row
committed late with an earlier stamp; a bad cursor is 422 invalid_cursor."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlmodel import Session

from app.clock import FixedClock
from app.models import Entry, Review
from app.services import stamps
from app.services.stamps import SETTLE
from app.services.sync import encode_cursor
from tests.api.appraisal_scene import rate_b
from tests.api.case_scene import INVESTIGATE, file_case, step
from tests.api.support import NO_NOTICE, World, ok, refused, statements_sent

SINCE_EVER = "2000-01-01T00:00:00+00:00"


def settle(world: World) -> None:
    """Let what was written settle: a sync read serves it from now on."""
    world.clock.advance(seconds=SETTLE.total_seconds() + 1)


def moment(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    assert at.tzinfo is not None, text
    return at


def poll(world: World, who: str, path: str, limit: int = 3, **params: Any
         ) -> tuple[list[dict[str, Any]], str]:
    """Read a sync feed page by page until `next` is null: every item, and `resume`."""
    items: list[dict[str, Any]] = []
    while True:
        page = ok(world.get(who, path, limit=limit, **params))
        assert len(page["items"]) <= limit
        assert page["resume"] is not None
        items += page["items"]
        if page["next"] is None:
            return items, page["resume"]
        assert position(page["next"]) == position(page["resume"])
        params = {k: v for k, v in params.items() if k != "updated_since"} | {
            "after": page["next"]}


def position(cursor: str) -> list[str]:
    """Where a cursor stands (its list, updated_at and id), without the count a `next`
    carries."""
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")[:3]


def ids(items: list[dict[str, Any]]) -> list[int]:
    return [i["id"] for i in items]


# --------------------------------------------------------------------------- the scene
@dataclass(frozen=True)
class Scene:
    review: int  # branch A's 2025 Q1, published, with a1's objection
    rating: int  # branch B's 2025 rating, published, with objections and a self-assessment
    case: int  # a case about a4
    suspension: int  # a2's
    b3: int  # exempt for 2025


@pytest.fixture
def scene(world: World) -> Scene:
    rating = rate_b(world)
    ok(world.put("b1", f"/ratings/{rating}/self-assessment", {"text": "带头学习"}))
    for step_ in ("ballot/open", "ballot/close"):
        ok(world.post("sec_b", f"/ratings/{rating}/{step_}"))
    ok(world.post("sec_b", f"/ratings/{rating}/publish", NO_NOTICE))
    ok(world.post("b1", f"/ratings/{rating}/objections", {"text": "等次有误"}), 201)
    world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=2)
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
    ok(world.post("a1", f"/reviews/{review}/objections", {"text": "分数不对"}), 201)
    case = ok(file_case(world), 201)["id"]
    suspension = ok(world.post("sec_a", f"/members/{world.members['a2']}/suspensions",
                               {"kind": "detained", "starts_on": "2025-06-01"}), 201)["id"]
    settle(world)
    return Scene(review, rating, case, suspension, world.members["b3"])


# Lists a platform polls by cursor: (path, caller). The audit log goes by id (its commit
# order, app/services/audit.py); the others by (updated_at, id).
FEEDS = {
    "orgs": ("/orgs", "admin"), "members": ("/members", "admin"),
    "entries": ("/entries", "admin"), "reviews": ("/reviews", "admin"),
    "ratings": ("/ratings", "admin"), "cases": ("/cases", "admin"),
    "audit": ("/audit", "admin"), "exemptions": ("/members/{b3}/exemptions", "admin"),
}
# Whole lists of one parent, whose updated_at moves when they change.
SUB_LISTS = {
    "suspensions": ("/members/{a2}/suspensions", "admin"),
    "self-assessments": ("/ratings/{rating}/self-assessments", "sec_b"),
    "rating objections": ("/ratings/{rating}/objections", "sec_b"),
    "review objections": ("/reviews/{review}/objections", "sec_a"),
    "committee": ("/orgs/{A}/committee", "admin"),
}


def _path(template: str, world: World, scene: Scene) -> str:
    return template.format(b3=scene.b3, a2=world.members["a2"], a3=world.members["a3"],
                           rating=scene.rating, review=scene.review, case=scene.case,
                           A=world.branch_a)


@pytest.mark.parametrize("name", [*FEEDS, *SUB_LISTS])
def test_every_list_answers_updated_at(world: World, scene: Scene, name: str) -> None:
    template, who = {**FEEDS, **SUB_LISTS}[name]
    answer = ok(world.get(who, _path(template, world, scene)))
    items = answer if isinstance(answer, list) else answer["items"]
    assert items, name
    for item in items:
        assert moment(item["updated_at"]) <= world.clock.now()


@pytest.mark.parametrize("name", list(FEEDS))
def test_a_sync_read_is_every_item_in_change_order(world: World, scene: Scene,
                                                   name: str) -> None:
    template, who = FEEDS[name]
    path = _path(template, world, scene)
    everything = ok(world.get(who, path, limit=500))
    items, _ = poll(world, who, path, limit=2, updated_since=SINCE_EVER)
    assert sorted(ids(items)) == sorted(ids(everything["items"]))
    order = [i["id"] for i in items] if name == "audit" else \
        [(moment(i["updated_at"]), i["id"]) for i in items]
    assert order == sorted(order)


def test_the_total_of_a_sync_read_is_what_is_left(world: World, scene: Scene) -> None:
    everything = ok(world.get("admin", "/entries"))["total"]
    first = ok(world.get("admin", "/entries", limit=2, updated_since=SINCE_EVER))
    assert first["total"] == everything >= 3
    second = ok(world.get("admin", "/entries", limit=2, after=first["next"]))
    assert second["total"] == everything - 2


COUNTS = re.compile(r"\bcount\(", re.IGNORECASE)


@pytest.mark.parametrize("name", ["orgs", "members", "entries", "reviews", "audit"])
def test_only_a_reads_first_page_is_counted(world: World, scene: Scene, db: Session,
                                            name: str) -> None:
    """The pages after the first carry the first page's count in `next`, less what was
    served; `resume` carries none, so a poll from it counts again (docs/api/sync.md). The
    lists of the scene with two items or more, a page of one."""
    template, who = FEEDS[name]
    path = _path(template, world, scene)
    first: dict[str, Any] = {}
    assert counted(db, lambda: first.update(ok(world.get(
        who, path, limit=1, updated_since=SINCE_EVER)))) == 1
    assert first["total"] >= 2 and first["next"] is not None
    pages, after, seen = [first], first["next"], len(first["items"])
    while after is not None:
        page: dict[str, Any] = {}
        assert counted(db, lambda a=after, into=page: into.update(ok(world.get(
            who, path, limit=1, after=a)))) == 0
        assert page["total"] == first["total"] - seen
        pages.append(page)
        after, seen = page["next"], seen + len(page["items"])
    assert seen == first["total"] == len(pages)
    again: dict[str, Any] = {}
    assert counted(db, lambda: again.update(ok(world.get(
        who, path, limit=1, after=first["resume"])))) == 1
    assert again["total"] == first["total"] - 1


def test_a_carried_total_leaves_out_what_changed_during_the_read(world: World) -> None:
    """An entry changed between two pages comes again at the end of the read; the total
    carried from the first page does not count it twice, so it reaches 0 on that page."""
    since = world.clock.now().isoformat()
    world.clock.advance(seconds=1)
    pending = world.entry("a1", "a1", "P02", "2025-03-01", quantity=1)  # a self-report
    world.clock.advance(seconds=1)
    others = [world.entry("sec_a", m, "P01", "2025-03-02", quantity=1)["id"]
              for m in ("a2", "a3")]
    world.clock.advance(seconds=SETTLE.total_seconds() + 1)
    first = ok(world.get("admin", "/entries", limit=1, updated_since=since))
    assert (ids(first["items"]), first["total"]) == ([pending["id"]], 3)
    ok(world.post("sec_a", f"/entries/{pending['id']}/reject", {"reason": "无记录"}))
    world.clock.advance(seconds=SETTLE.total_seconds() + 1)
    served, totals, after = [], [], first["next"]
    while after is not None:
        page = ok(world.get("admin", "/entries", limit=1, after=after))
        served += page["items"]
        totals.append(page["total"])
        after = page["next"]
    assert ids(served) == [*others, pending["id"]]  # served again, with its change
    assert served[-1]["status"] == "rejected"
    assert totals == [2, 1, 0]


def counted(db: Session, call: Callable[[], Any]) -> int:
    """How many of the statements `call` sends count rows."""
    return sum(bool(COUNTS.search(statement)) for statement in statements_sent(db, call))


# --------------------------------------------------------------------------- what moves it
Change = Callable[[World, Scene], Any]
Read = Callable[[World, Scene], str]


def _one(path: str, who: str = "admin") -> Read:
    def read(world: World, scene: Scene) -> str:
        found: str = ok(world.get(who, _path(path, world, scene)))["updated_at"]
        return found
    return read


def _listed(path: str, key: str, who: str = "admin") -> Read:
    def read(world: World, scene: Scene) -> str:
        items = ok(world.get(who, _path(path, world, scene)))["items"]
        found: str = next(i for i in items if i["id"] == getattr(scene, key))["updated_at"]
        return found
    return read


def _entry_a1(world: World, scene: Scene) -> Any:
    return world.entry("a1", "a1", "P02", "2025-03-01", quantity=1)


def _approve_a1(world: World, scene: Scene) -> Any:
    pending = _entry_a1(world, scene)
    world.clock.advance(minutes=1)
    return ok(world.post("sec_a", f"/entries/{pending['id']}/approve"))


def _q2(world: World, scene: Scene) -> str:
    return f"/reviews/{_q2_id(world)}"


def _q2_id(world: World) -> int:
    items = ok(world.get("admin", "/reviews", org_id=world.branch_a, year=2025))["items"]
    return next(r["id"] for r in items if r["quarter"] == 2)


def _answer(world: World, who: str, objection: dict[str, Any]) -> Any:
    return ok(world.post(who, f"/objections/{objection['id']}/resolve", {"response": "已核实"}))


REVIEW = "/reviews/{review}"
RATING = "/ratings/{rating}"
CHANGES: dict[str, tuple[Read, Change]] = {
    "org: committee granted": (_one("/orgs/{A}"), lambda w, s: ok(w.post(
        "admin", f"/orgs/{w.branch_a}/committee", {"member_id": w.members["a1"]}), 201)),
    "member: renamed": (_one("/members/{a2}"), lambda w, s: ok(w.patch(
        "sec_a", f"/members/{w.members['a2']}", {"name": "甲二"}))),
    "member: suspension ended": (_one("/members/{a2}"), lambda w, s: ok(w.post(
        "sec_a", f"/members/{w.members['a2']}/suspensions/{s.suspension}/end",
        {"ends_on": "2026-01-10"}))),
    "member: exempted": (_one("/members/{a3}"), lambda w, s: ok(w.put(
        "sec_a", f"/members/{w.members['a3']}/exemptions/2026", {
            "reason_kind": "bedridden", "note": "长期卧床", "parent_consent_on": "2026-01-05",
            "meeting_on": "2026-01-08"}))),
    "suspension: ended": (_listed("/members/{a2}/suspensions", "suspension"), lambda w, s: ok(
        w.post("sec_a", f"/members/{w.members['a2']}/suspensions/{s.suspension}/end",
               {"ends_on": "2026-01-10"}))),
    "review: objection answered": (_one(REVIEW), lambda w, s: _answer(
        w, "sec_a", ok(w.get("sec_a", f"/reviews/{s.review}/objections"))[0])),
    "review: a member renamed": (_one(REVIEW), lambda w, s: ok(w.patch(
        "sec_a", f"/members/{w.members['a3']}", {"name": "甲三"}))),
    "review: reopened": (_one(REVIEW), lambda w, s: ok(w.post(
        "sec_a", f"/reviews/{s.review}/reopen"))),
    "rating: objection answered": (_one(RATING), lambda w, s: _answer(
        w, "sec_b", ok(w.get("sec_b", f"/ratings/{s.rating}/objections"))["items"][0])),
    "rating: reopened": (_one(RATING), lambda w, s: ok(w.post(
        "sec_b", f"/ratings/{s.rating}/reopen", {"reason": "改等次"}))),
    "case: a step": (_one("/cases/{case}"), lambda w, s: ok(step(w, s.case, *INVESTIGATE))),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_a_change_moves_updated_at(world: World, scene: Scene, name: str) -> None:
    read, change = CHANGES[name]
    before = moment(read(world, scene))
    world.clock.advance(minutes=5)
    change(world, scene)
    assert moment(read(world, scene)) == world.clock.now() > before


def _draft_q2(world: World) -> int:
    q2: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                            {"year": 2025, "quarter": 2}), 201)["id"]
    return q2


# Reviews whose lines are worked out from other rows: (what is done, moves Q2 draft?)
DERIVED: dict[str, tuple[Change, bool]] = {
    "an entry of Q1 approved": (_approve_a1, True),
    "an entry of Q2 recorded": (lambda w, s: w.entry("sec_a", "a2", "P01", "2025-05-05",
                                                     quantity=1), True),
    "Q1 reopened (its scores no longer count)": (lambda w, s: ok(w.post(
        "sec_a", f"/reviews/{s.review}/reopen")), True),
    "a member joins the branch": (lambda w, s: w.add_member("a9", w.branch_a), True),
    "an entry of another branch": (lambda w, s: w.entry("sec_b", "b1", "P01", "2026-01-05",
                                                        quantity=1), False),
    "an entry of 2024": (lambda w, s: w.entry("sec_a", "a2", "P01", "2024-05-05",
                                              quantity=1), False),
}


@pytest.mark.parametrize("name", list(DERIVED))
def test_a_review_sheet_moves_with_what_its_lines_count(world: World, scene: Scene,
                                                       name: str) -> None:
    change, moves = DERIVED[name]
    q2 = _draft_q2(world)
    before = moment(ok(world.get("sec_a", f"/reviews/{q2}"))["updated_at"])
    world.clock.advance(minutes=5)
    change(world, scene)
    after = moment(ok(world.get("sec_a", f"/reviews/{q2}"))["updated_at"])
    assert (after == world.clock.now()) is moves and (after == before) is not moves


def test_a_rating_moves_with_its_lines_ballot_and_self_assessments(world: World) -> None:
    rating = rate_b(world)
    read = _one(f"/ratings/{rating}")
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("self-assessment", lambda: ok(world.put("b1", f"/ratings/{rating}/self-assessment",
                                                 {"text": "带头学习"}))),
        ("grade changed", lambda: ok(world.patch(
            "sec_b", f"/ratings/{rating}/items/{world.members['b1']}",
            {"grade": "qualified", "reason": "改一改"}))),
        ("exemption withdrawn, its line computed again", lambda: ok(world.post(
            "sec_b", f"/members/{world.members['b3']}/exemptions/2025/withdraw",
            {"reason": "能参加了"}))),
        ("ballot opened", lambda: ok(world.post("sec_b", f"/ratings/{rating}/ballot/open"))),
        ("ballot cast", lambda: ok(world.post("b1", f"/ratings/{rating}/ballots", {
            "votes": {str(world.members["sec_b"]): "qualified"}}), 201)),
    ]
    scene = Scene(0, rating, 0, 0, 0)
    for name, act in steps:
        world.clock.advance(minutes=5)
        act()
        assert moment(read(world, scene)) == world.clock.now(), name


def test_a_resubmission_moves_the_rejected_entry(world: World) -> None:
    rejected = world.entry("a1", "a1", "P02", "2025-03-01", quantity=1)
    ok(world.post("sec_a", f"/entries/{rejected['id']}/reject", {"reason": "无记录"}))
    world.clock.advance(minutes=5)
    ok(world.post("a1", f"/entries/{rejected['id']}/resubmit", {"note": "补了记录"}), 201)
    again = ok(world.get("a1", f"/entries/{rejected['id']}"))
    assert again["resubmitted_by"] is not None
    assert moment(again["updated_at"]) == world.clock.now()


def test_the_branch_lock_is_no_change_of_the_organisation(world: World) -> None:
    """Every write of a branch takes its lock, which gives the org row a new revision: that
    is not a change of what GET /orgs/{id} answers."""
    before = ok(world.get("admin", f"/orgs/{world.branch_a}"))["updated_at"]
    world.clock.advance(minutes=5)
    entry = world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    assert moment(entry["updated_at"]) == world.clock.now()
    assert ok(world.get("admin", f"/orgs/{world.branch_a}"))["updated_at"] == before


# --------------------------------------------------------------------------- polling
def test_a_poll_sees_each_change_exactly_once(world: World, scene: Scene) -> None:
    """A platform reads everything once, then polls from `resume`: each later change comes
    once, across pages, whatever the page size; nothing comes twice or is missed."""
    first, resume = poll(world, "admin", "/entries", limit=2, updated_since=SINCE_EVER)
    assert len(first) == len(set(ids(first))) == ok(world.get("admin", "/entries"))["total"]
    world.clock.advance(minutes=5)
    made = [world.entry("a1", "a1", "P02", f"2025-03-0{d}", quantity=1)["id"] for d in (1, 2)]
    approved = ok(world.post("sec_a", f"/entries/{made[0]}/approve"))["id"]
    old = next(e["id"] for e in first if e["member_id"] == world.members["a1"])
    ok(world.post("sec_a", f"/entries/{old}/revoke", {"reason": "记错了"}))
    settle(world)
    changes, resume = poll(world, "admin", "/entries", limit=1, after=resume)
    assert sorted(ids(changes)) == sorted({*made, approved, old})
    assert {c["id"]: c["status"] for c in changes}[old] == "revoked"
    again, same = poll(world, "admin", "/entries", limit=1, after=resume)
    assert (again, same) == ([], resume)  # caught up: nothing twice


def test_what_is_not_settled_waits_for_the_next_poll(world: World, scene: Scene) -> None:
    _, resume = poll(world, "admin", "/entries", updated_since=SINCE_EVER)
    made = world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)["id"]
    page = ok(world.get("admin", "/entries", after=resume))
    assert (page["items"], page["total"], page["next"], page["resume"]) == ([], 0, None, resume)
    world.clock.advance(seconds=SETTLE.total_seconds() - 1)
    assert ok(world.get("admin", "/entries", after=resume))["items"] == []
    world.clock.advance(seconds=1)
    assert ids(ok(world.get("admin", "/entries", after=resume))["items"]) == [made]


def test_a_row_committed_late_with_an_earlier_stamp_is_not_missed(world: World,
                                                                  scene: Scene) -> None:
    """Writer L stamps its row at R - 30 s and commits after a poll at R; writer M stamped
    its row later, at R - 20 s, and committed before the poll. Had the poll served M's row,
    its cursor would have stepped past L's, which would never come. It serves nothing newer
    than R - SETTLE: the next poll brings both, M's and L's."""
    polled_at = world.clock.now()
    world.clock.at = polled_at - timedelta(seconds=20)
    m = world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    world.clock.at = polled_at
    served, resume = poll(world, "admin", "/entries", updated_since=SINCE_EVER)
    assert m["id"] not in ids(served)
    world.clock.at = polled_at - timedelta(seconds=30)  # L's clock when it wrote
    late = world.entry("sec_a", "a2", "P01", "2025-02-14", quantity=1)
    assert moment(late["updated_at"]) < moment(m["updated_at"]) < polled_at
    world.clock.at = polled_at + SETTLE
    changes, _ = poll(world, "admin", "/entries", after=resume)
    assert ids(changes) == [late["id"], m["id"]]


def test_a_long_transaction_is_stamped_again_when_it_commits(world: World, db: Session) -> None:
    """A transaction still open SETTLE/2 after it first stamped takes the commit's time, on
    every row it stamped (and the review sheets it touched): visible only from then on."""
    made = world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    started = world.clock.now()
    clock = FixedClock(started)
    stamps.use_clock(db, clock)
    entry = db.get(Entry, made["id"])
    assert entry is not None
    entry.note = "在一个很长的事务里改的"
    review = Review(org_id=entry.org_id, year=2024, quarter=4, created_by=1,
                    created_at=started)
    db.add(review)
    db.flush()
    assert (entry.updated_at, review.updated_at) == (started, started)
    clock.advance(seconds=SETTLE.total_seconds())
    db.commit()
    db.refresh(entry)
    db.refresh(review)
    assert entry.updated_at == review.updated_at == started + SETTLE


def test_a_short_transaction_keeps_its_stamp(world: World, db: Session) -> None:
    made = world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    started = world.clock.now()
    clock = FixedClock(started)
    stamps.use_clock(db, clock)
    entry = db.get(Entry, made["id"])
    assert entry is not None
    entry.note = "很快就提交了"
    db.flush()
    clock.advance(seconds=SETTLE.total_seconds() / 2 - 1)
    db.commit()
    db.refresh(entry)
    assert entry.updated_at == started


def test_a_member_polls_only_what_they_see(world: World, scene: Scene) -> None:
    """A sync read keeps the list's scope: a1 polls A's published reviews, not B's, and
    not a draft of A."""
    _draft_q2(world)
    settle(world)
    items, _ = poll(world, "a1", "/reviews", updated_since=SINCE_EVER)
    assert ids(items) == [scene.review]


# --------------------------------------------------------------------------- refusals
def _cursor(feed: str, at: str = "2026-01-10T02:00:00+00:00", id_: str = "5") -> str:
    import base64
    return base64.urlsafe_b64encode(f"{feed}|{at}|{id_}".encode()).decode().rstrip("=")


BAD_CURSORS = {
    "garbage": "not-a-cursor!",
    "empty": "",
    "too long": "A" * 500,
    "not base64 text": "____",
    "of another list": encode_cursor("members", datetime(2026, 1, 10, tzinfo=UTC), 3),
    "no zone": _cursor("entries", at="2026-01-10T02:00:00"),
    "not a time": _cursor("entries", at="yesterday"),
    "id not a number": _cursor("entries", id_="x"),
    "negative id": _cursor("entries", id_="-1"),
    "huge id": _cursor("entries", id_="9" * 30),
    "year beyond UTC": _cursor("entries", at="0001-01-01T00:00:00+05:00"),
    "missing parts": encode_cursor("entries", datetime(2026, 1, 10, tzinfo=UTC), 5)[:30],
    "a count not a number": _cursor("entries", id_="5|many"),
    "a negative count": _cursor("entries", id_="5|-3"),
    "a huge count": _cursor("entries", id_="5|" + "9" * 30),
    "a part too many": _cursor("entries", id_="5|3|1"),
}


@pytest.mark.parametrize("name", list(BAD_CURSORS))
def test_a_bad_cursor_is_422_invalid_cursor(world: World, name: str) -> None:
    refused(world.get("admin", "/entries", after=BAD_CURSORS[name]), 422, "invalid_cursor")


@pytest.mark.parametrize("path", ["/orgs", "/members", "/reviews", "/ratings", "/cases",
                                  "/audit", "/orgs/{A}/scores"])
def test_a_cursor_of_another_list_is_refused_everywhere(world: World, path: str) -> None:
    cursor = encode_cursor("entries", datetime(2026, 1, 10, tzinfo=UTC), 3)
    refused(world.get("admin", path.format(A=world.branch_a), after=cursor), 422,
            "invalid_cursor")


SYNC_REFUSALS = {
    "offset with a cursor": ({"updated_since": SINCE_EVER, "offset": 5}, "offset_with_cursor"),
    "a time without a zone": ({"updated_since": "2026-01-10T02:00:00"}, "validation_error"),
    "a Unix time": ({"updated_since": "1767000000"}, "validation_error"),
    "not a time": ({"updated_since": "yesterday"}, "validation_error"),
    "before the calendar": ({"updated_since": "0001-01-01T00:00:00+08:00"}, "validation_error"),
}


@pytest.mark.parametrize("name", list(SYNC_REFUSALS))
def test_bad_sync_parameters_are_422(world: World, name: str) -> None:
    params, code = SYNC_REFUSALS[name]
    refused(world.get("admin", "/entries", **params), 422, code)


def test_updated_since_takes_any_zone(world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    settle(world)
    now = world.clock.now()
    beijing = (now - timedelta(minutes=2)).astimezone(timezone(timedelta(hours=8)))
    assert beijing.isoformat().endswith("+08:00")
    assert ok(world.get("admin", "/entries", updated_since=beijing.isoformat()))["total"] == 1
