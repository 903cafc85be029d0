"""Standing, suspended rights and exemptions per year (appraisal.md §1), through the API.

The rating cases play branch A's 2025 of test_year_workflow without its self-reports (the
scores of test_rating_batch): sec_a 90 (one entry deducted 10: basically qualified),
vice_a 62, a1 90, a2 92, a3 vetoed, a4 22. All six graded: n = 6, ⌊6/3⌋ = 2 excellent.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import PASSWORD, World, approve_rating, ok, refused
from tests.api.test_year_workflow import run_quarter
from tests.web.support import web_login

EXEMPTION = {"reason_kind": "bedridden", "note": "长期卧床", "parent_consent_on": "2025-12-01",
             "meeting_on": "2025-12-10"}


def member(world: World, name: str) -> dict[str, Any]:
    answer: dict[str, Any] = ok(world.get("admin", f"/members/{world.members[name]}"))
    return answer


def test_a_new_member_is_full_and_probationary_becomes_full_with_a_date(world: World) -> None:
    assert {k: member(world, "a1")[k] for k in
            ("standing", "full_since", "rights_suspended", "exempt", "exempt_reason")} == {
        "standing": "full", "full_since": None, "rights_suspended": False, "exempt": False,
        "exempt_reason": None}
    body = {"name": "新党员", "org_id": world.branch_a, "category": "active",
            "joined_on": "2025-07-01", "username": "newbie", "password": PASSWORD,
            "standing": "probationary"}
    made = ok(world.post("sec_a", "/members", body), 201)
    assert (made["standing"], made["full_since"]) == ("probationary", None)
    full = ok(world.patch("sec_a", f"/members/{made['id']}", {"standing": "full"}))
    assert (full["standing"], full["full_since"]) == ("full", "2026-01-10")
    audit = ok(world.get("admin", "/audit", object_type="member", object_id=made["id"]))
    assert [a["action"] for a in audit["items"]][:2] in (
        ["member.update", "member.create"], ["member.create", "member.update"])


@pytest.mark.parametrize(("joined_on", "allowed"), [
    ("2025-07-01", True), ("2024-01-11", True),   # under two years before 2026-01-10
    ("2024-01-10", False), ("2020-01-01", False),  # two years and more: past any probation
])
def test_probation_is_two_years_at_most(world: World, joined_on: str, allowed: bool) -> None:
    """预备期一年，延长不超过一年: a member is not created (or imported) as probationary
    two years after joining (422 probation_too_long)."""
    body = {"name": "新党员", "org_id": world.branch_a, "category": "active",
            "joined_on": joined_on, "username": "newbie", "password": PASSWORD,
            "standing": "probationary"}
    made = world.post("sec_a", "/members", body)
    if allowed:
        assert ok(made, 201)["standing"] == "probationary"
    else:
        refused(made, 422, "probation_too_long")
        assert "newbie" not in {m["username"] for m in ok(world.get(
            "admin", "/members", org_id=world.branch_a, limit=100))["items"]}


def test_a_recorded_full_membership_is_not_undone(world: World) -> None:
    body = {"name": "新党员", "org_id": world.branch_a, "category": "active",
            "joined_on": "2025-07-01", "username": "newbie", "password": PASSWORD,
            "standing": "probationary"}
    made = ok(world.post("sec_a", "/members", body), 201)
    ok(world.patch("sec_a", f"/members/{made['id']}", {"standing": "full"}))
    refused(world.patch("sec_a", f"/members/{made['id']}", {"standing": "probationary"}),
            409, "full_not_undone")
    stored = ok(world.get("admin", f"/members/{made['id']}"))
    assert (stored["standing"], stored["full_since"]) == ("full", "2026-01-10")


@pytest.mark.parametrize(("path", "body", "status", "code"), [
    pytest.param("/members", {"standing": "left"}, 422, "validation_error", id="create_left"),
    pytest.param("", {"standing": "left"}, 422, "validation_error", id="patch_left"),
    pytest.param("", {"standing": "full", "full_since": "2027-01-01"}, 422, "future_date",
                 id="full_since_future"),
    pytest.param("", {"standing": "probationary", "full_since": "2025-01-01"}, 422,
                 "full_since_not_full", id="full_since_probationary"),
    pytest.param("/leave", {"kind": "died", "on": "2025-01-01", "note": ""}, 403,
                 "committee_above_only", id="leave_by_own_branch"),
    pytest.param("/leave!", {"kind": "moved", "on": "2025-01-01"}, 422, "validation_error",
                 id="leave_unknown_kind"),
    pytest.param("/leave!", {"kind": "died", "on": "2026-02-01"}, 422, "future_date",
                 id="leave_future"),
    pytest.param("/suspensions", {"kind": "detained", "starts_on": "2025-05-01",
                                  "ends_on": "2025-05-01"}, 422, "dates_reversed",
                 id="suspension_reversed"),
    pytest.param("/suspensions", {"kind": "jail", "starts_on": "2025-05-01"}, 422,
                 "validation_error", id="suspension_unknown_kind"),
    pytest.param("/exemptions/2025", {**EXEMPTION, "reason_kind": "other", "note": " "}, 422,
                 "note_required", id="exemption_other_without_note"),
    pytest.param("/exemptions/2025", {**EXEMPTION, "reason_kind": "lazy"}, 422,
                 "validation_error", id="exemption_unknown_kind"),
    pytest.param("/exemptions/2025", {**EXEMPTION, "meeting_on": "2026-03-01"}, 422,
                 "future_date", id="exemption_meeting_future"),
    pytest.param("/exemptions/2025/withdraw", {"reason": "弄错了"}, 404, "not_found",
                 id="withdraw_none"),
    pytest.param("/exemptions/2025/withdraw", {"reason": ""}, 422, "validation_error",
                 id="withdraw_without_reason"),
])
def test_bad_input_is_refused_with_a_code(world: World, path: str, body: dict[str, Any],
                                          status: int, code: str) -> None:
    a1 = world.members["a1"]
    who = "party_sec" if path.endswith("!") else "sec_a"
    path = path.rstrip("!")
    if path == "/members":
        body = {"name": "x", "org_id": world.branch_a, "category": "active",
                "joined_on": "2020-01-01", "username": "xx", "password": PASSWORD, **body}
        answer = world.post(who, path, body)
    elif path == "":
        answer = world.patch(who, f"/members/{a1}", body)
    elif path.startswith("/exemptions/") and not path.endswith("withdraw"):
        answer = world.put(who, f"/members/{a1}{path}", body)
    else:
        answer = world.post(who, f"/members/{a1}{path}", body)
    refused(answer, status, code)
    assert member(world, "a1")["standing"] == "full"


def test_a_member_who_leaves_is_logged_out_at_once_and_keeps_their_records(
        world: World, client: TestClient) -> None:
    a1 = world.members["a1"]
    token = world.as_("a1")
    assert ok(world.get("a1", f"/members/{a1}"))["standing"] == "full"
    web_login(client, "a1")
    assert client.get("/me", follow_redirects=False).status_code == 200

    left = ok(world.post("party_sec", f"/members/{a1}/leave",
                         {"kind": "transferred", "on": "2026-01-05", "note": "转出至外省"}))
    assert (left["standing"], left["left_kind"], left["left_on"]) == \
        ("left", "transferred", "2026-01-05")
    # The token, the page session and a new login are refused from this request on.
    refused(client.get(f"/api/v1/members/{a1}", headers=token), 401, "invalid_token")
    assert client.get("/me", follow_redirects=False).status_code in (302, 303, 401)
    answer = client.post("/api/v1/auth/token", data={"username": "a1", "password": PASSWORD})
    assert answer.status_code == 401, answer.text
    # Records stay; a second leave, a standing change or an exemption is refused.
    assert member(world, "a1")["standing"] == "left"
    refused(world.post("admin", f"/members/{a1}/leave", {"kind": "died", "on": "2026-01-06"}),
            409, "member_left")
    refused(world.patch("sec_a", f"/members/{a1}", {"standing": "probationary"}), 409,
            "member_left")
    refused(world.put("sec_a", f"/members/{a1}/exemptions/2026", EXEMPTION), 409,
            "member_left")
    audit = ok(world.get("admin", "/audit", object_type="member", object_id=a1))
    assert audit["items"][0]["action"] == "member.leave"


def test_a_suspension_suspends_rights_while_it_runs(world: World) -> None:
    a2 = world.members["a2"]
    made = ok(world.post("sec_a", f"/members/{a2}/suspensions",
                         {"kind": "party_probation", "starts_on": "2025-06-01",
                          "ends_on": None, "note": "留党察看一年"}), 201)
    assert {k: made[k] for k in ("member_id", "kind", "starts_on", "ends_on", "note")} == {
        "member_id": a2, "kind": "party_probation", "starts_on": "2025-06-01",
        "ends_on": None, "note": "留党察看一年"}
    assert member(world, "a2")["rights_suspended"] is True
    refused(world.post("a1", f"/members/{a2}/suspensions",
                       {"kind": "detained", "starts_on": "2025-06-01"}), 404)
    end = f"/members/{a2}/suspensions/{made['id']}/end"
    refused(world.post("sec_a", end, {"ends_on": "2025-06-01"}), 422, "dates_reversed")
    ended = ok(world.post("sec_a", end, {"ends_on": "2026-01-10", "note": "期满"}))
    assert ended["ends_on"] == "2026-01-10"
    # ends_on is the first day with the rights back: today.
    assert member(world, "a2")["rights_suspended"] is False
    refused(world.post("sec_a", end, {"ends_on": "2026-01-10"}), 409, "suspension_ended")
    listed = ok(world.get("a2", f"/members/{a2}/suspensions"))
    assert [s["id"] for s in listed["items"]] == [made["id"]]


def test_patch_exempt_records_and_withdraws_this_years_exemption(world: World) -> None:
    a4 = world.members["a4"]
    marked = ok(world.patch("sec_a", f"/members/{a4}",
                            {"exempt": True, "exempt_reason": "长期患病"}))
    assert (marked["exempt"], marked["exempt_reason"]) == (True, "长期患病")
    listed = ok(world.get("sec_a", f"/members/{a4}/exemptions"))
    assert [(e["year"], e["reason_kind"], e["note"], e["status"]) for e in listed["items"]] \
        == [(2026, "other", "长期患病", "active")]
    cleared = ok(world.patch("sec_a", f"/members/{a4}", {"exempt": False}))
    assert (cleared["exempt"], cleared["exempt_reason"]) == (False, None)
    put = ok(world.put("sec_a", f"/members/{a4}/exemptions/2026", EXEMPTION))
    assert {k: put[k] for k in ("member_id", "year", "reason_kind", "status")} == {
        "member_id": a4, "year": 2026, "reason_kind": "bedridden", "status": "active"}
    withdrawn = ok(world.post("sec_a", f"/members/{a4}/exemptions/2026/withdraw",
                              {"reason": "已康复"}))
    assert (withdrawn["status"], withdrawn["withdrawn_reason"]) == ("withdrawn", "已康复")
    # Never deleted: both, newest first; the member sees their own.
    listed = ok(world.get("a4", f"/members/{a4}/exemptions"))
    assert [(e["reason_kind"], e["status"]) for e in listed["items"]] == [
        ("bedridden", "withdrawn"), ("other", "withdrawn")]
    assert listed["total"] == 2
    refused(world.get("a1", f"/members/{a4}/exemptions"), 404)
    refused(world.put("a4", f"/members/{a4}/exemptions/2026", EXEMPTION), 403)
    actions = [a["action"] for a in ok(world.get("admin", "/audit",
                                                 object_type="exemption"))["items"]]
    assert sorted(actions) == ["exemption.create", "exemption.create", "exemption.withdraw",
                               "exemption.withdraw"]


@pytest.fixture
def year(world: World) -> World:
    for quarter in (1, 2, 3, 4):
        run_quarter(world, quarter)
    return world


def lines(rating: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {i["name"]: (i["standing"], i["proposed_grade"], i["grade"])
            for i in rating["items"]}


@pytest.mark.parametrize(("leaves", "rated", "excellent"), [
    # a4 exempt, vice_a probationary: graded sec_a, a1, a2, a3: n = 4, ⌊4/3⌋ = 1.
    pytest.param(False, 4, ["a2"], id="exempt_and_probationary"),
    # and a3 left before: n = 3, ⌊3/3⌋ = 1; a3 is not on the rating.
    pytest.param(True, 3, ["a2"], id="and_one_left"),
])
def test_n_counts_graded_lines_only(year: World, leaves: bool, rated: int,
                                    excellent: list[str]) -> None:
    w = year
    ok(w.put("sec_a", f"/members/{w.members['a4']}/exemptions/2025", EXEMPTION))
    ok(w.patch("sec_a", f"/members/{w.members['vice_a']}", {"standing": "probationary"}))
    if leaves:
        ok(w.post("party_sec", f"/members/{w.members['a3']}/leave",
                  {"kind": "discipline", "on": "2026-01-08", "note": "开除党籍"}))
    rating = ok(w.post("sec_a", f"/orgs/{w.branch_a}/ratings", {"year": 2025}), 201)
    assert (rating["rated"], rating["excellent_limit"]) == (rated, 1)
    got = lines(rating)
    assert got["a4"] == ("full", "exempt", "exempt")
    assert got["vice_a"] == ("probationary", "probationary", "probationary")
    assert got["a1"] == ("full", "qualified", "qualified")  # 90, over the one place
    assert [n for n, line in got.items() if line[2] == "excellent"] == excellent
    assert ("a3" in got) is not leaves
    rid = rating["id"]
    for name in ("vice_a", "a4"):
        refused(w.patch("sec_a", f"/ratings/{rid}/items/{w.members[name]}",
                        {"grade": "qualified", "reason": "x"}), 409, "not_graded")


def test_an_exemption_changes_a_draft_rating_and_not_an_approved_one(year: World) -> None:
    w = year
    a4 = w.members["a4"]
    rating = ok(w.post("sec_a", f"/orgs/{w.branch_a}/ratings", {"year": 2025}), 201)
    # Six graded: ⌊6/3⌋ = 2, a2 (92) and a1 (90, less deducted than sec_a) excellent.
    assert (rating["rated"], rating["excellent_limit"]) == (6, 2)
    assert lines(rating)["a4"] == ("full", "unqualified", "unqualified")
    ok(w.put("sec_a", f"/members/{a4}/exemptions/2025", EXEMPTION))
    after = ok(w.get("sec_a", f"/ratings/{rating['id']}"))
    # Five graded: ⌊5/3⌋ = 1, so a1 drops to qualified and a4 is exempt.
    assert (after["rated"], after["excellent_limit"]) == (5, 1)
    assert lines(after)["a4"] == ("full", "exempt", "exempt")
    assert lines(after)["a1"] == ("full", "qualified", "qualified")
    ok(w.post("sec_a", f"/members/{a4}/exemptions/2025/withdraw", {"reason": "未经上级同意"}))
    back = ok(w.get("sec_a", f"/ratings/{rating['id']}"))
    assert (back["rated"], back["excellent_limit"]) == (6, 2)
    assert lines(back) == lines(rating)
    ok(w.put("sec_a", f"/members/{a4}/exemptions/2025", EXEMPTION))
    approve_rating(w, rating["id"])
    refused(w.post("sec_a", f"/members/{a4}/exemptions/2025/withdraw", {"reason": "x"}), 409,
            "rating_final")
    refused(w.put("sec_a", f"/members/{w.members['a1']}/exemptions/2025", EXEMPTION), 409,
            "rating_final")
