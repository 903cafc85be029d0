"""A whole year of branch A played through the API, numbers worked out by hand from docs/scoring.md.

Members of branch A and their 2025 (P = positive items, reviews Q1..Q4):
  a1      P01 3+2 (cap 8), P02 4, P04 1, P03 2, P06 1, P05 4, P07 10 h (cap 8), P08 4, P09 4,
          P10 2, B01 5+4+3 (cap 10); reviews 5 5 5 5
          ytd 17, 32, 58, 92
  a2      P01 4, P03 4 | P04 4, P05 4, N01 1 | P06 2, P08 4 | P09 4, P10 2, P02 8, B01 3;
          reviews 4 5 5 5 -> ytd 20, 39, 60, 92 (deducted 2)
  a3      P01 4 | P02 4 | V01 | P03 1; reviews 5 5 3 5 -> ytd 13, 22, 0, 0 (vetoed in Q3)
  a4      P04 1; reviews left unset (5 at publication) -> 7, 12, 17, 22; exempt (免评)
  sec_a   P01 4, P02 8, P03 4 | P04 4, P05 4 | N06 1 (10 in one entry), P06 2 |
          P07 8, P08 4, P09 4, P10 2; reviews 5 5 5 5 -> 29, 50, 53, 90
  vice_a  P01 2 (self-report) | P03 3 (after a revoked wrong one) | D01 5, P05 2 |
          P07 8, P08 4, P09 4, P10 2, P02 8; reviews unset(5) 4 3 5 -> 9, 19, 21, 66
Grades, n = 5 (a4 exempt), at most ⌊5/3⌋ = 1 excellent: a1 and a2 tie on 92, a1 has
deducted less -> a1 excellent, a2 qualified; sec_a 90 but one entry deducted 10 ->
basically qualified; vice_a 66 -> basically qualified; a3 vetoed -> unqualified.
"""

from __future__ import annotations

from typing import Any

from tests.api.support import NO_NOTICE, World, approve_rating, ok, refused

Q_DATES = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}

# (quarter, member, rule code, quantity or points) recorded by the committee.
RECORDS: list[tuple[int, str, str, int]] = [
    (1, "a1", "P01", 3), (1, "a1", "P02", 4), (1, "a1", "P04", 1),
    (2, "a1", "P01", 2), (2, "a1", "P03", 2), (2, "a1", "P06", 1),
    (3, "a1", "P05", 4), (3, "a1", "P07", 10), (3, "a1", "B01", 5),
    (4, "a1", "P08", 4), (4, "a1", "P09", 4), (4, "a1", "P10", 2), (4, "a1", "B01", 3),
    (1, "a2", "P01", 4), (1, "a2", "P03", 4),
    (2, "a2", "P04", 4), (2, "a2", "P05", 4), (2, "a2", "N01", 1),
    (3, "a2", "P06", 2), (3, "a2", "P08", 4),
    (4, "a2", "P09", 4), (4, "a2", "P10", 2), (4, "a2", "P02", 8), (4, "a2", "B01", 3),
    (1, "a3", "P01", 4), (2, "a3", "P02", 4), (3, "a3", "V01", 0), (4, "a3", "P03", 1),
    (1, "a4", "P04", 1),
    (1, "sec_a", "P01", 4), (1, "sec_a", "P02", 8), (1, "sec_a", "P03", 4),
    (2, "sec_a", "P04", 4), (2, "sec_a", "P05", 4),
    (3, "sec_a", "N06", 1), (3, "sec_a", "P06", 2),
    (4, "sec_a", "P07", 8), (4, "sec_a", "P08", 4), (4, "sec_a", "P09", 4),
    (4, "sec_a", "P10", 2),
    (2, "vice_a", "P03", 3),
    (3, "vice_a", "D01", 5), (3, "vice_a", "P05", 2),
    (4, "vice_a", "P07", 8), (4, "vice_a", "P08", 4), (4, "vice_a", "P09", 4),
    (4, "vice_a", "P10", 2), (4, "vice_a", "P02", 8),
]
REVIEW_SCORES = {
    1: {"a1": 5, "a2": 4, "a3": 5, "sec_a": 5},
    2: {"a1": 5, "a2": 5, "a3": 5, "sec_a": 5, "vice_a": 4},
    3: {"a1": 5, "a2": 5, "a3": 3, "sec_a": 5, "vice_a": 3},
    4: {"a1": 5, "a2": 5, "a3": 5, "sec_a": 5, "vice_a": 5},
}
YTD = {
    "a1": [17, 32, 58, 92], "a2": [20, 39, 60, 92], "a3": [13, 22, 0, 0],
    "a4": [7, 12, 17, 22], "sec_a": [29, 50, 53, 90], "vice_a": [9, 19, 21, 66],
}


