"""htmx on real pages: history (back and forward), refusals shown in #flash, expired sessions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.support import Phones, World, settled


def test_back_and_forward_through_pushed_years(world: World, phones: Phones) -> None:
    """The year switch is an hx-get with hx-push-url: back and forward restore each year."""
    world.entry("sec_a", "a1", "P03", "2025-06-01", note="六月主题党日")
    world.entry("sec_a", "a1", "P01", "2026-01-06", quantity=2, note="一月集中学习")
    page = phones.login("a1")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("2026年我的积分")
    expect(page.locator(".score-number")).to_have_text("4")
    page.evaluate("() => { window.__stayed = 'same page' }")

    page.get_by_role("link", name="看2025年").click()
    expect(page).to_have_url(re.compile(r"/me\?year=2025$"))
    expect(heading).to_have_text("2025年我的积分")
    expect(page.locator(".score-number")).to_have_text("2")
    assert page.evaluate("() => window.__stayed") == "same page"  # swapped, not loaded

    page.go_back()
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(heading).to_have_text("2026年我的积分")
    expect(page.locator(".score-number")).to_have_text("4")
    expect(page.get_by_role("link", name="看2025年")).to_be_visible()

    page.go_forward()
    expect(page).to_have_url(re.compile(r"/me\?year=2025$"))
    expect(heading).to_have_text("2025年我的积分")

    # The restored page still works: back to this year with the link, then the entries.
    page.get_by_role("link", name="回到2026年").click()
    expect(heading).to_have_text("2026年我的积分")
    page.get_by_role("link", name="我的记录").click()
    expect(page).to_have_url(re.compile(r"/me/entries$"))
    page.get_by_role("link", name="看2025年").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("2025年我的记录")
    expect(page.locator("li.entry")).to_contain_text("参加主题党日")
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("2026年我的记录")
    expect(page.locator("li.entry")).to_contain_text("参加集中学习")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/me\?year=2026$"))  # pushed by 回到2026年
    expect(page.get_by_role("heading", level=1)).to_have_text("2026年我的积分")


def test_back_after_an_inline_approval_shows_it_approved(world: World, phones: Phones) -> None:
    entry = world.entry("a1", "a1", "P05", "2026-01-08", note="协助整理党员档案")
    assert entry["status"] == "pending"
    page = phones.login("vice_a", then="/committee/entries")
    page.goto("/committee/entries")
    line = page.locator(f"#entry-{entry['id']}")
    line.get_by_role("button", name="通过", exact=True).click()
    expect(line.locator(".badge")).to_have_text("已通过")
    settled(page)

    page.get_by_role("navigation", name="位置").get_by_role("link", name="支部工作").click()
    expect(page).to_have_url(re.compile(r"/committee$"))
    expect(page.locator(".cm-pill")).to_have_text("0")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/committee/entries$"))
    # Never the stale list with the entry still waiting for a decision.
    expect(page.locator(f"#entry-{entry['id']} button", has_text="通过")).to_have_count(0)
    expect(page.locator("#pending-counter")).to_contain_text("0")


def test_refusal_of_an_htmx_action_is_shown_in_flash(world: World, phones: Phones) -> None:
    """A 409 answer to hx-post lands in #flash with its reason; nothing is blanked."""
    world.entry("a1", "a1", "P07", "2025-03-01", quantity=3, note="三月志愿服务")
    review = world.call.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                             {"year": 2025, "quarter": 1}, 201)
    page = phones.login("sec_a", then=f"/committee/reviews/{review['id']}")
    expect(page).to_have_url(re.compile(rf"/committee/reviews/{review['id']}$"))
    actions = page.locator("#review-actions")
    expect(actions).to_contain_text("本季度还有 1 条待审核的积分记录")

    with page.expect_response(re.compile(r"/publish$")) as answer:
        actions.get_by_role("button", name="发布公示").click()
    assert answer.value.status == 409
    flash = page.locator("#flash")
    expect(flash.get_by_role("alert")).to_have_text("本季度还有待审核的积分记录，请先审核通过或退回。")
    expect(actions).to_be_visible()
    expect(actions.get_by_role("button", name="发布公示")).to_be_enabled()
    expect(page.get_by_role("heading", level=1)).to_have_text("2025年第一季度评议")
    expect(page.locator(".cm-titlebar .badge")).to_have_text("草稿")
    expect(page.locator(f"#line-{world.members['a1']}")).to_be_visible()

    # The way out it offers: review the entry, come back, publish.
    actions.get_by_role("link", name=re.compile("去审核这些记录")).click()
    expect(page).to_have_url(re.compile(r"/committee/entries\?.*quarter=1"))
    settled(page)  # htmx wired up: the approval is swapped in place, not a page post
    page.get_by_role("button", name="通过", exact=True).click()
    expect(page.locator("li.cm-entry .badge")).to_have_text("已通过")
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/committee/reviews/{review['id']}$"))
    page.reload()
    page.locator("#review-actions").get_by_role("button", name="发布公示").click()
    # Asked once in place (the panel swapped, the page kept), then published.
    expect(page.locator("#publish-confirm")).to_contain_text("公示 5 天，至 2026-01-15 10:00")
    expect(page.locator(f"#line-{world.members['a1']}")).to_be_visible()
    page.get_by_role("button", name="确认发布").click()
    expect(page.locator("#flash")).to_contain_text("已发布公示")
    expect(page.locator(".cm-titlebar .badge")).to_have_text("公示中")


def test_expired_session_during_an_htmx_action_goes_to_login(world: World,
                                                             phones: Phones) -> None:
    entry = world.entry("a2", "a2", "P09", "2026-01-09", note="学习心得一篇")
    page = phones.login("sec_a", then="/committee/entries")
    page.goto("/committee/entries")
    world.clock.advance(hours=13)  # past the 12-hour session
    page.locator(f"#entry-{entry['id']}").get_by_role("button", name="通过", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    phones.login("sec_a", page=page)
    page.goto("/committee/entries")
    expect(page.locator(f"#entry-{entry['id']} .badge")).to_have_text("待审核")


def test_the_guard_refuses_external_requests(phones: Phones) -> None:
    """The infrastructure itself: a request off 127.0.0.1 is refused and would fail a test.
    (A navigation, since the app's Content-Security-Policy already stops subresources.)"""
    page = phones.open()
    page.goto("/login")
    with pytest.raises(PlaywrightError, match="ERR_BLOCKED_BY_CLIENT"):
        page.goto("https://cdn.example.org/htmx.js")
    assert phones.watch.external == ["https://cdn.example.org/htmx.js"]
    phones.watch.external.clear()  # recorded as it should be; not a failure of this test
