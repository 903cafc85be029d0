"""My score on a 360×740 phone (issue 17): the number is on the first screen however many
notices wait (they are one line under it), and 积分怎么算 reads as big text in one column;
in Chinese and English, with pictures of both pages (25-me-score-first, 26-how-scores-work).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import PHONE, Api, Phones, World, settled, shoot
from tests.e2e.test_pages import QUALITY
from tests.e2e.test_record_guard import fits


def bars(page: Page) -> None:
    """The member pages' bars: ≥ 16 px text, ≥ 44 px targets, nothing wider than 360 px."""
    found = page.evaluate(QUALITY)
    assert not found["small"], f"{page.url}: text under 16px: {found['small']}"
    assert not found["tiny"], f"{page.url}: touch targets under 44px: {found['tiny']}"
    assert found["scrollWidth"] <= PHONE["width"], f"{page.url} scrolls sideways"


def first_screen_bottom(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return float(box["y"] + box["height"])


def test_the_score_is_on_the_first_screen_with_many_notices(world: World,
                                                            phones: Phones) -> None:
    for day in ("2025-10-06", "2025-10-13", "2025-10-20", "2025-11-03", "2025-11-10",
                "2025-11-17", "2025-12-01"):
        world.entry("sec_a", "a1", "P01", day)
    page = phones.login("a1")
    page.goto("/me")
    settled(page)
    line = page.locator("a.notices-line")
    expect(line).to_have_text("7条新消息 ›")
    # The number and its stars inside the first 740 px; the notices' one line after them.
    assert first_screen_bottom(page, ".score-number") <= PHONE["height"]
    assert first_screen_bottom(page, ".score-line .stars") <= PHONE["height"]
    number = page.locator(".score-number").bounding_box()
    notices = line.bounding_box()
    assert number is not None and notices is not None and number["y"] < notices["y"]
    expect(page.locator(".next-star")).to_have_text("再得60分升为一星")
    bars(page)
    # One tap to the notices, where 知道了 is.
    line.click()
    expect(page.get_by_role("heading", name="消息")).to_be_visible()
    expect(page.get_by_role("button", name="知道了")).to_be_visible()


def test_how_scores_work_is_one_tap_from_my_score(world: World, phones: Phones) -> None:
    page = phones.login("a1")
    page.goto("/me")
    page.get_by_role("link", name="积分怎么算 ›").click()
    expect(page.get_by_role("heading", name="积分怎么算", exact=True)).to_be_visible()
    expect(page.locator('li[data-rule="P01"]')).to_have_text("参加集中学习每次加2分，全年最多加8分")
    settled(page)
    bars(page)
    fits(page)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pictures_of_my_score_and_how_scores_work(demo: Api, demo_phones: Phones,
                                                  shots: Path, language: str) -> None:
    """The demo's 袁志强 (dangyuan01), with the notices the demo leaves him."""
    suffix = "" if language == "zh" else "-en"
    page = demo_phones.login("dangyuan01")
    if language == "en":
        page.get_by_role("button", name="English").click()
        settled(page)
    page.goto("/me")
    settled(page)
    assert first_screen_bottom(page, ".score-number") <= PHONE["height"]
    bars(page)
    fits(page)
    shoot(page, shots, f"25-me-score-first{suffix}.png")
    page.goto("/me/rules")
    settled(page)
    bars(page)
    fits(page)
    shoot(page, shots, f"26-how-scores-work{suffix}.png")