def record(world: World, quarter: int, member: str, code: str, amount: int) -> dict[str, Any]:
    # Entries about sec_a are recorded by the other committee member.
    who = "vice_a" if member == "sec_a" else "sec_a"
    extra: dict[str, Any] = {}
    if code in ("B01", "D01"):
        extra["points"] = amount
    elif not code.startswith("V"):
        extra["quantity"] = amount
    if code.startswith("V") or code == "N06":  # a veto or 10 points off says why (issue 17)
        extra["note"] = "经支委会核实"
    entry: dict[str, Any] = world.entry(who, member, code, Q_DATES[quarter], **extra)
    assert entry["status"] == "approved"
    return entry


def run_quarter(world: World, quarter: int) -> dict[str, Any]:
    """Record the quarter, review it, publish with 5 days' notice, wait and finalize."""
    for q, member, code, amount in RECORDS:
        if q == quarter:
            record(world, q, member, code, amount)
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": quarter}), 201)
    scores = {str(world.members[m]): s for m, s in REVIEW_SCORES[quarter].items()}
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": scores}))
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", {"notice_days": 5}))
    world.clock.advance(days=6)
    return ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))  # type: ignore[no-any-return]


def ytd_by_name(review: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {line["name"]: (line["ytd"], line["delta"]) for line in review["items"]}


def expected_line(member: str, quarter: int) -> tuple[int, int]:
    ytd = YTD[member]
    previous = ytd[quarter - 2] if quarter > 1 else 0
    return ytd[quarter - 1], ytd[quarter - 1] - previous


def test_whole_year_of_a_branch(world: World) -> None:
    a = world.branch_a
    branch_names = ["sec_a", "vice_a", "a1", "a2", "a3", "a4"]

    # Q1, step by step: self-reports, approval, a rejection, a refused publication.
    reported = world.entry("vice_a", "vice_a", "P01", Q_DATES[1], quantity=2,
                           note="参加镇党委集中学习两次")
    assert reported["status"] == "pending" and reported["points"] == 4
    refused(world.post("vice_a", f"/entries/{reported['id']}/approve"), 403, "own_entry")
    wrong = world.entry("vice_a", "vice_a", "P10", Q_DATES[1])
    for q, member, code, amount in RECORDS:
        if q == 1:
            record(world, q, member, code, amount)
    review = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 1}), 201)
    assert review["status"] == "draft"
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": {
        str(world.members[m]): s for m, s in REVIEW_SCORES[1].items()}}))
    refused(world.post("sec_a", f"/reviews/{review['id']}/publish"), 409, "pending_entries")
    assert ok(world.post("sec_a", f"/entries/{reported['id']}/approve"))["status"] == "approved"
    rejected = ok(world.post("sec_a", f"/entries/{wrong['id']}/reject",
                             {"reason": "无相关任务记录"}))
    assert (rejected["status"], rejected["reason"]) == ("rejected", "无相关任务记录")

    # A member cannot see the draft; once published (公示) they can, and object.
    refused(world.get("a2", f"/reviews/{review['id']}"), 404)
    published = ok(world.post("sec_a", f"/reviews/{review['id']}/publish",
                              {"notice_days": 5}))
    assert published["status"] == "published"
    lines = {line["name"]: line for line in published["items"]}
    assert lines["vice_a"]["review_score"] == 5 and lines["a4"]["review_score"] == 5
    assert ytd_by_name(ok(world.get("a2", f"/reviews/{review['id']}"))) == {
        name: expected_line(name, 1) for name in branch_names}
    objection = ok(world.post("a2", f"/reviews/{review['id']}/objections",
                              {"text": "一季度我参加了三次主题党日, 记录少了一次"}), 201)
    assert objection["status"] == "open"
    refused(world.post("sec_a", f"/reviews/{review['id']}/finalize"), 409, "objections_open")
    resolved = ok(world.post("sec_a", f"/objections/{objection['id']}/resolve",
                             {"response": "经核对签到表, 第三次为2024年12月, 不计入本季度"}))
    assert resolved["status"] == "resolved"
    refused(world.post("sec_a", f"/reviews/{review['id']}/finalize"), 409, "notice_running")
    world.clock.advance(days=6)
    q1 = ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    assert q1["status"] == "finalized"

    # Q1 is locked, and so is the 2025 rule set.
    refused(world.post("sec_a", "/entries", {"member_id": world.members["a1"],
            "rule_code": "P03", "occurred_on": Q_DATES[1]}), 409, "quarter_locked")
    some_q1_entry = ok(world.get("sec_a", "/entries", member_id=world.members["a1"],
                                 year=2025, quarter=1))["items"][0]
    refused(world.post("sec_a", f"/entries/{some_q1_entry['id']}/revoke",
                       {"reason": "试图修改已确认季度"}), 409, "quarter_locked")
    refused(world.put("admin", "/rules/P01", {"points": 3}, year=2025), 409, "rules_frozen")

    # Q2: a wrong record is revoked (kept, not counted) and recorded again.
    mistaken = world.entry("sec_a", "vice_a", "P03", Q_DATES[2], quantity=5)
    revoked = ok(world.post("sec_a", f"/entries/{mistaken['id']}/revoke",
                            {"reason": "次数录错, 应为3次, 见更正记录"}))
    assert revoked["status"] == "revoked"
    q2 = run_quarter(world, 2)
    assert ytd_by_name(q2) == {name: expected_line(name, 2) for name in branch_names}

    # Q3 cannot be finalized before... it can, Q2 is final; Q4 cannot go before Q3.
    q3 = run_quarter(world, 3)
    assert ytd_by_name(q3) == {name: expected_line(name, 3) for name in branch_names}

    # Q4 in draft: the sheet previews with draft scores, the member's score does not.
    for q, member, code, amount in RECORDS:
        if q == 4:
            record(world, q, member, code, amount)
    a1_self = world.entry("a1", "a1", "B01", Q_DATES[4], points=4, note="带头清理河道")
    ok(world.post("vice_a", f"/entries/{a1_self['id']}/approve"))
    q4 = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 4}), 201)
    assert ytd_by_name(q4)["a1"] == (92, 34)
    current = ok(world.get("a1", f"/members/{world.members['a1']}/score", year=2025))
    # 62 positive + 15 reviews (Q1..Q3 only) + bonus 12 capped at 10.
    assert (current["score"], current["provisional"], current["grade"]) == (87, True, None)
    refused(world.post("sec_a", f"/orgs/{a}/ratings", {"year": 2025}), 409,
            "quarters_not_finalized")
    ok(world.put("sec_a", f"/reviews/{q4['id']}/scores", {"scores": {
        str(world.members[m]): s for m, s in REVIEW_SCORES[4].items()}}))
    ok(world.post("sec_a", f"/reviews/{q4['id']}/publish", NO_NOTICE))
    q4 = ok(world.post("sec_a", f"/reviews/{q4['id']}/finalize"))
    assert ytd_by_name(q4) == {name: expected_line(name, 4) for name in branch_names}

    # a1's year, item by item: raw points and what counts after the caps.
    score = ok(world.get("a1", f"/members/{world.members['a1']}/score", year=2025))
    assert [(q["ytd"], q["delta"], q["status"]) for q in score["quarters"]] == [
        (17, 17, "finalized"), (32, 15, "finalized"), (58, 26, "finalized"),
        (92, 34, "finalized")]
    items = {i["code"]: (i["points"], i["counted"]) for i in score["items"]}
    assert items["P01"] == (10, 8) and items["P07"] == (10, 8) and items["B01"] == (12, 10)
    assert (score["score"], score["stars"], score["vetoed"]) == (92, 4, False)
    vetoed = ok(world.get("sec_a", f"/members/{world.members['a3']}/score", year=2025))
    assert (vetoed["score"], vetoed["stars"], vetoed["vetoed"]) == (0, 0, True)

    # Exemption needs a reason; then the annual rating.
    refused(world.patch("sec_a", f"/members/{world.members['a4']}", {"exempt": True}), 422,
            "exempt_reason_required")
    # 免评 is per year (appraisal.md §1): PATCH's exempt is this year's (2026), the 2025
    # rating reads 2025's.
    ok(world.put("sec_a", f"/members/{world.members['a4']}/exemptions/2025",
                 {"reason_kind": "bedridden", "note": "年老体弱, 长期卧床",
                  "parent_consent_on": "2025-12-01", "meeting_on": "2025-12-10"}))
    rating = ok(world.post("sec_a", f"/orgs/{a}/ratings", {"year": 2025}), 201)
    assert (rating["rated"], rating["excellent_limit"]) == (5, 1)
    by_name = {i["name"]: i for i in rating["items"]}
    assert {n: (i["score"], i["stars"], i["proposed_grade"]) for n, i in by_name.items()} == {
        "sec_a": (90, 4, "basically_qualified"), "vice_a": (66, 1, "basically_qualified"),
        "a1": (92, 4, "excellent"), "a2": (92, 4, "qualified"),
        "a3": (0, 0, "unqualified"), "a4": (22, 0, "exempt")}
    rid = rating["id"]
    refused(world.patch("sec_a", f"/ratings/{rid}/items/{world.members['a2']}",
                        {"grade": "excellent", "reason": "表现突出"}), 409, "excellent_cap")
    refused(world.patch("sec_a", f"/ratings/{rid}/items/{world.members['a3']}",
                        {"grade": "qualified", "reason": "已改正"}), 409, "vetoed_member")
    refused(world.patch("sec_a", f"/ratings/{rid}/items/{world.members['vice_a']}",
                        {"grade": "qualified", "reason": " "}), 422)
    refused(world.get("a1", f"/ratings/{rid}"), 404)
    changed = ok(world.patch("sec_a", f"/ratings/{rid}/items/{world.members['vice_a']}",
                             {"grade": "qualified", "reason": "扣分系驻村期间缺席, 已说明"}))
    line = next(i for i in changed["items"] if i["name"] == "vice_a")
    assert (line["proposed_grade"], line["grade"]) == ("basically_qualified", "qualified")
    assert line["reason"] == "扣分系驻村期间缺席, 已说明"
    approved = approve_rating(world, rid)
    assert approved["status"] == "approved"
    refused(world.post("party_sec", f"/ratings/{rid}/approve"), 409, "rating_not_submitted")
    refused(world.patch("sec_a", f"/ratings/{rid}/items/{world.members['a2']}",
                        {"grade": "qualified", "reason": "x"}), 409, "rating_final")

    # The member now sees the final result.
    final = ok(world.get("a1", f"/members/{world.members['a1']}/score", year=2025))
    assert (final["score"], final["provisional"], final["grade"]) == (92, False, "excellent")
    assert ok(world.get("a1", f"/ratings/{rid}"))["status"] == "approved"
