"""签到登记 on a secretary's phone (issue 17): the branch's members ticked on one list, one
excused, one absent; asked once with what it will write; then the entries, there on the page;
in Chinese and English, with pictures (27-register.png, 27-register-en.png).

第一支部 on 2026-01-08: 王建国 (sec_a, the recorder), 李秀英, 张伟, 刘芳, 陈静, 杨洋. P02 is +1,
N01 −2 (docs/scoring.md, Rule items).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.support import Phones, World, settled, shoot
from tests.e2e.test_record_guard import fits

DAY = "2026-01-08"
NOTE = "1月支部党员大会：学习全会精神"
ASKED = "将为 3 名党员各记 +1分；2 名缺席党员各扣 2分；1 名请假党员不记分。确定吗？"


def day_entries(world: World) -> list[tuple[int, str, int, str]]:
    items = world.call.get("admin", "/entries", org_id=world.branch_a, year=2026,
                           limit=100)["items"]
    return sorted((e["member_id"], e["rule_code"], e["points"], e["status"]) for e in items
                  if e["occurred_on"] == DAY)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_meeting_is_recorded_for_the_branch_on_one_list(
        world: World, phones: Phones, shots: Path, language: str) -> None:
    zh = language == "zh"
    suffix = "" if zh else "-en"
    m = world.members
    page = phones.login("sec_a")
    if not zh:
        page.get_by_role("button", name="English").click()
        settled(page)
    page.goto("/committee")
    page.locator('a[href="/committee/register"]').first.click()
    expect(page).to_have_url(re.compile(r"/committee/register$"))
    pick = page.locator("form.rg-pick")
    pick.locator("select[name=rule_code]").select_option("P02")
    pick.locator("input[name=occurred_on]").fill(DAY)
    pick.locator("button").click()
    expect(page).to_have_url(re.compile(r"rule_code=P02&occurred_on=2026-01-08"))

    rows = page.locator(".rg-row")
    expect(rows).to_have_count(6)
    expect(page.locator("input[name=present]:checked")).to_have_count(6)  # all, at first
    fits(page)
    # Every tick and every 请假 mark is a target of 44 px at least.
    for target in page.locator(".rg-present, .rg-excused, .rg-all a").all():
        box = target.bounding_box()
        assert box is not None and box["height"] >= 44 and box["width"] >= 44, box

    # 全不选 then 全选 tick in place (register.js), nothing reloaded.
    url = page.url
    page.locator("a[data-tick=none]").click()
    expect(page.locator("input[name=present]:checked")).to_have_count(0)
    page.locator("a[data-tick=all]").click()
    expect(page.locator("input[name=present]:checked")).to_have_count(6)
    assert page.url == url

    def row(member: str):  # type: ignore[no-untyped-def]
        return page.locator(".rg-row").filter(has=page.locator(
            f"input[name=present][value='{m[member]}']"))

    row("a3").locator(".rg-excused").click()  # 陈静 excused: her tick goes
    expect(row("a3").locator("input[name=present]")).not_to_be_checked()
    row("a4").locator(".rg-present").click()  # 杨洋 absent
    row("sec_a").locator(".rg-present").click()  # the recorder was not there either
    page.locator("input[name=record_absences]").check()
    page.locator("textarea[name=note]").fill(NOTE)
    page.locator("textarea[name=note]").scroll_into_view_if_needed()
    shoot(page, shots, f"27-register{suffix}.png")

    page.locator("form.rg-form button.primary").click()
    sentence = page.locator("#confirm-change")
    expect(sentence).to_be_visible()
    if zh:
        expect(sentence).to_have_text(ASKED)
    else:
        expect(sentence).to_contain_text("3")
    assert day_entries(world) == []  # asked, nothing written
    fits(page)
    shoot(page, shots, f"27-register-confirm{suffix}.png")

    page.locator("button[name=confirmed]").click()
    expect(page).to_have_url(re.compile(r"/committee/register\?.*#done$"))
    expect(page.locator("#flash")).to_contain_text("P02")
    done = page.locator(".rg-done li")
    expect(done).to_have_count(5)
    expect(page.locator(".rg-done")).to_contain_text("张伟")
    expect(page.locator(".rg-done")).to_contain_text("N01")
    assert day_entries(world) == sorted([
        (m["vice_a"], "P02", 1, "approved"), (m["a1"], "P02", 1, "approved"),
        (m["a2"], "P02", 1, "approved"), (m["a4"], "N01", -2, "approved"),
        (m["sec_a"], "N01", -2, "pending"),  # about the recorder: another member approves
    ])
    fits(page)

    # The confirmation sent again (back, then the button once more): nothing more.
    page.go_back()
    expect(page.locator("button[name=confirmed]")).to_be_visible()
    page.locator("button[name=confirmed]").click()
    expect(page.locator("#flash .flash-warn")).to_be_visible()
    assert len(day_entries(world)) == 5
