"""GET /api/v1/audit, and the claim that every change writes an audit row.

A short life of branch A is played through the API; the log must then hold, in order,
one row per change with the right actor, object and before/after.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.services.integrity import run_checks
from tests.api.support import NO_NOTICE, World, approve_rating, ok, refused

Q_DAY = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}


def audit(world: World, **params: Any) -> list[dict[str, Any]]:
    """The whole (filtered) log, oldest first."""
    page = ok(world.get("admin", "/audit", limit=500, **params))
    assert page["total"] == len(page["items"])
    return list(reversed(page["items"]))


def summary(rows: list[dict[str, Any]]) -> list[tuple[str, str | None, str, int | None]]:
    return [(r["action"], r["actor"], r["object_type"], r["object_id"]) for r in rows]


def play_branch_life(world: World) -> dict[str, Any]:
    """Every kind of change once, through the API; returns the ids involved."""
    m, a = world.members, world.branch_a
    ids: dict[str, Any] = {}
    ok(world.put("admin", "/rules/P07", {"name": "参加志愿服务"}, year=2025))
    ids["recorded"] = world.entry("sec_a", "a1", "P01", Q_DAY[1], quantity=1)["id"]
    ids["reported"] = world.entry("a1", "a1", "P03", Q_DAY[1], note="主题党日")["id"]
    ok(world.post("sec_a", f"/entries/{ids['reported']}/approve"))
    ids["wrong"] = world.entry("a2", "a2", "P02", Q_DAY[1])["id"]
    ok(world.post("vice_a", f"/entries/{ids['wrong']}/reject", {"reason": "无会议记录"}))
    ok(world.post("sec_a", f"/entries/{ids['recorded']}/revoke", {"reason": "记错了人"}))
    ids["reviews"] = []
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ids["reviews"].append(review)
        if quarter == 1:
            ok(world.put("sec_a", f"/reviews/{review}/scores", {"scores": {str(m["a1"]): 4}}))
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        if quarter == 1:
            ids["objection"] = ok(world.post("a1", f"/reviews/{review}/objections",
                                             {"text": "评议分偏低"}), 201)["id"]
            ok(world.post("sec_a", f"/objections/{ids['objection']}/resolve",
                          {"response": "已核实，维持原分"}))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))
    rating = ok(world.post("sec_a", f"/orgs/{a}/ratings", {"year": 2025}), 201)
    ids["rating"] = rating["id"]
    ok(world.patch("sec_a", f"/ratings/{rating['id']}/items/{m['a2']}",
                   {"grade": "basically_qualified", "reason": "年度表现一般"}))
    approve_rating(world, rating["id"], branch="vice_a")
    ids["grant"] = ok(world.post("admin", f"/orgs/{a}/committee", {"member_id": m["a1"]}),
                      201)["id"]
    assert world.client.delete(f"/api/v1/orgs/{a}/committee/{m['a1']}",
                               headers=world.as_("admin")).status_code == 204
    ok(world.patch("sec_a", f"/members/{m['a3']}", {"name": "张三"}))
    return ids


def test_every_change_writes_an_audit_row(world: World, db: Session) -> None:
    setup = audit(world)
    m, a = world.members, world.branch_a
    # The world itself: three organisations, nine members, four committee grants.
    assert [r["action"] for r in setup] == (
        ["account.create_admin"] + ["org.create"] * 3 + ["member.create"] * 9
        + ["committee.grant"] * 4)
    assert all(r["actor"] == "admin" for r in setup[1:]) and setup[0]["actor"] is None
    assert setup[4]["after"]["username"] == "sec_a"
    assert "password_hash" not in setup[4]["after"]

    ids = play_branch_life(world)
    rows = audit(world)[len(setup):]
    entries = (ids["recorded"], ids["reported"], ids["wrong"])
    reviews, grant_id = ids["reviews"], ids["grant"]
    rating_item = next(r["object_id"] for r in rows if r["action"] == "rating.override")
    rule_item_id = rows[1]["object_id"]
    assert isinstance(rule_item_id, int)
    expected = [
        ("rules.create", None, "rule_set", 2025),  # the year's rules, first used
        ("rule.update", "admin", "rule_item", rule_item_id),
        ("entry.create", "sec_a", "entry", entries[0]),
        ("entry.create", "a1", "entry", entries[1]),
        ("entry.approved", "sec_a", "entry", entries[1]),
        ("entry.create", "a2", "entry", entries[2]),
        ("entry.rejected", "vice_a", "entry", entries[2]),
        ("entry.revoked", "sec_a", "entry", entries[0]),
        ("review.create", "sec_a", "review", reviews[0]),
        ("review.scores", "sec_a", "review", reviews[0]),
        ("review.publish", "sec_a", "review", reviews[0]),
        ("objection.create", "a1", "objection", ids["objection"]),
        ("objection.resolve", "sec_a", "objection", ids["objection"]),
        ("review.finalize", "sec_a", "review", reviews[0]),
        *[row for q in (1, 2, 3) for row in (
            ("review.create", "sec_a", "review", reviews[q]),
            ("review.publish", "sec_a", "review", reviews[q]),
            ("review.finalize", "sec_a", "review", reviews[q]))],
        ("rating.create", "sec_a", "rating", ids["rating"]),
        ("rating.override", "sec_a", "rating_item", rating_item),
        ("rating.ballot_open", "vice_a", "rating", ids["rating"]),
        ("rating.ballot_close", "vice_a", "rating", ids["rating"]),
        ("rating.publish", "vice_a", "rating", ids["rating"]),
        ("rating.submit", "vice_a", "rating", ids["rating"]),
        ("rating.approve", "party_sec", "rating", ids["rating"]),
        ("committee.grant", "admin", "role_grant", grant_id),
        ("committee.revoke", "admin", "role_grant", grant_id),
        ("member.update", "sec_a", "member", m["a3"]),
    ]
    assert summary(rows) == expected
    by = {(r["action"], r["object_id"]): r for r in rows}

    # Who, and the object before and after, as parsed JSON objects.
    rules_created = by[("rules.create", 2025)]
    assert rules_created["actor_id"] is None and rules_created["after"]["copied_from"] is None
    assert len(rules_created["after"]["items"]) == 26
    rule = rows[1]
    assert (rule["before"]["code"], rule["before"]["name"], rule["after"]["name"]) == \
        ("P07", "参加志愿服务（每小时）", "参加志愿服务")
    created = by[("entry.create", entries[0])]
    assert created["before"] is None
    assert (created["after"]["status"], created["after"]["points"]) == ("approved", 2)
    assert created["actor_id"] == created["after"]["created_by"]
    approved = by[("entry.approved", entries[1])]
    assert (approved["before"]["status"], approved["after"]["status"]) == ("pending", "approved")
    rejected = by[("entry.rejected", entries[2])]
    assert (rejected["before"]["status"], rejected["after"]["status"],
            rejected["after"]["reason"]) == ("pending", "rejected", "无会议记录")
    revoked = by[("entry.revoked", entries[0])]
    assert (revoked["before"]["status"], revoked["after"]["status"],
            revoked["after"]["reason"]) == ("approved", "revoked", "记错了人")
    scores = by[("review.scores", reviews[0])]
    assert (scores["before"], scores["after"]) == ({str(m["a1"]): None}, {str(m["a1"]): 4})
    published = by[("review.publish", reviews[0])]
    assert (published["before"]["status"], published["after"]["status"]) == \
        ("draft", "published")
    # The published sheet: a1's 4, everyone else's unset score became 5.
    assert published["after"]["scores"][str(m["a1"])] == 4
    assert published["after"]["scores"][str(m["a2"])] == 5
    objection = by[("objection.resolve", ids["objection"])]
    assert (objection["before"]["status"], objection["after"]["status"],
            objection["after"]["response"]) == ("open", "resolved", "已核实，维持原分")
    finalized = by[("review.finalize", reviews[0])]
    assert finalized["after"]["status"] == "finalized"
    # a1: P03 approved (2) + review 4; the revoked P01 no longer counts.
    assert finalized["after"]["final"][str(m["a1"])] == {"score": 4, "ytd": 6, "delta": 6}
    override = by[("rating.override", rating_item)]
    assert (override["before"]["grade"], override["after"]["grade"],
            override["after"]["reason"], override["after"]["member_id"]) == \
        ("unqualified", "basically_qualified", "年度表现一般", m["a2"])
    approve = by[("rating.approve", ids["rating"])]
    assert (approve["before"]["status"], approve["after"]["status"]) == ("submitted",
                                                                         "approved")
    closed = by[("rating.ballot_close", ids["rating"])]
    assert closed["after"]["ballot"] == "closed" and closed["after"]["tally"] == {
        str(m[name]): dict.fromkeys(
            ("excellent", "qualified", "basically_qualified", "unqualified", "abstain"), 0)
        for name in ("sec_a", "vice_a", "a1", "a2", "a3", "a4")}
    grant = by[("committee.grant", grant_id)]
    revoke = by[("committee.revoke", grant_id)]
    assert grant["after"]["member_id"] == revoke["before"]["member_id"] == m["a1"]
    assert (grant["before"], revoke["after"]) == (None, None)
    assert revoke["before"]["org_id"] == a
    member = by[("member.update", m["a3"])]
    assert (member["before"]["name"], member["after"]["name"]) == ("a3", "张三")

    # And the chain those rows make is whole, and everything else checks out.
    report = run_checks(db, world.clock.now())
    assert report.ok, report.problems
    assert report.checked["audit rows"] == len(setup) + len(rows)


def test_filters_and_paging(world: World) -> None:
    m = world.members
    world.clock.advance(hours=1)
    start = world.clock.now()  # after the world was built
    first = world.entry("sec_a", "a1", "P01", Q_DAY[1])["id"]
    world.clock.advance(hours=1)
    middle = world.clock.now()
    reported = world.entry("a2", "a2", "P02", Q_DAY[1])["id"]
    ok(world.post("vice_a", f"/entries/{reported}/approve"))
    world.clock.advance(hours=1)
    ok(world.patch("sec_a", f"/members/{m['a4']}", {"name": "李四"}))

    assert summary(audit(world, action="entry.")) == [
        ("entry.create", "sec_a", "entry", first), ("entry.create", "a2", "entry", reported),
        ("entry.approved", "vice_a", "entry", reported)]
    assert [r["object_id"] for r in audit(world, action="entry.create")] == [first, reported]
    assert audit(world, action="entry") == []  # exact unless it ends with a dot
    assert audit(world, action="entry.%") == []  # a prefix is literal, not a pattern
    assert summary(audit(world, object_type="entry", object_id=reported)) == [
        ("entry.create", "a2", "entry", reported),
        ("entry.approved", "vice_a", "entry", reported)]
    vice_a = audit(world, action="entry.approved")[0]["actor_id"]
    assert summary(audit(world, actor_id=vice_a)) == [
        ("entry.approved", "vice_a", "entry", reported)]
    assert [r["action"] for r in audit(world, since=start.isoformat())] == [
        "rules.create", "entry.create", "entry.create", "entry.approved", "member.update"]
    assert [r["action"] for r in audit(world, since=start.isoformat(),
                                       until=middle.isoformat())] == [
        "rules.create", "entry.create"]
    # Time zones are honoured: 10:00+08:00 is 02:00 UTC.
    beijing = (middle + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    assert [r["action"] for r in audit(world, since=beijing)] == [
        "entry.create", "entry.approved", "member.update"]

    everything = ok(world.get("admin", "/audit", limit=500))
    newest_first = [r["id"] for r in everything["items"]]
    assert newest_first == sorted(newest_first, reverse=True)
    assert everything["items"][0]["action"] == "member.update"
    page = ok(world.get("admin", "/audit", limit=2, offset=1))
    assert page["total"] == everything["total"]
    assert [r["id"] for r in page["items"]] == newest_first[1:3]
    assert ok(world.get("admin", "/audit", limit=2, offset=10_000)) == {
        "items": [], "total": everything["total"], "next": None, "resume": None}


@pytest.mark.parametrize("who", ["a1", "sec_a", "party_sec"])
def test_only_administrators_read_the_log(world: World, who: str) -> None:
    refused(world.get(who, "/audit"), 403, "admin_only")


def test_anonymous_is_401(world: World) -> None:
    refused(world.client.get("/api/v1/audit"), 401)


@pytest.mark.parametrize("params", [
    {"limit": 501}, {"limit": 0}, {"offset": -1}, {"since": "2026-01-01T00:00:00"},
    {"until": "yesterday"}, {"actor_id": "me"}, {"object_id": "1.5"}, {"action": "x" * 51},
])
def test_bad_queries_are_422(world: World, params: dict[str, Any]) -> None:
    refused(world.get("admin", "/audit", **params), 422, "validation_error")


def test_huge_numbers_are_no_500(world: World) -> None:
    for params in ({"actor_id": 10**20}, {"object_id": 10**20},
                   {"since": "9999-12-31T23:59:59-12:00"}, {"until": "0001-01-01T00:00:00+14:00"}):
        answer = world.get("admin", "/audit", **params)
        assert answer.status_code in (200, 422), (params, answer.text)


def test_a_hand_edited_row_is_shown_not_a_500(world: World, db: Session) -> None:
    import sqlalchemy as sa

    db.execute(sa.text("UPDATE audit_log SET after = 'not json' WHERE action = 'org.create'"))
    rows = audit(world, action="org.create")
    assert rows and all(r["after"] == {"unreadable": "not json"} for r in rows)


def test_documented_in_openapi(world: World) -> None:
    operation = world.client.get("/openapi.json").json()["paths"]["/api/v1/audit"]["get"]
    assert {"401", "403", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {
        "actor_id", "action", "object_type", "object_id", "since", "until", "limit", "offset"}
