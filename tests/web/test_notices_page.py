"""The 消息 line on /me, the /me/notices page, 知道了 (through the page cache), and the
committee home's counts of what waits. The clock stands at 2026-01-10 02:00 UTC."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.clock import FixedClock
from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import form_post, web_login
from tests.web.test_page_cache import look

APPROVED = "您11月5日报的「参加主题党日」已通过，加2分"
REJECTED = "您11月6日报的「参加集中学习」没有通过，原因：没有签到记录"
_UP_TO = re.compile(r'name="up_to" value="([^"]*)"')


def block(page: str) -> str:
    """The 消息 line of /me, "2条新消息 ›" ('' when there is none)."""
    match = re.search(r'<a class="card notices-line" href="/me/notices">(.*?)</a>', page, re.S)
    return match.group(1).strip() if match else ""


def nav_badge(page: str) -> str | None:
    match = re.search(r'href="/me"[^>]*>我的积分 <span class="nav-badge"[^>]*>(\d+)</span>', page)
    return match.group(1) if match else None


def decide_two(world: World, clock: FixedClock) -> None:
    study = world.entry("a1", "a1", "P03", "2025-11-05")["id"]
    lesson = world.entry("a1", "a1", "P01", "2025-11-06")["id"]
    clock.advance(minutes=1)
    ok(world.post("sec_a", f"/entries/{study}/approve"))
    clock.advance(minutes=1)
    ok(world.post("sec_a", f"/entries/{lesson}/reject", {"reason": "没有签到记录"}))


def test_the_home_page_counts_new_notices_until_seen(world: World, client: TestClient,
                                                    clock: FixedClock) -> None:
    decide_two(world, clock)
    token = web_login(client, "a1")
    page, _fresh = look(client, "/me")
    # One line under the score, to the notices page: the score comes first (issue 17).
    assert block(page) == "2条新消息 ›"
    assert page.index('class="big score-number"') < page.index('class="card notices-line"')
    assert APPROVED not in page and REJECTED not in page and "知道了" not in page
    assert nav_badge(page) == "2"
    # Kept, and still the same page: a GET of either page changes nothing.
    assert look(client, "/me") == (page, False)
    notices_page = client.get("/me/notices").text
    assert notices_page.count('class="badge badge-new"') == 2
    assert "有2条新消息" in notices_page
    # Newest first, one line each, with the link to the records.
    assert notices_page.index(REJECTED) < notices_page.index(APPROVED)
    assert 'href="/me/entries?year=2025"' in notices_page
    assert look(client, "/me") == (page, False)

    # 知道了 on the notices page, up to the newest notice it showed: the line is gone.
    up_to = _UP_TO.search(notices_page)
    assert up_to and up_to.group(1) == "2026-01-10T02:02:00+00:00"
    answer = form_post(client, "/me/notices/seen", token,
                       {"up_to": up_to.group(1), "next": "/me/notices"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/me/notices")
    after, fresh = look(client, "/me")
    assert fresh, "the page kept before 知道了 was answered"
    assert block(after) == "" and nav_badge(after) is None
    assert 'href="/me/notices">查看消息' in after
    assert look(client, "/me") == (after, False)
    # The notices page still lists them, no longer new.
    listed = client.get("/me/notices").text
    assert APPROVED in listed and REJECTED in listed and "badge-new" not in listed
    assert "知道了" not in listed

    # A new decision: one new notice, counted in the singular's words.
    clock.advance(minutes=1)
    world.entry("sec_a", "a1", "N01", "2025-12-02")
    again, fresh = look(client, "/me")
    assert fresh and block(again) == "1条新消息 ›" and nav_badge(again) == "1"
    assert "支委给您记了12月2日的「无故缺席组织生活」，扣2分" in client.get("/me/notices").text


def test_seen_needs_the_form_token_and_a_real_time(world: World, client: TestClient,
                                                  clock: FixedClock) -> None:
    decide_two(world, clock)
    token = web_login(client, "a1")
    # A refused form post goes back to the page with the message on it, nothing written.
    answer = client.post("/me/notices/seen", data={"up_to": "", "next": "/me"},
                         follow_redirects=False, headers={"Referer": "http://testserver/me"})
    assert (answer.status_code, answer.headers["location"]) == (303, "/me")
    assert "页面已过期，请刷新后重试。" in client.get("/me").text
    bad = client.post("/me/notices/seen", data={"up_to": "not a time", "csrf_token": token},
                      headers={"Referer": "http://testserver/me/notices"},
                      follow_redirects=False)
    assert (bad.status_code, bad.headers["location"]) == (303, "/me/notices")
    page = client.get("/me/notices").text
    assert "页面已过期，请刷新后再点“知道了”。" in page and "有2条新消息" in page
    assert ok(world.get("a1", "/me/notices"))["unseen"] == 2
    # An outside address is not followed.
    away = form_post(client, "/me/notices/seen", token, {"up_to": "", "next": "//evil.example"})
    assert (away.status_code, away.headers["location"]) == (303, "/me")
    assert ok(world.get("a1", "/me/notices"))["unseen"] == 0


def test_a_member_of_another_branch_sees_no_block(world: World, client: TestClient,
                                                  clock: FixedClock) -> None:
    decide_two(world, clock)
    web_login(client, "b1")
    page = client.get("/me").text
    assert block(page) == "" and nav_badge(page) is None
    assert "最近没有消息" in client.get("/me/notices").text


def count(page: str, label: str) -> int | None:
    match = re.search(rf'{label} <strong class="cm-count">(\d+)</strong>', page)
    return int(match.group(1)) if match else None


def test_the_committee_home_counts_what_waits(world: World, client: TestClient) -> None:
    # Branch A: Q4 published with an open objection; a2's report of January waits.
    q4a = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                        {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{q4a}/publish", NO_NOTICE))
    ok(world.post("a1", f"/reviews/{q4a}/objections", {"text": "分数不对"}), 201)
    world.entry("a2", "a2", "P03", "2026-01-05")
    # Branch B: Q4 published, its notice over and no objection (ready); Q3 still a draft.
    q4b = ok(world.post("sec_b", f"/orgs/{world.branch_b}/reviews",
                        {"year": 2025, "quarter": 4}), 201)["id"]
    ok(world.post("sec_b", f"/reviews/{q4b}/publish", NO_NOTICE))
    q3b = ok(world.post("sec_b", f"/orgs/{world.branch_b}/reviews",
                        {"year": 2025, "quarter": 3}), 201)["id"]

    web_login(client, "party_sec")
    page = client.get("/committee").text
    assert "等您处理" in page
    assert [count(page, label) for label in (
        "待审核的记录", "待答复的异议", "待公示的评议", "公示期已满、待确认的评议",
        "待审定的评星定级")] == [1, 1, 1, 1, None]
    assert f'href="/committee/reviews/{q4a}">待答复的异议' in page
    assert f'href="/committee/reviews/{q3b}">待公示的评议' in page
    assert f'href="/committee/reviews/{q4b}">公示期已满' in page
    assert re.search(r'>支部工作 <span class="nav-badge"[^>]*>4</span>', page)

    # sec_b sees branch B only: the draft and the ready one.
    web_login(client, "sec_b")
    page = client.get("/committee").text
    assert [count(page, label) for label in ("待审核的记录", "待答复的异议", "待公示的评议",
                                             "公示期已满、待确认的评议")] == [None, None, 1, 1]
