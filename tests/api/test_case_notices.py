"""A disposal case's notices (appraisal.md §5): the member it is about is told when it is
filed, when the level above decides it (what that means for them) and a month before the
end of a 限期改正; no one else is told of it. The clock stands at 2026-01-10 (Beijing)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.case_scene import (
    DECIDE,
    INVESTIGATE,
    PREREVIEW,
    VOTE,
    file_case,
    propose,
    reach,
    step,
    talk,
)
from tests.api.support import World, ok
from tests.web.support import web_login

CASE_KINDS = ("case_filed", "case_decided", "case_deadline")
FILED = ("支部委员会启动了关于您的组织处置（理由：失去联系六个月以上）。每一步都会记录在案；"
         "支部大会表决前，您可以提出申辩。")


def case_notices(world: World, who: str) -> list[dict[str, Any]]:
    """Who's notices about cases (kind, text, link, case id), newest first."""
    page = ok(world.get(who, "/me/notices"))
    return [{k: n[k] for k in ("kind", "text", "link", "case_id")}
            for n in page["items"] if n["kind"] in CASE_KINDS]


def nobody_else(world: World) -> None:
    for who in ("a1", "a2", "sec_a", "vice_a", "party_sec", "b1"):
        assert case_notices(world, who) == [], who


def test_the_member_hears_of_the_filing_the_decision_and_the_deadline(
        world: World, client: TestClient) -> None:
    case = ok(file_case(world), 201)["id"]
    link = f"/me/cases/{case}"
    filed = {"kind": "case_filed", "text": FILED, "link": link, "case_id": case}
    assert case_notices(world, "a4") == [filed]
    web_login(client, "a4")  # the notices page says it too; the home page has one line
    html = client.get("/me/notices").text
    assert "支部委员会启动了关于您的组织处置" in html and f'href="{link}"' in html
    assert "1条新消息" in client.get("/me").text
    nobody_else(world)
    world.clock.advance(minutes=1)
    ok(world.get("a4", "/me/notices"))
    case2 = reach(world, "decided", "rectify", member="a3")  # another member's case
    assert case_notices(world, "a4") == [filed]  # not a3's
    decided = {"kind": "case_decided", "link": f"/me/cases/{case2}", "case_id": case2,
               "text": "上级党委批准对您限期改正（6个月），改正期限至2026年7月10日。请在期限内"
                       "改正；期满后，支部委员会将考察您的改正情况。"}
    assert case_notices(world, "a3")[0] == decided
    assert [n["kind"] for n in case_notices(world, "a3")] == ["case_decided", "case_filed"]
    nobody_else(world)

    # 2026-06-09 (Beijing): not yet; 2026-06-10, a month before 2026-07-10: told.
    world.clock.advance(days=150)
    assert [n["kind"] for n in case_notices(world, "a3")] == []  # the rest is 90 days old
    world.clock.advance(days=1)
    deadline = {"kind": "case_deadline", "link": f"/me/cases/{case2}", "case_id": case2,
                "text": "您的限期改正将于2026年7月10日期满，还有一个月。期满后，支部委员会"
                        "将对您的改正情况进行考察。"}
    assert case_notices(world, "a3") == [deadline]
    page = ok(world.get("a3", "/me/notices"))
    assert page["items"][0]["kind"] == "case_deadline" and page["items"][0]["unseen"]
    nobody_else(world)
    assert case_notices(world, "a4") == []  # a4's filing is long past


def test_a_term_of_one_month_is_not_reminded_at_the_decision(world: World,
                                                             client: TestClient) -> None:
    """The decision of a one-month term says its deadline: the month before the deadline is
    already past when it is decided, and no second notice comes, then or later."""
    case = ok(file_case(world), 201)["id"]
    for who, body in (INVESTIGATE, talk(world), propose("rectify", months=1), PREREVIEW,
                      VOTE, DECIDE):
        ok(step(world, case, who, body))
    assert [n["kind"] for n in case_notices(world, "a4")] == ["case_decided", "case_filed"]
    world.clock.advance(days=20)
    assert [n["kind"] for n in case_notices(world, "a4")] == ["case_decided", "case_filed"]
    web_login(client, "a4")
    assert "关于您的处置案件" in client.get("/me/notices").text  # the page names cases
    web_login(client, "a1")
    assert "关于您的处置案件" not in client.get("/me/notices").text  # to a member with one


def test_a_refusal_and_a_persuasion_in_words(world: World) -> None:
    refused = reach(world, "voted", member="a3")
    ok(step(world, refused, "party_sec", {"kind": "decision", "decision": "refuse",
                                          "note": "证据不足"}))
    assert case_notices(world, "a3")[0]["text"] == \
        "上级党委没有批准对您的处置意见，案件已办结，不对您作处置。"
    persuaded = reach(world, "voted", "persuade", member="a4")
    ok(step(world, persuaded, *DECIDE))
    assert case_notices(world, "a4")[0] == {
        "kind": "case_decided", "link": f"/me/cases/{persuaded}", "case_id": persuaded,
        "text": "上级党委批准劝您退党。请向支部委员会表明您是否同意退党；如不同意，支部可以"
                "按程序予以除名。"}
    nobody_else(world)
