"""A member prints the branch's 公示 from the phone: the A4 page, its 打印 button, its PDF."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.support import Api, Phones


def test_member_prints_the_branch_notice(demo: Api, demo_phones: Phones) -> None:
    shown = demo.get("dangyuan01", "/reviews")["items"]
    review_id = next(r["id"] for r in shown if r["status"] in ("published", "finalized"))
    page = demo_phones.login("dangyuan01")
    page.goto(f"/me/results/{review_id}")
    page.get_by_role("link", name="打印公示（A4）").click()
    expect(page).to_have_url(re.compile(rf"/me/results/{review_id}/print$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("党员积分公示")
    rows = page.locator("table.notice tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 10
    # Fits the phone: nothing wider than the screen but the table's own scroller.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360

    # 打印 opens the browser's print dialog (stood in for here: no dialog in a headless run).
    page.evaluate("() => { window.print = () => { window.__printed = true } }")
    page.get_by_role("button", name="打印", exact=True).click()
    assert page.evaluate("() => window.__printed") is True

    # Printed, the toolbar is gone and the notice stays.
    page.emulate_media(media="print")
    expect(page.locator("nav.toolbar")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("section.sign")).to_be_visible()
    page.emulate_media(media="screen")

    pdf = page.request.get(f"/me/results/{review_id}/notice.pdf")
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF-")
