"""The level above's summary (汇总) and the paper 测评表 on a phone and on A4: reached by their
links, accessible (axe-core), no wider than the phone, in Chinese and English; pictures of
each (the A4 sheet also as its PDF's first page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.api.appraisal_scene import Scene, play_b
from tests.api.support import ok
from tests.e2e.support import PHONE, Phones, World, settled, shoot
from tests.e2e.test_pages import SERIOUS, axe_report

# A4 at 96 dpi, the size the browser lays a printed page out at.
A4 = {"width": 794, "height": 1123}
NAMES = {"b2": "孙丽", "b3": "吴刚"}


class Calls:
    """tests/api/support.World's calls over the live server's API (for appraisal_scene)."""

    def __init__(self, world: World) -> None:
        self.api = world.call
        self.members = world.members
        self.branch_b = world.branch_b

    def _send(self, method: str, who: str, path: str, json: Any = None) -> Any:
        if path == "/members" and json and json.get("username") in NAMES:
            json = {**json, "name": NAMES[json["username"]]}
        return self.api.http.request(method, path, json=json, headers=self.api.headers(who))

    def post(self, who: str, path: str, json: Any = None) -> Any:
        return self._send("POST", who, path, json)

    def put(self, who: str, path: str, json: Any = None) -> Any:
        return self._send("PUT", who, path, json)

    def patch(self, who: str, path: str, json: Any = None) -> Any:
        return self._send("PATCH", who, path, json)

    def entry(self, who: str, member: str, code: str, on: str, status: int = 201,
              **extra: Any) -> Any:
        return ok(self.post(who, "/entries", {"member_id": self.members[member],
                                              "rule_code": code, "occurred_on": on, **extra}),
                  status)


def accessible(page: Page) -> None:
    settled(page)
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px"
    violations = Axe().run(page).response["violations"]
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, f"{page.url}:\n{axe_report(serious)}"


def a4_pictures(page: Page, shots: Path, name: str) -> None:
    """The sheet as printed at A4 width, and its PDF's first page rendered."""
    page.set_viewport_size(A4)
    page.emulate_media(media="print")
    page.screenshot(path=str(shots / f"{name}-a4-print.png"), full_page=True)
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    pdf_url = page.get_by_role("link", name="下载 PDF").get_attribute("href")
    answer = page.request.get(str(pdf_url), timeout=60_000)  # the first PDF loads fonts
    assert answer.status == 200 and answer.body().startswith(b"%PDF-")
    first = pdfium.PdfDocument(answer.body())[0]
    first.render(scale=1.5).to_pil().save(shots / f"{name}-a4-pdf.png")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_summary_and_ballot_form(world: World, phones: Phones, shots: Path,
                                 language: str) -> None:
    scene: Scene = play_b(Calls(world))  # type: ignore[arg-type]
    page = phones.login("party_sec")
    if language == "en":
        page.get_by_role("button", name="English").click()
        settled(page)
    suffix = "" if language == "zh" else "-en"

    page.goto("/committee?year=2025")
    link = page.locator(f'a[href="/committee/appraisal/{world.party}?year=2025"]')
    expect(link).to_be_visible()
    link.click()
    table = page.locator("table.ap-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table.locator("tbody tr").nth(1)).to_contain_text("3/4")
    accessible(page)
    shoot(page, shots, f"appraisal-summary{suffix}.png")
    # The table scrolls inside its own box; the branch's name stays in view.
    page.locator(".ap-wrap").evaluate("el => el.scrollLeft = el.scrollWidth")
    table.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"appraisal-summary-scrolled{suffix}.png"))
    name_box = table.locator("tbody th").nth(1).bounding_box()
    assert name_box is not None and name_box["x"] < 40

    page.locator(f'a[href="/committee/appraisal/{world.party}/print?year=2025"]').click()
    expect(page.locator("table.appraisal tbody tr")).to_have_count(3)
    shoot(page, shots, f"appraisal-summary-print{suffix}.png")
    if language == "zh":
        a4_pictures(page, shots, "appraisal-summary")

    page.goto(f"/committee/ratings/{scene.rating_id}")
    page.locator(f'a[href="/committee/ratings/{scene.rating_id}/ballot-form"]').click()
    rows = page.locator("table.ballot tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator(".ballot-rule")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, shots, f"ballot-form{suffix}.png")
    if language == "zh":
        a4_pictures(page, shots, "ballot-form")
        page.goto(f"/committee/members/{world.members['b1']}/register?year=2025")
        expect(page.locator("table.register")).to_be_visible()
        shoot(page, shots, "register.png")
        a4_pictures(page, shots, "register")
    print(f"screenshots in {shots}")
