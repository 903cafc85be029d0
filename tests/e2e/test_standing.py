"""A member's standing on a phone (appraisal.md §1): the secretary records an exemption and
a suspension of rights on the member page through its htmx forms; the page, every form
of it open, fits 360 px in Chinese and in English, passes axe-core, and is photographed."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from tests.e2e.support import PHONE, Phones, World, settled, shoot

SERIOUS = ("serious", "critical")


def fill_in(form: Locator, fields: dict[str, str]) -> None:
    """Type into (or choose in) each field named by its label."""
    for label, value in fields.items():
        field = form.get_by_label(label)
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def fits_the_phone(page: Page, where: str, shots: Path, name: str) -> None:
    """Every folded form opened: nothing wider than the screen, no serious axe finding; the
    page photographed so, and with its forms folded."""
    settled(page)
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{where}: scrolls sideways, {width}px wide"
    wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map(el => el.tagName + '.' + el.className).slice(0, 5)""")
    assert not wide, f"{where}: wider than the screen: {wide}"
    serious = [v["id"] for v in Axe().run(page).response["violations"]
               if v["impact"] in SERIOUS]
    assert not serious, f"{where}: axe-core {serious}"
    shoot(page, shots, f"{name}-forms.png")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = false)")
    shoot(page, shots, f"{name}.png")


def test_exemption_and_suspension_recorded_on_a_phone(world: World, phones: Phones,
                                                      shots: Path) -> None:
    member = world.members["a2"]  # 刘芳
    page = phones.login("sec_a")
    page.goto(f"/committee/members/{member}")
    panel = page.locator(f"#standing-{member}")
    expect(panel.locator(".st-now")).to_contain_text("正式党员")
    expect(panel).not_to_contain_text("登记离开党组织")  # the committee above's

    panel.locator("summary", has_text="登记免评").click()
    exemption = panel.locator("form[action$='/exemptions']")
    fill_in(exemption, {"免评原因": "abroad_self_funded",
                        "说明": "2025年10月起自费赴加拿大探亲一年",
                        "上级党组织同意日期": "2026-01-06", "支部党员大会日期": "2026-01-08"})
    exemption.get_by_role("button", name="登记免评").click()
    expect(panel.get_by_role("status")).to_contain_text(
        "已登记刘芳的2026年度免评（自费出国半年以上）")
    expect(panel.locator(".st-list").last).to_contain_text("上级党组织同意：2026-01-06")

    # A suspension whose end comes before its start: refused in its form, as typed.
    panel.locator("summary", has_text="登记权利中止").click()
    suspension = panel.locator("form[action$='/suspensions']")
    fill_in(suspension, {"类别": "party_probation", "开始日期": "2026-01-09",
                         "恢复权利的日期": "2026-01-02", "说明": "留党察看一年"})
    suspension.get_by_role("button", name="登记", exact=True).click()
    expect(panel.get_by_role("alert")).to_contain_text("结束日期须晚于开始日期")
    expect(suspension.get_by_label("说明")).to_have_value("留党察看一年")
    expect(suspension.get_by_label("开始日期")).to_have_value("2026-01-09")
    suspension.get_by_label("恢复权利的日期").fill("")
    suspension.get_by_role("button", name="登记", exact=True).click()
    expect(panel.get_by_role("status")).to_contain_text("已登记刘芳的留党察看，自 2026-01-09 起")
    expect(panel.locator(".st-now")).to_contain_text("党员权利中止中")
    settled(page)
    assert world.call.get("admin", f"/members/{member}")["rights_suspended"] is True
    exemptions = world.call.get("admin", f"/members/{member}/exemptions")["items"]
    assert [(e["year"], e["reason_kind"]) for e in exemptions] == [(2026, "abroad_self_funded")]

    page.reload()
    panel.scroll_into_view_if_needed()
    fits_the_phone(page, "member page (zh)", shots, "member-standing-zh")

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    fits_the_phone(page, "member page (en)", shots, "member-standing-en")


def test_full_membership_and_leaving_confirmed_in_the_admin_member_edit(
        world: World, phones: Phones, shots: Path) -> None:
    member = world.call.post("admin", "/members", {
        "name": "孙预备", "org_id": world.branch_a, "category": "active",
        "joined_on": "2025-01-05", "username": "sunyubei", "password": "correct-horse-9",
        "standing": "probationary"}, 201)["id"]
    page = phones.login("admin")
    page.goto(f"/admin/members?org_id={world.branch_a}")
    row = page.locator(f"#member-{member}")
    expect(row).to_contain_text("预备党员")
    row.get_by_role("link", name="编辑").click()
    panel = page.locator(f"#standing-{member}")
    panel.locator("summary", has_text="办理转正").click()
    panel.get_by_label("转正日期").fill("2026-01-06")
    panel.get_by_role("button", name="下一步").click()
    expect(panel.locator(".st-confirm")).to_contain_text("确定为孙预备办理转正？")
    assert world.call.get("admin", f"/members/{member}")["standing"] == "probationary"
    panel.get_by_role("button", name="确定转正").click()
    expect(panel.get_by_role("status")).to_contain_text("孙预备已转为正式党员，转正日期 2026-01-06")
    expect(panel.locator(".st-now")).to_contain_text("转正日期 2026-01-06")

    panel.locator("summary", has_text="登记离开党组织").click()
    panel.get_by_label("类别").last.select_option("transferred")
    panel.locator("form[action$='/leave']").get_by_label("说明").fill("转往县委组织部")
    panel.get_by_role("button", name="下一步").click()
    confirm = panel.locator(".st-confirm")
    expect(confirm).to_contain_text("孙预备的登录立即停止")
    expect(confirm).to_contain_text("登记后不能撤销")
    settled(page)
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"admin member edit scrolls sideways: {width}px"
    shoot(page, shots, "admin-member-leave-confirm.png")
    confirm.get_by_role("button", name="确定离开").click()
    expect(panel.get_by_role("status")).to_contain_text("已登记孙预备离开党组织（组织关系转出")
    expect(panel.locator(".st-now")).to_contain_text("已离开")
    assert world.call.get("admin", f"/members/{member}")["standing"] == "left"
