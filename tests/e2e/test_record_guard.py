"""记一笔积分 on a secretary's phone (issue 17): a veto wants a reason, asks once with what the
member's score becomes, and nothing typed is lost on the way; in Chinese and English, with
pictures of each screen.

张伟 (a1) in 2026 so far, worked out by hand (docs/scoring.md, The score): P01 ×4 = 8,
P03 ×4 = 8, P04 ×4 = 8, B01 5 → 29 (no review yet). A 10-point D01 leaves 19; a veto, 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.support import PHONE, Phones, World, settled, shoot
from tests.e2e.test_pages import SERIOUS, axe_report

DAY = "2026-01-08"
REASON = "1月7日经县纪委监委通报，受到党内警告处分"
VETOED = "记录后，张伟 2026 年的积分将由 29 分变为 0 分（一票否决）。确定吗？"
DEDUCTED = "记录后，张伟 2026 年的积分将由 29 分变为 19 分。确定吗？"


def fits(page: Page) -> None:
    """No wider than the phone; no serious or critical axe-core finding."""
    settled(page)
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px"
    serious = [v for v in Axe().run(page).response["violations"] if v["impact"] in SERIOUS]
    assert not serious, f"{page.url}:\n{axe_report(serious)}"


def score(world: World) -> int:
    answer: int = world.call.get("sec_a", f"/members/{world.members['a1']}/score",
                                 year=2026)["score"]
    return answer


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_veto_is_refused_without_a_reason_then_confirmed_with_the_score(
        world: World, phones: Phones, shots: Path, language: str) -> None:
    for code, amount in (("P01", {"quantity": 4}), ("P03", {"quantity": 4}),
                         ("P04", {"quantity": 4}), ("B01", {"points": 5})):
        world.entry("sec_a", "a1", code, "2026-01-05", **amount)
    assert score(world) == 29
    zh = language == "zh"
    suffix = "" if zh else "-en"

    page = phones.login("sec_a")
    if not zh:
        page.get_by_role("button", name="English").click()
        settled(page)
    page.goto("/committee")
    page.locator('a[href="/committee/record"]').first.click()
    expect(page).to_have_url(re.compile(r"/committee/record$"))
    form = page.locator("form.cm-record")
    form.locator("select[name=member_id]").select_option(str(world.members["a1"]))
    note = form.locator("textarea[name=note]")
    why = form.locator(".cm-note-why")
    expect(why).to_be_hidden()
    form.locator("select[name=rule_code]").select_option("V01")
    expect(why).to_be_visible()  # by the note, as soon as the veto is chosen (CSS only)
    expect(form.locator(".cm-amounts")).to_be_hidden()
    form.locator("input[name=occurred_on]").fill(DAY)
    if zh:
        expect(why).to_have_text("须写明理由，党员本人能看到")
    note.scroll_into_view_if_needed()
    shoot(page, shots, f"record-veto{suffix}.png")

    # Saved without a reason: refused, everything as typed, the note field marked.
    form.locator("button").click()
    error = page.locator("#record-error")
    expect(error).to_be_visible()
    if zh:
        expect(error).to_have_text("一票否决或扣10分以上，须写明理由（党员本人能看到）。")
    expect(page.locator("select[name=rule_code]")).to_have_value("V01")
    expect(page.locator("select[name=member_id]")).to_have_value(str(world.members["a1"]))
    expect(page.locator("input[name=occurred_on]")).to_have_value(DAY)
    expect(page.locator("textarea[name=note]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("textarea[name=note]")).to_be_focused()
    fits(page)
    shoot(page, shots, f"record-veto-refused{suffix}.png")

    # With the reason: asked once, with what 张伟's score becomes; nothing recorded yet.
    page.locator("textarea[name=note]").fill(REASON)
    page.locator("form.cm-record button").click()
    change = page.locator("#confirm-change")
    expect(change).to_be_visible()
    if zh:
        expect(change).to_have_text(VETOED)
    expect(page.locator(".cm-change")).to_contain_text("29")
    expect(page.locator(".cm-facts")).to_contain_text(REASON)
    assert score(world) == 29
    fits(page)
    shoot(page, shots, f"record-veto-confirm{suffix}.png")

    # 返回修改: the form as typed; make it a 10-point deduction instead.
    page.locator("button[name=edit]").click()
    expect(page.locator("select[name=rule_code]")).to_have_value("V01")
    expect(page.locator("textarea[name=note]")).to_have_value(REASON)
    page.locator("select[name=rule_code]").select_option("D01")
    expect(page.locator(".cm-note-why-from")).to_be_visible()
    page.locator("input[name=points]").fill("10")
    page.locator("textarea[name=note]").fill("1月7日防汛值守期间擅自离岗，经支委会核实")
    shoot(page, shots, f"record-deduction{suffix}.png")
    page.locator("form.cm-record button").click()
    if zh:
        expect(change).to_have_text(DEDUCTED)
    else:
        expect(change).to_contain_text("19")
    shoot(page, shots, f"record-deduction-confirm{suffix}.png")
    page.locator("button[name=confirmed]").click()
    expect(page).to_have_url(re.compile(r"/committee/record\?member_id="))
    expect(page.locator("#flash")).to_contain_text("D01")
    assert score(world) == 19

    # 张伟 is told why.
    member = phones.login("a1")
    member.goto("/me/notices")
    expect(member.locator(".notice-list")).to_contain_text("防汛值守期间擅自离岗")
    if zh:
        shoot(member, shots, "record-notice.png")
