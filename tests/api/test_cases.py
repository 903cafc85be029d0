"""Disposal cases through the API (appraisal.md §5): the whole path of each measure, the
members with a vote counted on the meeting's day, the deadline of 限期改正, and what an
approved 除名 or an accepted 劝退 does to the member."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.models import Account
from app.services import cases
from app.services.access import load_actor
from tests.api.case_scene import (
    DECIDE,
    INVESTIGATE,
    PREREVIEW,
    TODAY,
    VOTE,
    file_case,
    propose,
    reach,
    step,
    talk,
)
from tests.api.support import PASSWORD, World, ok, refused

RECTIFIED = ("sec_a", {"kind": "followup", "result": "rectified", "note": "已改正"})
NOT_RECTIFIED = ("sec_a", {"kind": "followup", "result": "not_rectified", "note": "仍未改正"})
AGREED = ("sec_a", {"kind": "withdrawal", "agreed": True, "note": "本人同意退党"})
REFUSED = ("sec_a", {"kind": "withdrawal", "agreed": False, "note": "劝而不退"})
WAIT = ("wait", {})  # the clock to the deadline (2026-01-10 + 6 months = 2026-07-10)

# Each step with the case's (status, outcome, measure, allowed measures, next step) after it.
ALL = ["rectify", "persuade", "expel"]
Path = list[tuple[tuple[str, Any], tuple[Any, ...]]]


def decided(measure: str, allowed: list[str], after: str, *, first: bool = False) -> Path:
    """From talked (or, the first time, from filed) to the decision approving `measure`,
    which leaves the case `after`."""
    done = None if after == "closed" else measure
    start: Path = [(INVESTIGATE, ("investigated", None, None, allowed, "talk")),
                   (("talk", None), ("talked", None, None, allowed, "proposal"))]
    return (start if first else []) + [
        (propose(measure), ("proposed", None, measure, allowed, "prereview")),
        (PREREVIEW, ("prereviewed", None, measure, allowed, "vote")),
        (VOTE, ("voted", None, measure, allowed, "decision")),
        (DECIDE, (after, None if done else "expelled", measure, allowed,
                  {"rectifying": "followup", "persuading": "withdrawal"}.get(after)))]


PATHS: dict[str, Path] = {
    "rectify_rectified": [
        *decided("rectify", ALL, "rectifying", first=True),
        (WAIT, ("rectifying", None, "rectify", ALL, "followup")),
        (RECTIFIED, ("closed", "rectified", "rectify", ALL, None)),
    ],
    "rectify_not_rectified_expel": [
        *decided("rectify", ALL, "rectifying", first=True),
        (WAIT, ("rectifying", None, "rectify", ALL, "followup")),
        (NOT_RECTIFIED, ("talked", None, None, ["persuade", "expel"], "proposal")),
        *decided("expel", ["persuade", "expel"], "closed"),
    ],
    "persuade_withdrew": [
        *decided("persuade", ALL, "persuading", first=True),
        (AGREED, ("closed", "persuaded", "persuade", ALL, None)),
    ],
    "persuade_refused_expel": [
        *decided("persuade", ALL, "persuading", first=True),
        (REFUSED, ("talked", None, None, ["expel"], "proposal")),
        *decided("expel", ["expel"], "closed"),
    ],
}
# The member's standing and left_kind at the end of each path.
LEFT = {"rectify_rectified": ("full", None), "rectify_not_rectified_expel": ("left", "expelled"),
        "persuade_withdrew": ("left", "persuaded"),
        "persuade_refused_expel": ("left", "expelled")}


@pytest.mark.parametrize("path", list(PATHS))
def test_each_measure_goes_its_whole_path(world: World, path: str) -> None:
    case = ok(file_case(world), 201)
    assert (case["status"], case["outcome"], case["next_step"], case["next_by"]) == \
        ("filed", None, "investigation", "branch_committee")
    assert [s["kind"] for s in case["steps"]] == ["file"]
    kinds = ["file"]
    for (who, body), expected in PATHS[path]:
        if who == "wait":
            world.clock.advance(days=181)
            case = ok(world.get("sec_a", f"/cases/{case['id']}"))
        else:
            body = talk(world)[1] if who == "talk" else body
            if body["kind"] == "vote":  # the meeting after the prereview: today
                body = {**body, "held_on": world.clock.today().isoformat()}
            case = ok(step(world, case["id"], "sec_a" if who == "talk" else who, body))
            kinds.append(body["kind"])
        assert (case["status"], case["outcome"], case["measure"], case["allowed_measures"],
                case["next_step"]) == expected, body
        assert [s["kind"] for s in case["steps"]] == kinds
    member = ok(world.get("admin", f"/members/{world.members['a4']}"))
    assert (member["standing"], member["left_kind"]) == LEFT[path]
    log = ok(world.get("admin", "/audit", object_type="case", object_id=case["id"],
                       limit=100))
    assert sorted(r["action"] for r in log["items"]) == sorted(f"case.{k}" for k in kinds)


def test_a_rectification_waits_for_its_deadline_with_the_days_left(world: World) -> None:
    case = reach(world, "decided")  # decided 2026-01-10, six months
    seen = ok(world.get("a4", f"/cases/{case}"))
    assert (seen["deadline"], seen["months"], seen["days_left"], seen["next_by"]) == \
        ("2026-07-10", 6, 181, "branch_committee")
    world.clock.advance(days=180)  # 2026-07-09: a day to go
    assert ok(world.get("sec_a", f"/cases/{case}"))["days_left"] == 1
    refused(step(world, case, *RECTIFIED), 409, "deadline_not_reached")
    world.clock.advance(days=3)
    assert ok(world.get("sec_a", f"/cases/{case}"))["days_left"] == -2
    assert ok(step(world, case, *RECTIFIED))["outcome"] == "rectified"


@pytest.mark.parametrize(("decided_on", "months", "deadline"), [
    ("2026-08-31", 6, "2027-02-28"),
    ("2026-08-31", 1, "2026-09-30"),
    ("2026-09-01", 12, "2027-09-01"),
    ("2026-10-31", 4, "2027-02-28"),
])
def test_the_deadline_counts_calendar_months_from_the_decision(
        world: World, decided_on: str, months: int, deadline: str) -> None:
    world.clock.advance(days=233)  # 2026-08-31
    case = ok(file_case(world), 201)["id"]
    for who, body in (INVESTIGATE, talk(world), propose("rectify", months=months), PREREVIEW,
                      VOTE):
        ok(step(world, case, who, body | {"held_on": "2026-08-31"} if "held_on" in body
                else body))
    world.clock.advance(days=61)  # 2026-10-31
    decided = ok(step(world, case, "party_sec", DECIDE[1] | {"decided_on": decided_on}))
    assert (decided["status"], decided["deadline"]) == ("rectifying", deadline)
    assert decided["steps"][-1]["decided_on"] == decided_on


# The members with a vote on the meeting's day (2026-01-10), worked out by hand: branch A
# has six full members (sec_a, vice_a, a1, a2, a3, a4 — a4, the member, counts too).
SUSPENDED = {"kind": "party_probation", "note": "留党察看"}
EXEMPTION = {"reason_kind": "bedridden", "note": "", "parent_consent_on": "2026-01-02",
             "meeting_on": "2026-01-05"}
ELIGIBLE = {
    "all_six": ([], 6),
    "suspended_running": ([("post", "a1", "/suspensions", SUSPENDED | {
        "starts_on": "2025-06-01"})], 5),
    "suspension_ended_before": ([("post", "a1", "/suspensions", SUSPENDED | {
        "starts_on": "2025-06-01", "ends_on": "2026-01-05"})], 6),
    "suspension_ends_on_the_day": ([("post", "a1", "/suspensions", SUSPENDED | {
        "starts_on": "2025-06-01", "ends_on": "2026-01-10"})], 6),
    "suspension_starts_after": ([("post", "a1", "/suspensions", SUSPENDED | {
        "starts_on": "2026-01-11"})], 6),
    "exempt_that_year": ([("put", "a2", "/exemptions/2026", EXEMPTION)], 5),
    "exempt_another_year": ([("put", "a2", "/exemptions/2027", EXEMPTION)], 6),
    "probationary": ([("patch", "vice_a", "", {"standing": "probationary"})], 5),
    "left": ([("leave", "a3", "/leave", {"kind": "transferred", "on": "2026-01-05",
                                          "note": ""})], 5),
    "all_of_them": ([("post", "a1", "/suspensions", SUSPENDED | {"starts_on": "2025-06-01"}),
                     ("put", "a2", "/exemptions/2026", EXEMPTION),
                     ("patch", "vice_a", "", {"standing": "probationary"}),
                     ("leave", "a3", "/leave", {"kind": "died", "on": "2026-01-05",
                                                "note": ""})], 2),
}


@pytest.mark.parametrize("name", list(ELIGIBLE))
def test_the_server_counts_the_members_with_a_vote_on_the_meetings_day(
        world: World, name: str) -> None:
    changes, eligible = ELIGIBLE[name]
    case = reach(world, "prereviewed")  # the talk by a1 and a2, before the changes
    for how, member, path, body in changes:
        where = f"/members/{world.members[member]}{path}"
        answer = world.patch("sec_a", where, body) if how == "patch" else \
            world.put("sec_a", where, body) if how == "put" else \
            world.post("party_sec" if how == "leave" else "sec_a", where, body)
        assert answer.status_code in (200, 201), answer.text
    refused(step(world, case, "sec_a", VOTE[1] | {"present": eligible // 2, "for": eligible // 2,
                                                   "against": 0}), 409, "no_quorum")
    voted = ok(step(world, case, "sec_a", VOTE[1] | {"present": eligible, "for": eligible,
                                                     "against": 0}))
    vote = voted["steps"][-1]
    assert (vote["eligible"], vote["passed"], vote["present"], vote["for"]) == \
        (eligible, True, eligible, eligible)


def test_a_failed_vote_closes_the_case_not_adopted(world: World) -> None:
    case = reach(world, "prereviewed")
    voted = ok(step(world, case, "sec_a", VOTE[1] | {"present": 6, "for": 3, "against": 2,
                                                     "abstain": 1}))
    assert (voted["status"], voted["outcome"], voted["next_step"]) == \
        ("closed", "not_adopted", None)
    assert (voted["steps"][-1]["eligible"], voted["steps"][-1]["passed"]) == (6, False)
    assert ok(world.get("a4", "/me"))["member_id"] == world.members["a4"]


def test_an_expelled_member_can_log_in_no_more_and_their_records_stay(world: World) -> None:
    before = world.as_("a4")  # a token of a4's, from before the decision
    case = reach(world, "voted", measure="expel")
    decided = ok(step(world, case, *DECIDE))
    assert (decided["status"], decided["outcome"]) == ("closed", "expelled")
    refused(world.client.get(f"/api/v1/cases/{case}", headers=before), 401, "invalid_token")
    refused(world.client.get("/api/v1/me", headers=before), 401, "invalid_token")
    answer = world.client.post("/api/v1/auth/token",
                               data={"username": "a4", "password": PASSWORD})
    assert answer.status_code == 401, answer.text
    member = ok(world.get("admin", f"/members/{world.members['a4']}"))
    assert (member["standing"], member["left_kind"], member["left_on"]) == \
        ("left", "expelled", TODAY)
    # The case stays, for the branch and above; the level above records the appeal.
    appealed = ok(step(world, case, "party_sec", {"kind": "appeal", "text": "本人不服，书面申诉"}))
    assert (appealed["appeal_open"], appealed["next_step"], appealed["steps"][-1]["on_behalf"]) \
        == (True, "appeal_answer", True)
    answered = ok(step(world, case, "admin", {"kind": "appeal_answer", "text": "维持原决定"}))
    assert (answered["appeal_open"], answered["status"], answered["next_step"]) == \
        (False, "closed", None)


def test_a_returned_prereview_goes_back_to_talked(world: World) -> None:
    case = reach(world, "proposed")
    returned = ok(step(world, case, "party_sec", {"kind": "prereview", "decision": "return",
                                                  "note": "事实不清"}))
    assert (returned["status"], returned["measure"], returned["next_step"]) == \
        ("talked", None, "proposal")
    assert returned["steps"][-1] | {"at": None} == {
        "kind": "prereview", "decision": "return", "note": "事实不清", "at": None,
        "by": world.members["party_sec"], "by_member_id": world.members["party_sec"],
        "on_behalf": False}


def test_no_participation_allows_only_expel(world: World) -> None:
    case = reach(world, "talked", ground="no_participation")
    seen = ok(world.get("sec_a", f"/cases/{case}"))
    assert seen["allowed_measures"] == ["expel"]
    refused(step(world, case, *propose("rectify")), 409, "measure_not_allowed")
    refused(step(world, case, *propose("persuade")), 409, "measure_not_allowed")
    assert ok(step(world, case, *propose("expel")))["status"] == "proposed"


def test_cases_are_listed_by_member_org_and_status(world: World) -> None:
    first = reach(world, "decided", measure="expel")  # a4, closed
    second = reach(world, "filed", member="a3")
    m = world.members
    for params, ids in (({}, [second, first]), ({"member_id": m["a4"]}, [first]),
                        ({"status": "filed"}, [second]), ({"status": "closed"}, [first]),
                        ({"org_id": world.branch_a}, [second, first]),
                        ({"org_id": world.party}, [second, first]),
                        ({"org_id": world.branch_b}, [])):
        listed = ok(world.get("party_sec", "/cases", **params))
        assert ([c["id"] for c in listed["items"]], listed["total"]) == (ids, len(ids)), params
    assert [c["id"] for c in ok(world.get("a3", "/cases"))["items"]] == [second]


def test_the_level_above_has_a_queue_of_cases_waiting_for_it(world: World, db: Session) -> None:
    """Waiting for the committee above: a prereview (a4's case), a decision (a3's), an
    appeal's answer; not a case waiting for the branch (a2's)."""
    prereview = reach(world, "proposed")
    decision = reach(world, "voted", member="a3")
    reach(world, "filed", member="a2")

    def queue(who: str) -> list[int]:
        account = db.exec(select(Account).where(Account.username == who)).one()
        return [c.id or 0 for c in cases.waiting_above(db, load_actor(db, account))]

    assert (queue("party_sec"), queue("admin"), queue("sec_a"), queue("a4")) == \
        ([prereview, decision], [prereview, decision], [], [])
    ok(step(world, decision, *DECIDE))
    ok(step(world, decision, "a3", {"kind": "appeal", "text": "申诉"}))
    assert queue("party_sec") == [prereview, decision]
    ok(step(world, prereview, "party_sec", PREREVIEW[1]))
    assert queue("party_sec") == [decision]
