"""The procedural parameters on the rules page of a frozen year, on a phone: read, refused
in place, saved; in Chinese and in English."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.api.support import NO_NOTICE
from tests.e2e.support import Phones, World, settled, shoot


def test_a_frozen_years_procedure_is_changed_on_a_phone(world: World, phones: Phones,
                                                       shots: Path) -> None:
    api = world.call
    review = api.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                      {"year": 2025, "quarter": 1}, 201)
    api.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE)
    api.post("sec_a", f"/reviews/{review['id']}/finalize")

    page = phones.login("admin", then="/admin/rules?year=2025")
    page.goto("/admin/rules?year=2025#procedure")
    settled(page)
    section = page.locator("#procedure")
    expect(section.get_by_role("heading", name="评定程序参数")).to_be_visible()
    box = section.get_by_label("须经民主测评方可公示")
    days = section.get_by_label("评星定级公示天数")
    months = section.get_by_label("限期改正默认月数")
    expect(box).to_be_checked()
    expect(days).to_have_value("5")
    expect(months).to_have_value("6")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    shoot(page, shots, "rule-procedure-zh.png")

    # A value the browser would stop: sent anyway (as a page without checks would), the
    # server's refusal is shown in the form, what was typed kept.
    section.locator("form").evaluate("form => form.noValidate = true")
    box.uncheck()
    days.fill("61")
    section.get_by_role("button", name="保存").click()
    settled(page)
    expect(section.get_by_role("alert")).to_have_text("公示天数须为0到60之间的整数。")
    expect(days).to_have_value("61")
    expect(days).to_have_attribute("aria-invalid", "true")
    expect(box).not_to_be_checked()
    shoot(page, shots, "rule-procedure-error-zh.png")

    days.fill("7")
    months.fill("3")
    section.get_by_role("button", name="保存").click()
    settled(page)
    expect(page).to_have_url(re.compile(r"/admin/rules\?year=2025#procedure$"))
    expect(page.get_by_text("已保存2025年度评定程序参数。")).to_be_visible()
    expect(days).to_have_value("7")
    expect(months).to_have_value("3")
    expect(box).not_to_be_checked()
    params = api.get("admin", "/rules", year=2025)["params"]
    assert (params["ballot_required"], params["rating_notice_days"],
            params["rectify_months"]) == (False, 7, 3)

    page.get_by_role("button", name="English").click()
    settled(page)
    page.goto("/admin/rules?year=2025#procedure")
    settled(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    shoot(page, shots, "rule-procedure-en.png")
