"""A member's notices (GET /api/v1/me/notices, POST /api/v1/me/notices/seen), derived from
entry decisions, published reviews and answered objections. The clock stands at
2026-01-10 02:00 UTC (10:00 in Beijing) and moves a minute per step."""

from __future__ import annotations

from typing import Any

from app.clock import FixedClock
from tests.api.support import EARLY_REASON, World, ok, refused


def notices(world: World, who: str, **params: Any) -> Any:
    return ok(world.get(who, "/me/notices", **params))


def texts(page: Any) -> list[str]:
    return [n["text"] for n in page["items"]]


def step(world: World) -> None:
    world.clock.advance(minutes=1)


def test_decisions_and_publishing_become_notices(world: World, clock: FixedClock) -> None:
    study = world.entry("a1", "a1", "P03", "2025-11-05")["id"]
    lesson = world.entry("a1", "a1", "P01", "2025-11-06")["id"]
    step(world)
    ok(world.post("sec_a", f"/entries/{study}/approve"))
    step(world)
    ok(world.post("sec_a", f"/entries/{lesson}/reject", {"reason": "没有签到记录"}))
    step(world)
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 5}))

    mine = notices(world, "a1")
    # Newest first; 公示 at 02:03 UTC, so the notice period ends 1月15日 10:03 in Beijing.
    assert texts(mine) == [
        "2025年第四季度评议结果已公示，公示期到1月15日 10:03，有异议请在此前提出",
        "您11月6日报的「参加集中学习」没有通过，原因：没有签到记录",
        "您11月5日报的「参加主题党日」已通过，加2分",
    ]
    assert [n["kind"] for n in mine["items"]] == ["review_published", "entry_rejected",
                                                  "entry_approved"]
    assert [n["link"] for n in mine["items"]] == [
        f"/me/results/{review}", "/me/entries?year=2025", "/me/entries?year=2025"]
    assert [n["entry_id"] for n in mine["items"]] == [None, lesson, study]
    assert mine["items"][0]["review_id"] == review
    assert [n["at"] for n in mine["items"]] == [
        "2026-01-10T02:03:00Z", "2026-01-10T02:02:00Z", "2026-01-10T02:01:00Z"]
    assert (mine["total"], mine["unseen"], mine["seen_at"]) == (3, 3, None)
    assert all(n["unseen"] for n in mine["items"])

    # Another branch's member sees none of it; a member of the same branch only the 公示.
    assert notices(world, "b1") == {"items": [], "total": 0, "unseen": 0, "seen_at": None}
    assert texts(notices(world, "a2")) == [texts(mine)[0]]
    # An administrator without a member has no notices.
    assert notices(world, "admin")["total"] == 0

    # 知道了: nothing unseen any more, the notices stay listed.
    seen = ok(world.post("a1", "/me/notices/seen"))
    assert seen == {"seen_at": "2026-01-10T02:03:00Z", "unseen": 0}
    after = notices(world, "a1")
    assert (after["total"], after["unseen"]) == (3, 0)
    assert not any(n["unseen"] for n in after["items"])
    assert notices(world, "a2")["unseen"] == 1  # a2 has not looked

    # A new decision after that: one unseen, the recorded deduction.
    step(world)
    world.entry("sec_a", "a1", "N01", "2025-12-02")
    again = notices(world, "a1")
    assert again["unseen"] == 1
    assert again["items"][0] == again["items"][0] | {
        "kind": "entry_recorded", "unseen": True,
        "text": "支委给您记了12月2日的「无故缺席组织生活」，扣2分"}


