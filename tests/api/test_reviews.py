"""Review sheets: who is on them, reopening after an objection, objections' scope."""

from __future__ import annotations

from tests.api.support import EARLY_REASON, NO_NOTICE, World, ok, refused


def names(review: dict[str, object]) -> set[str]:
    return {line["name"] for line in review["items"]}  # type: ignore[attr-defined,index]


def test_a_late_joiner_is_on_the_sheets_of_quarters_after_joining_only(world: World) -> None:
    world.add_member("newcomer", world.branch_a, joined_on="2025-05-20")
    q1 = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2025, "quarter": 1}), 201)
    q2 = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2025, "quarter": 2}), 201)
    assert "newcomer" not in names(q1) and "newcomer" in names(q2)
    refused(world.put("sec_a", f"/reviews/{q1['id']}/scores",
                      {"scores": {str(world.members["newcomer"]): 5}}), 422, "unknown_member")
    # A member who joins after publication does not appear on the published sheet.
    ok(world.post("sec_a", f"/reviews/{q1['id']}/publish", NO_NOTICE))
    world.add_member("latecomer", world.branch_a, joined_on="2025-01-05")
    assert "latecomer" not in names(ok(world.get("sec_a", f"/reviews/{q1['id']}")))


def test_reopen_after_an_upheld_objection_corrects_the_score(world: World) -> None:
    a2 = world.members["a2"]
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": {str(a2): 3}}))
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish",
                  {"notice_days": 3, "reason": EARLY_REASON}))
    refused(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": {str(a2): 5}}),
            409, "review_not_draft")
    objection = ok(world.post("a2", f"/reviews/{review['id']}/objections",
                              {"text": "评议分偏低, 我全勤"}), 201)
    # Another member sees only their own objections; a2 cannot resolve their own.
    assert ok(world.get("a1", f"/reviews/{review['id']}/objections")) == []
    assert len(ok(world.get("a2", f"/reviews/{review['id']}/objections"))) == 1
    refused(world.post("a2", f"/objections/{objection['id']}/resolve",
                       {"response": "同意"}), 403)
    # b1 is not in the branch: the review does not exist for them.
    refused(world.post("b1", f"/reviews/{review['id']}/objections", {"text": "x"}), 404)
    reopened = ok(world.post("sec_a", f"/reviews/{review['id']}/reopen"))
    assert (reopened["status"], reopened["notice_until"]) == ("draft", None)
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": {str(a2): 5}}))
    ok(world.post("sec_a", f"/objections/{objection['id']}/resolve",
                  {"response": "核实全勤, 已改为5分"}))
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    final = ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    line = next(i for i in final["items"] if i["member_id"] == a2)
    assert (line["review_score"], line["ytd"], line["delta"]) == (5, 5, 5)
    refused(world.post("sec_a", f"/reviews/{review['id']}/reopen"), 409,
            "review_not_published")


def test_a_review_needs_a_begun_quarter_and_a_branch(world: World) -> None:
    # The clock stands at 2026-01-10: 2026 Q1 has begun, Q2 has not.
    ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews", {"year": 2026, "quarter": 1}), 201)
    refused(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2026, "quarter": 2}), 422, "quarter_not_started")
    refused(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                       {"year": 2026, "quarter": 1}), 409, "review_exists")
    refused(world.post("party_sec", f"/orgs/{world.party}/reviews",
                       {"year": 2025, "quarter": 1}), 422, "not_a_branch")


def test_the_member_score_counts_published_reviews_but_not_drafts(world: World) -> None:
    a1 = world.members["a1"]
    world.entry("sec_a", "a1", "P01", "2025-02-01", quantity=2)
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": {str(a1): 2}}))
    # Draft: the sheet previews 4 + 2, the member's page still shows only the entries.
    assert next(i for i in ok(world.get("sec_a", f"/reviews/{review['id']}"))["items"]
                if i["member_id"] == a1)["ytd"] == 6
    assert ok(world.get("a1", f"/members/{a1}/score", year=2025))["score"] == 4
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", {"notice_days": 5}))
    score = ok(world.get("a1", f"/members/{a1}/score", year=2025))
    assert score["score"] == 6 and score["quarters"][0]["status"] == "published"


def test_a_committee_member_does_not_answer_their_own_objection(world: World) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    own = ok(world.post("sec_a", f"/reviews/{review['id']}/objections",
                        {"text": "我的评议分有误"}), 201)
    # Four eyes, as for an entry about oneself (own_entry).
    body = refused(world.post("sec_a", f"/objections/{own['id']}/resolve",
                              {"response": "自己说了算"}), 403, "own_objection")
    assert "another committee member" in body["detail"]
    assert ok(world.get("sec_a", f"/reviews/{review['id']}"))["open_objections"] == 1
    # Another committee member of the branch, or the committee above, answers it.
    answered = ok(world.post("vice_a", f"/objections/{own['id']}/resolve",
                             {"response": "已核实"}))
    assert (answered["status"], answered["response"]) == ("resolved", "已核实")
