"""The attendance register through the API (issue 17): POST /orgs/{id}/attendance records
one entry of the item per member present, N01 per unexcused absentee when asked, nothing for
the excused; all or nothing; the same register sent twice records once.

Branch A on 2026-01-08: sec_a, vice_a, a1, a2, a3, a4 (all active, joined 2010). P02 is 1
point a time (cap 8), P01 2 points (cap 8), N01 −2 (docs/scoring.md, Rule items).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import AuditLog
from app.schemas import MAX_ID
from tests.api.support import NO_NOTICE, World, ok, refused

DAY = "2026-01-08"


def ids(world: World, *names: str) -> list[int]:
    return [world.members[n] for n in names]


def register(world: World, who: str = "sec_a", org: int | None = None, **body: Any) -> Any:
    body = {"rule_code": "P02", "occurred_on": DAY} | body
    return world.post(who, f"/orgs{'' if org == -1 else f'/{org or world.branch_a}'}"
                      "/attendance", body)


def day_entries(world: World, member: str, year: int = 2026) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(world.get(
        "admin", "/entries", member_id=world.members[member], year=year, limit=100))["items"]
    return items


def all_entries(world: World) -> int:
    total: int = ok(world.get("admin", "/entries", limit=1))["total"]
    return total


def score(world: World, member: str) -> int:
    answer: int = ok(world.get("sec_a", f"/members/{world.members[member]}/score",
                               year=2026))["score"]
    return answer


def test_one_entry_per_member_present_n01_per_absentee_nothing_for_the_excused(
        world: World) -> None:
    body = ok(register(world, present=ids(world, "sec_a", "vice_a", "a1", "a2"),
                       excused=ids(world, "a3"), record_absences=True,
                       note="1月支部党员大会"), 201)
    made = [(e["member_id"], e["rule_code"], e["points"], e["status"]) for e in body["entries"]]
    m = world.members
    assert made == [
        (m["sec_a"], "P02", 1, "pending"),  # about the recorder: another committee member
        (m["vice_a"], "P02", 1, "approved"),
        (m["a1"], "P02", 1, "approved"),
        (m["a2"], "P02", 1, "approved"),
        (m["a4"], "N01", -2, "approved"),  # neither present nor excused
    ]
    assert {e["note"] for e in body["entries"]} == {"1月支部党员大会"}
    assert {e["occurred_on"] for e in body["entries"]} == {DAY}
    assert body["excused"] == [m["a3"]] and body["capped"] == [] and body["org_id"] == \
        world.branch_a
    assert day_entries(world, "a3") == []  # 请假: no entry, no deduction
    assert [(e["rule_code"], e["points"]) for e in day_entries(world, "a4")] == [("N01", -2)]
    assert score(world, "a1") == 1


def test_without_record_absences_the_unmarked_get_nothing(world: World) -> None:
    body = ok(register(world, present=ids(world, "a1", "a2")), 201)
    assert [e["member_id"] for e in body["entries"]] == ids(world, "a1", "a2")
    for member in ("sec_a", "vice_a", "a3", "a4"):
        assert day_entries(world, member) == []


def test_the_register_is_audited_with_who_was_excused(world: World, db: Session) -> None:
    body = ok(register(world, present=ids(world, "a1"), excused=ids(world, "a2"),
                       record_absences=True), 201)
    row = db.exec(select(AuditLog).where(AuditLog.action == "attendance.record")
                  .order_by(col(AuditLog.id).desc())).first()
    assert row is not None and row.object_type == "org" and row.object_id == world.branch_a
    after = json.loads(row.after or "{}")
    m = world.members
    assert (after["present"], after["excused"], after["rule_code"]) == ([m["a1"]], [m["a2"]],
                                                                         "P02")
    assert after["absent"] == ids(world, "sec_a", "vice_a", "a3", "a4")
    entry_rows = db.exec(select(AuditLog).where(AuditLog.action == "entry.create",
                                                col(AuditLog.object_id).in_(
                                                    [e["id"] for e in body["entries"]]))).all()
    assert len(entry_rows) == len(body["entries"]) == 5  # a1, and N01 for four absentees


def test_any_item_works_chosen_points_too(world: World) -> None:
    body = ok(register(world, rule_code="B01", points=3, present=ids(world, "a1", "a2"),
                       note="抗洪抢险表现突出"), 201)
    assert [e["points"] for e in body["entries"]] == [3, 3]
    refused(register(world, rule_code="B01", present=ids(world, "a1")), 422, "points_required")


def test_a_finalized_quarter_refuses_the_whole_register(world: World) -> None:
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    before = all_entries(world)
    refused(register(world, occurred_on="2025-11-14", present=ids(world, "a1", "a2"),
                     record_absences=True), 409, "quarter_locked")
    assert all_entries(world) == before


def test_one_member_refused_refuses_all_and_names_each(world: World) -> None:
    ok(world.post("party_sec", f"/members/{world.members['a3']}/leave",
                  {"kind": "transferred", "on": "2026-01-05", "note": "转往外县"}))
    late = world.add_member("late", world.branch_a, joined_on="2026-01-09", name="新同志")
    before = all_entries(world)
    body = refused(register(world, present=[*ids(world, "a1", "a3"), late, world.members["b1"]],
                            record_absences=True), 422, "register_invalid")
    assert [(e["member_id"], e["name"], e["mark"], e["code"]) for e in body["errors"]] == [
        (world.members["b1"], None, "present", "not_in_branch"),  # another branch: no name
        (world.members["a3"], "a3", "present", "member_left"),
        (late, "新同志", "present", "before_joined"),
    ]
    assert all(e["message"] for e in body["errors"])
    assert all_entries(world) == before  # a1 and the absentees neither


def test_a_member_left_before_the_day_is_not_counted_absent(world: World) -> None:
    ok(world.post("party_sec", f"/members/{world.members['a3']}/leave",
                  {"kind": "transferred", "on": "2026-01-05", "note": "转往外县"}))
    body = ok(register(world, present=ids(world, "sec_a", "vice_a", "a1", "a2"),
                       record_absences=True), 201)
    assert [(e["member_id"], e["rule_code"]) for e in body["entries"]][-1:] == \
        [(world.members["a4"], "N01")]


def test_a_member_at_the_items_cap_is_recorded_and_named(world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2026-01-05", quantity=4)  # 8: the cap
    world.entry("sec_a", "a2", "P01", "2026-01-05", quantity=3)  # 6
    body = ok(register(world, rule_code="P01", present=ids(world, "a1", "a2")), 201)
    assert len(body["entries"]) == 2
    assert body["capped"] == ids(world, "a1")
    assert score(world, "a1") == 8 and score(world, "a2") == 8


def test_the_same_register_sent_twice_records_once(world: World) -> None:
    send = {"present": ids(world, "a1", "a2"), "excused": ids(world, "a3"),
            "record_absences": True, "note": "主题党日"}
    first = register(world, **send)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    count = all_entries(world)
    again = register(world, **send)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert all_entries(world) == count
    # The marks in another order are the same register.
    shuffled = send | {"present": list(reversed(send["present"]))}
    assert register(world, **shuffled).headers["Idempotent-Replayed"] == "true"
    # Another note is another register (a second meeting that day).
    other = ok(register(world, **(send | {"note": "主题党日（下午）"})), 201)
    assert all_entries(world) == count + len(other["entries"])
    # Another committee member's identical register is not the first's answer.
    assert "Idempotent-Replayed" not in register(world, "vice_a", **send).headers


def test_once_everything_it_made_is_revoked_the_register_records_again(world: World) -> None:
    send = {"present": ids(world, "a1")}
    first = ok(register(world, **send), 201)
    for e in first["entries"]:
        ok(world.post("vice_a", f"/entries/{e['id']}/revoke", {"reason": "记错了日期"}))
    second = register(world, **send)
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert second.json()["entries"][0]["id"] != first["entries"][0]["id"]


@pytest.mark.parametrize(("who", "org", "status", "code"), [
    ("a1", None, 403, "committee_only"),  # a member of the branch, not of its committee
    ("sec_b", None, 404, "not_found"),  # another branch's committee: outside its scope
    ("sec_a", "b", 404, "not_found"),
    ("sec_a", 10**9, 404, "not_found"),
])
def test_only_the_branchs_committee_records(world: World, who: str, org: Any, status: int,
                                            code: str) -> None:
    target = world.branch_b if org == "b" else org
    before = all_entries(world)
    refused(register(world, who, target, present=[world.members["a1"]]), status, code)
    assert all_entries(world) == before


def test_the_committee_above_and_the_administrator_may_record(world: World) -> None:
    for who in ("party_sec", "admin"):
        body = ok(register(world, who, note=who, present=ids(world, "a1")), 201)
        assert body["entries"][0]["status"] == "approved"


@pytest.mark.parametrize(("change", "code"), [
    ({"present": "1"}, "validation_error"),
    ({"present": ["1"]}, "validation_error"),
    ({"present": [0]}, "validation_error"),
    ({"present": [MAX_ID + 1]}, "validation_error"),
    ({"present": [True]}, "validation_error"),
    ({"present": list(range(1, 1002))}, "validation_error"),
    ({"excused": None}, "validation_error"),
    ({"rule_code": "p02"}, "validation_error"),
    ({"rule_code": None}, "validation_error"),
    ({"occurred_on": 20260108}, "validation_error"),
    ({"occurred_on": "2026-02-30"}, "validation_error"),
    ({"occurred_on": "1999-12-31"}, "year_out_of_range"),
    ({"record_absences": "yes"}, "validation_error"),
    ({"quantity": 0}, "validation_error"),
    ({"note": "a\x00b"}, "validation_error"),
    ({"note": "x" * 1001}, "validation_error"),
    ({"surprise": 1}, "validation_error"),
    ({"occurred_on": "2026-01-11"}, "future_date"),
    ({"rule_code": "P99"}, "unknown_rule"),
    ({"points": 2}, "points_not_allowed"),
    ({"quantity": 101}, "validation_error"),
    # A veto or a deduction reaching the grade line: one member at a time, never a list,
    # with or without the note that each needs.
    ({"rule_code": "V01"}, "one_at_a_time"),
    ({"rule_code": "V01", "note": "受到党纪处分"}, "one_at_a_time"),
    ({"rule_code": "N06", "note": "发表不当言论"}, "one_at_a_time"),
    ({"rule_code": "D01", "points": 10, "note": "理由"}, "one_at_a_time"),
    ({"present": []}, "nothing_to_record"),
    ({"rule_code": "B01", "points": 2, "record_absences": True}, "absences_not_for_item"),
    ({"excused": "a1"}, "register_invalid"),  # present and excused
    ({"present": "twice"}, "register_invalid"),
])
def test_bad_input_is_a_422_never_a_500_and_writes_nothing(world: World, change: dict[str, Any],
                                                           code: str) -> None:
    a1 = world.members["a1"]
    body: dict[str, Any] = {"present": [a1]}
    if change.get("excused") == "a1":
        change = {"excused": [a1]}
    if change.get("present") == "twice":
        change = {"present": [a1, a1]}
    before = all_entries(world)
    refused(register(world, **(body | change)), 422, code)
    assert all_entries(world) == before


@pytest.mark.parametrize("org", ["0", "abc", str(MAX_ID + 1)])
def test_a_bad_org_id_is_a_422(world: World, org: str) -> None:
    answer = world.client.post(f"/api/v1/orgs/{org}/attendance", json={
        "rule_code": "P02", "occurred_on": DAY, "present": [world.members["a1"]]},
        headers=world.as_("sec_a"))
    refused(answer, 422, "validation_error")


def test_not_json_is_a_422(world: World) -> None:
    answer = world.client.post(f"/api/v1/orgs/{world.branch_a}/attendance", content=b"\xff{",
                               headers=world.as_("sec_a") | {"content-type": "application/json"})
    refused(answer, 422)


def test_the_openapi_lists_the_registers_codes(world: World) -> None:
    spec = world.client.get("/openapi.json").json()
    answers = spec["paths"]["/api/v1/orgs/{org_id}/attendance"]["post"]["responses"]
    assert set(answers) >= {"201", "401", "403", "404", "409", "413", "422"}
    for code in ("register_invalid", "nothing_to_record", "note_required", "member_left",
                 "not_in_branch", "future_date"):
        assert code in answers["422"]["description"], code
    assert "quarter_locked" in answers["409"]["description"]
    assert "committee_only" in answers["403"]["description"]