def test_objection_answers_and_seen_up_to(world: World, clock: FixedClock) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 5}))
    objection = ok(world.post("a1", f"/reviews/{review}/objections",
                              {"text": "我参加了12月的主题党日"}), 201)["id"]
    step(world)
    ok(world.post("sec_a", f"/objections/{objection}/resolve",
                  {"response": "已核实，评议分改为5分"}))
    step(world)
    world.entry("sec_a", "a1", "P04", "2025-12-01")
    page = notices(world, "a1")
    assert texts(page) == [
        "支委给您记了12月1日的「按时足额交纳党费」，加2分",
        "您对2025年第四季度评议结果的异议，支委已答复：已核实，评议分改为5分",
        "2025年第四季度评议结果已公示，公示期到1月15日 10:00，有异议请在此前提出",
    ]
    assert page["items"][1]["link"] == f"/me/results/{review}"
    assert page["items"][1]["objection_id"] == objection
    assert page["unseen"] == 3
    # Paging: the unseen count is of all notices, not of the page.
    second = notices(world, "a1", limit=1, offset=1)
    assert (texts(second), second["total"], second["unseen"]) == ([texts(page)[1]], 3, 3)

    # Seen up to the answer (what the member was shown): the later entry stays new.
    answered_at = page["items"][1]["at"]
    assert ok(world.post("a1", "/me/notices/seen", {"up_to": answered_at})) == {
        "seen_at": "2026-01-10T02:01:00Z", "unseen": 1}
    # Never moves back; a time in the future counts as now.
    assert ok(world.post("a1", "/me/notices/seen", {"up_to": "2025-01-01T00:00:00+08:00"})
              )["seen_at"] == "2026-01-10T02:01:00Z"
    assert ok(world.post("a1", "/me/notices/seen", {"up_to": "2030-01-01T00:00:00+08:00"})
              ) == {"seen_at": "2026-01-10T02:02:00Z", "unseen": 0}


def test_bad_requests(world: World) -> None:
    refused(world.client.get("/api/v1/me/notices"), 401)
    refused(world.client.post("/api/v1/me/notices/seen"), 401)
    refused(world.post("a1", "/me/notices/seen", {"up_to": "2026-01-10T02:00:00"}), 422,
            "naive_time")
    refused(world.post("a1", "/me/notices/seen", {"up_to": "yesterday"}), 422)
    refused(world.post("a1", "/me/notices/seen", {"until": "2026-01-10T02:00:00Z"}), 422)
    refused(world.get("a1", "/me/notices", limit=0), 422)
    assert notices(world, "a1")["seen_at"] is None  # nothing was written


def test_revoked_entries_and_reopened_reviews(world: World, clock: FixedClock) -> None:
    study = world.entry("a1", "a1", "P03", "2025-11-05")["id"]
    ok(world.post("sec_a", f"/entries/{study}/approve"))
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 5}))
    # Seen now: the approval and the 公示 are old news (the count under the score, which
    # reads only what came after, agrees with the whole list's).
    assert ok(world.post("a1", "/me/notices/seen"))["unseen"] == 0
    step(world)
    # Taken back to draft: no longer news; the approval stays, its revocation is added.
    ok(world.post("sec_a", f"/reviews/{review}/reopen"))
    ok(world.post("sec_a", f"/entries/{study}/revoke", {"reason": "日期记错了"}))
    page = notices(world, "a1")
    assert texts(page) == ["您11月5日的「参加主题党日」已被撤销，原因：日期记错了",
                           "您11月5日报的「参加主题党日」已通过，加2分"]
    assert [n["key"] for n in page["items"]] == [f"entry_revoked:{study}",
                                                 f"entry_approved:{study}"]
    # An entry approved before the look and revoked after it: its revocation alone is new,
    # in the whole list and in the count that reads from the look on.
    assert [n["unseen"] for n in page["items"]] == [True, False] and page["unseen"] == 1
    assert ok(world.post("a1", "/me/notices/seen",
                         {"up_to": "2026-01-10T02:00:00Z"}))["unseen"] == 1
    # Published again: news again, at the new time, with the new notice period.
    step(world)
    ok(world.post("sec_a", f"/reviews/{review}/publish",
                  {"notice_days": 3, "reason": EARLY_REASON}))
    assert texts(notices(world, "a1"))[0] == \
        "2025年第四季度评议结果已公示，公示期到1月13日 10:02，有异议请在此前提出"
    # Beyond 90 days a notice is gone.
    clock.advance(days=91)
    assert notices(world, "a1")["total"] == 0
