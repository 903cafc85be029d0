"""A member self-reports with a photo; a committee member approves it inline; the score rises."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.support import Phones, World, jpeg, settled


def score_on(page: Page) -> int:
    page.goto("/me")
    return int(page.locator(".score-number").inner_text())


def test_self_report_with_photo_is_approved_inline_and_counts(
        world: World, phones: Phones, tmp_path: Path) -> None:
    # Something already counts: an approved P03 (2 points) sec_a recorded last week.
    world.entry("sec_a", "a1", "P03", "2026-01-05", note="一月主题党日")
    photo = jpeg(tmp_path / "学习现场.jpg")

    member = phones.login("a1")
    expect(member).to_have_url(re.compile(r"/me$"))
    before = score_on(member)
    assert before == 2

    # 申报: pick 参加集中学习 (P01, 2 points a time), say what, attach the photo, send.
    member.get_by_role("link", name="申报积分").first.click()
    expect(member.get_by_role("heading", name="申报积分")).to_be_visible()
    member.get_by_text("参加集中学习", exact=True).click()
    expect(member.locator("input[name=rule_code][value=P01]")).to_be_checked()
    expect(member.get_by_label("2. 哪一天")).to_have_value("2026-01-10")
    member.get_by_label("4. 说明").fill("1月9日下午在党员活动室参加集中学习，"
                                        "学习二十届四中全会精神")
    member.get_by_label("或者从手机相册里选").set_input_files(photo)
    member.get_by_role("button", name="提交申报").click()

    # 我的记录: the entry waits for the committee, with its photo.
    expect(member).to_have_url(re.compile(r"/me/entries$"))
    expect(member.locator("#flash")).to_contain_text("已提交，等待支委审核")
    row = member.locator("li.entry", has_text="参加集中学习")
    expect(row).to_have_count(1)
    expect(row.locator(".badge")).to_have_text("待审核")
    expect(row).to_contain_text("学习二十届四中全会精神")
    thumb = row.locator("img")
    expect(thumb).to_be_visible()
    member.wait_for_function("img => img.complete && img.naturalWidth > 0",
                             arg=thumb.element_handle())
    entry_id = row.get_attribute("data-entry")
    assert entry_id
    # Pending entries do not count yet.
    assert score_on(member) == before

    # sec_a, on their own phone, approves it on the pending list without leaving the page.
    secretary = phones.login("sec_a")
    expect(secretary).to_have_url(re.compile(r"/committee$"))  # the committee's work first
    secretary.get_by_role("link", name=re.compile(r"^待审核")).first.click()
    expect(secretary).to_have_url(re.compile(r"/committee/entries$"))
    # htmx is deferred: wired at load, not at the URL (else the button's form is sent
    # without it, as a plain POST, and the page is loaded again).
    secretary.wait_for_load_state()
    line = secretary.locator(f"#entry-{entry_id}")
    expect(line).to_contain_text("张伟")
    expect(line).to_contain_text("参加集中学习")
    expect(line.get_by_role("link", name="查看证明照片")).to_be_visible()
    expect(secretary.locator("#pending-counter")).to_contain_text("1")
    secretary.evaluate("() => { window.__stayed = 'same page' }")
    line.get_by_role("button", name="通过", exact=True).click()
    expect(line.locator(".badge")).to_have_text("已通过")
    expect(line.get_by_role("button", name="通过", exact=True)).to_have_count(0)
    settled(secretary)
    # The counter refreshed itself (scoresChanged), and there was no page load.
    expect(secretary.locator("#pending-counter")).to_contain_text("0")
    assert secretary.evaluate("() => window.__stayed") == "same page"
    assert secretary.url.endswith("/committee/entries")

    # Back on a1's phone: the score went up by P01's 2 points.
    after = score_on(member)
    assert after == before + 2
    member.get_by_role("link", name="我的记录").click()
    expect(member.locator(f"li.entry[data-entry='{entry_id}'] .badge")).to_have_text("已通过")
