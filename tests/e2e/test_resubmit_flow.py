"""A member corrects a rejected self-report and sends it again, on a phone (issue 17): the
reason and 修改后重新提交 on 我的记录, the report form filled in from the rejected entry, the
two entries linked both ways, the committee's line saying what was rejected before. Once
with JavaScript, once without. Screenshots of 我的记录 (28-resubmit, in Chinese and in
English); the member's pages keep to the phone's quality bars."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.support import Phones, World
from tests.e2e.test_ballot_phone import fits, pictures

REASON = "签到表上没有您的名字，请补充签到照片"
HOURS = "志愿服务时长与签到表不符，请按实际时长申报"


def rejected_pair(world: World) -> tuple[int, int]:
    """a1's two self-reports of this week, rejected by sec_a; one approved before them."""
    world.entry("sec_a", "a1", "P03", "2026-01-02", note="参加1月主题党日")
    ids = []
    for code, day, note, quantity, reason in (
            ("P01", "2026-01-05", "1月5日参加支部集中学习", 1, REASON),
            ("P07", "2026-01-06", "在社区服务站做志愿服务", 3, HOURS)):
        entry = world.entry("a1", "a1", code, day, note=note, quantity=quantity)
        world.call.post("sec_a", f"/entries/{entry['id']}/reject", {"reason": reason})
        ids.append(entry["id"])
    return ids[0], ids[1]


def resubmit_from_my_entries(page: Page, entry_id: int, note: str) -> None:
    """From 我的记录: the rejected entry's button, the form filled in, the note corrected."""
    page.goto("/me/entries")
    rejected = page.locator(f"#entry-{entry_id}")
    expect(rejected.locator(".badge")).to_have_text("未通过")
    rejected.get_by_role("link", name="修改后重新提交").click()
    expect(page).to_have_url(re.compile(rf"/me/report\?resubmit={entry_id}$"))
    page.wait_for_load_state()  # htmx is deferred: wired at load
    expect(page.get_by_role("heading", name="修改后重新提交")).to_be_visible()
    page.get_by_label("4. 说明").fill(note)
    page.get_by_role("button", name="重新提交", exact=True).click()
    expect(page).to_have_url(re.compile(r"/me/entries\?year=2026$"))


def test_a_rejected_entry_is_corrected_and_sent_again(world: World, phones: Phones,
                                                      shots: Path) -> None:
    study, volunteer = rejected_pair(world)
    member = phones.login("a1")
    member.get_by_role("link", name="我的记录").first.click()
    row = member.locator(f"#entry-{study}")
    expect(row).to_contain_text(f"未通过原因：{REASON}")
    fits(member, member=True)

    row.get_by_role("link", name="修改后重新提交").click()
    # The form, filled in from the rejected entry, says why it was rejected.
    expect(member.locator(".resubmit-of")).to_contain_text(REASON)
    expect(member.locator("input[name=rule_code][value=P01]")).to_be_checked()
    expect(member.get_by_label("2. 哪一天")).to_have_value("2026-01-05")
    expect(member.get_by_label("4. 说明")).to_have_value("1月5日参加支部集中学习")
    fits(member, member=True)
    member.get_by_label("4. 说明").fill("1月5日下午在党员活动室参加支部集中学习（已补签到）")
    member.get_by_role("button", name="重新提交", exact=True).click()

    expect(member).to_have_url(re.compile(r"/me/entries\?year=2026$"))
    expect(member.locator("#flash")).to_contain_text("已重新提交，等待支委审核")
    new = member.locator("li.entry", has_text="已补签到")
    expect(new.locator(".badge")).to_have_text("待审核")
    expect(new).to_contain_text(f"重新提交（原记录被退回：{REASON}）")
    new_id = new.get_attribute("data-entry")
    old = member.locator(f"#entry-{study}")
    expect(old.locator(".badge")).to_have_text("未通过")
    expect(old.get_by_role("link", name="修改后重新提交")).to_have_count(0)
    # The other rejected entry still has its button.
    expect(member.locator(f"#entry-{volunteer}").get_by_role(
        "link", name="修改后重新提交")).to_be_visible()
    pictures(member, shots, "28-resubmit", member=True)

    old.get_by_role("link", name=re.compile("已重新提交")).click()
    expect(member).to_have_url(re.compile(rf"#entry-{new_id}$"))
    new.get_by_role("link", name=re.compile("重新提交（原记录被退回")).click()
    expect(member).to_have_url(re.compile(rf"#entry-{study}$"))

    # The committee sees the history on the line it decides.
    secretary = phones.login("sec_a")
    secretary.goto("/committee/entries")
    line = secretary.locator(f"#entry-{new_id}")
    expect(line).to_contain_text(f"重新提交（原记录被退回：{REASON}）")
    expect(line.get_by_role("button", name="通过", exact=True)).to_be_visible()


def test_without_javascript_too(world: World, phones: Phones) -> None:
    _study, volunteer = rejected_pair(world)
    context = phones.browser.new_context(**phones.context_args, java_script_enabled=False)
    try:
        page = phones.login("a1", page=context.new_page())
        resubmit_from_my_entries(page, volunteer, "在社区服务站做志愿服务2小时（按签到表）")
        expect(page.locator("#flash")).to_contain_text("已重新提交，等待支委审核")
        expect(page.locator(f"#entry-{volunteer}")).to_contain_text("已重新提交，看新的记录")
        new = page.locator("li.entry", has_text="按签到表")
        expect(new).to_contain_text(f"重新提交（原记录被退回：{HOURS}）")
        expect(new.locator(".badge")).to_have_text("待审核")
        # Sent again from the same form (the back button): told, on 我的记录, nothing added.
        page.go_back()
        page.goto(f"/me/report?resubmit={volunteer}")
        expect(page).to_have_url(re.compile(r"/me/entries$"))
        expect(page.locator("#flash")).to_contain_text("这条记录已经重新提交过了")
        assert page.locator("li.entry", has_text="按签到表").count() == 1
    finally:
        context.close()
