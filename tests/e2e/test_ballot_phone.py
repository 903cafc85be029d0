"""The annual rating's steps in a phone's browser (360×740): a member votes on one screen, the
secretary types three paper ballots with the keyboard alone, closes the ballot and sees the
tally, publishes; the member objects on their own line; the 党委 approves from its list.
Screenshots of each screen, in Chinese and in English; nothing wider than the phone, and
the member's pages keep to the phone's quality bars (text ≥ 16 px, targets ≥ 44 px)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.api.support import NO_NOTICE
from tests.e2e.support import PHONE, Phones, World, settled, shoot
from tests.e2e.test_pages import QUALITY, SERIOUS, axe_report

SELF_ASSESSMENT = ("一年来坚持参加“三会一课”，带头参加社区防汛值守和垃圾分类志愿服务，"
                   "不足是理论学习还不够系统，明年要多读原著。")


# A year of entries, so that the scores (and the proposed grades) differ.
ENTRIES = {"a1": {"P01": 4, "P02": 8, "P03": 4, "P07": 8, "P08": 4},
           "a2": {"P01": 4, "P02": 8, "P03": 4, "P04": 4, "P05": 4, "P07": 8, "P08": 4,
                  "P09": 4},
           "a3": {"P01": 2, "P02": 4, "P07": 4}, "sec_a": {"P01": 4, "P02": 8, "P07": 8}}


def rating_ready(world: World) -> int:
    """Branch A's 2025 rating in draft, with a2's self-assessment and the ballot open."""
    api = world.call
    for member, codes in ENTRIES.items():
        for number, (code, quantity) in enumerate(codes.items()):
            world.entry("vice_a" if member == "sec_a" else "sec_a", member, code,
                        f"2025-03-{number + 3:02d}", quantity=quantity)
    for quarter in (1, 2, 3, 4):
        review = api.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                          {"year": 2025, "quarter": quarter}, 201)
        api.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE)
        api.post("sec_a", f"/reviews/{review['id']}/finalize")
    rating_id: int = api.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025},
                              201)["id"]
    api.put("a2", f"/ratings/{rating_id}/self-assessment", {"text": SELF_ASSESSMENT})
    api.post("sec_a", f"/ratings/{rating_id}/ballot/open")
    return rating_id


def fits(page: Page, member: bool = False) -> None:
    """Not wider than the phone; a member's page also keeps the quality bars."""
    settled(page)
    found: dict[str, Any] = page.evaluate(QUALITY)
    assert found["scrollWidth"] <= PHONE["width"], f"{page.url}: {found['scrollWidth']}px wide"
    if member:
        assert not found["small"], f"{page.url}: text under 16px: {found['small']}"
        assert not found["tiny"], f"{page.url}: touch targets under 44px: {found['tiny']}"


def accessible(page: Page) -> None:
    violations = Axe().run(page).response["violations"]
    serious = [v for v in violations if v["impact"] in SERIOUS]
    assert not serious, f"{page.url}:\n{axe_report(serious)}"


def pictures(page: Page, shots: Path, name: str, member: bool = False,
             english_too: bool = True) -> None:
    """The page checked (width, quality bars, axe-core) and shot as NAME.png, and in English
    as NAME-en.png (a page answered to a POST has no English of its own to switch to)."""
    fits(page, member)
    accessible(page)
    shoot(page, shots, f"{name}.png")
    if english_too:
        english(page)
        fits(page, member)
        shoot(page, shots, f"{name}-en.png")
        chinese(page)


def english(page: Page) -> None:
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def chinese(page: Page) -> None:
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_a_member_votes_on_one_screen(world: World, phones: Phones, shots: Path) -> None:
    rid = rating_ready(world)
    member = phones.login("a1")
    task = member.get_by_role("link", name=re.compile("民主测评：请投票"))
    expect(task).to_be_visible()
    task.click()
    expect(member).to_have_url(re.compile(rf"/me/ratings/{rid}/ballot$"))
    expect(member.locator("fieldset.rt-vote")).to_have_count(5)  # everyone graded but a1
    expect(member.get_by_text("不选的党员算作弃权")).to_be_visible()
    pictures(member, shots, "ballot-phone", member=True)

    liu = member.locator("fieldset", has=member.get_by_text("刘芳", exact=True))
    liu.get_by_text("看刘芳的自评").click()
    expect(liu.get_by_text(SELF_ASSESSMENT)).to_be_visible()
    liu.get_by_text("优秀", exact=True).click()
    chen = member.locator("fieldset", has=member.get_by_text("陈静", exact=True))
    chen.get_by_text("基本合格", exact=True).click()
    chen.get_by_text("合格", exact=True).click()  # changed my mind
    member.locator("fieldset", has=member.get_by_text("李秀英", exact=True)).get_by_text(
        "不合格", exact=True).click()
    member.get_by_role("button", name="下一步：核对选票").click()
    expect(member.get_by_text("您为 3 位党员选了等次，2 位弃权。")).to_be_visible()
    expect(member.get_by_text("选票投出后不能更改，也不能撤回。")).to_be_visible()
    pictures(member, shots, "ballot-check-phone", member=True, english_too=False)
    member.get_by_role("button", name="确认投票").click()
    expect(member).to_have_url(re.compile(rf"/me/ratings/{rid}$"))
    expect(member.locator("#ballot")).to_contain_text("您已投票")
    expect(member.locator("#ballot")).not_to_contain_text("优秀")
    pictures(member, shots, "rating-voted-phone", member=True)
    assert world.call.get("sec_a", f"/ratings/{rid}")["ballot"]["cast_online"] == 1



def test_the_secretary_types_paper_ballots_and_runs_the_steps(
        world: World, phones: Phones, shots: Path) -> None:
    rid = rating_ready(world)
    world.call.post("a1", f"/ratings/{rid}/ballots", {"votes": {
        str(world.members["a2"]): "excellent"}}, 201)
    secretary = phones.login("sec_a")
    secretary.goto(f"/committee/ratings/{rid}")
    ballot_step = secretary.locator("#step-ballot")
    expect(ballot_step).to_have_attribute("aria-current", "step")
    expect(ballot_step).to_contain_text("1 / 6 已投票")
    expect(ballot_step).to_contain_text("王建国、李秀英、刘芳、陈静、杨洋")
    pictures(secretary, shots, "rating-sheet-participation")

    ballot_step.get_by_role("link", name=re.compile("录入纸质票")).click()
    expect(secretary).to_have_url(re.compile(rf"/committee/ratings/{rid}/paper$"))
    first = secretary.locator(".rt-cell input").first
    expect(first).to_be_focused()
    settled(secretary)  # paper-ballots.js is loaded
    # Keyboard only: each ballot is its characters and Enter; the cursor moves on by itself,
    # 0 is an abstention, and the form comes back empty with the cursor in the first field.
    for number, keys in enumerate(("122220", "2122", "3"), start=1):
        secretary.keyboard.type(keys)
        secretary.keyboard.press("Enter")
        expect(secretary.locator("#flash")).to_contain_text(f"已录入第 {number} 张纸质票")
        expect(secretary.locator(".rt-cell input").first).to_be_focused()
        expect(secretary.locator(".rt-cell input").first).to_have_value("")
    pictures(secretary, shots, "paper-ballots")  # (reloaded: the cursor in the first field)
    expect(first).to_be_focused()
    settled(secretary)
    # A Tab after each cell out of habit (a blank cell: one Tab) fills the same cells: the
    # Tab right after the cursor moved by itself does not skip one.
    for key in ("1", "Tab", "2", "Tab", "Tab", "4", "Tab"):
        secretary.keyboard.press(key)
    cells = secretary.locator(".rt-cell input")
    assert [cells.nth(i).input_value() for i in range(5)] == ["1", "2", "", "4", ""]
    expect(cells.nth(4)).to_be_focused()
    secretary.reload()
    expect(first).to_be_focused()
    settled(secretary)
    # A wrong key is shown in place, nothing typed lost.
    secretary.keyboard.type("19")
    secretary.keyboard.press("Enter")
    expect(secretary.get_by_role("alert")).to_contain_text("第2格（李秀英）只能填")
    expect(secretary.locator(".rt-cell input").nth(1)).to_be_focused()
    expect(secretary.locator(".rt-cell input").first).to_have_value("1")
    settled(secretary)
    secretary.keyboard.type("2")  # the refused 9 is selected: the right key replaces it
    expect(secretary.locator(".rt-cell input").nth(1)).to_have_value("2")
    expect(secretary.locator(".rt-cell input").nth(2)).to_be_focused()
    pictures(secretary, shots, "paper-ballots-error", english_too=False)
    ballot = world.call.get("sec_a", f"/ratings/{rid}")["ballot"]
    assert (ballot["cast_online"], ballot["cast_paper"]) == (1, 3)

    secretary.goto(f"/committee/ratings/{rid}")
    secretary.get_by_role("button", name="结束民主测评").click()
    expect(secretary.locator("#flash")).to_contain_text("共收回4张选票")
    wang = secretary.locator(f"#rating-{world.members['sec_a']}")
    expect(wang.locator(".rt-tally")).to_contain_text(
        re.compile(r"优秀\s*1\s*合格\s*1\s*基本合格\s*1\s*不合格\s*0\s*弃权\s*1"))
    liu = secretary.locator(f"#rating-{world.members['a2']}")
    expect(liu.locator(".rt-tally")).to_contain_text(re.compile(r"优秀\s*1\s*合格\s*2"))
    expect(secretary.locator("#step-grades")).to_have_attribute("aria-current", "step")
    pictures(secretary, shots, "rating-sheet-tally")

    # One day's notice: below the year's minimum, so the step asks why before anything.
    notice = secretary.locator("#step-notice")
    notice.get_by_label("公示天数").fill("1")
    notice.get_by_role("button", name="公示").click()
    notice = secretary.locator("#step-notice")
    expect(notice).to_contain_text("公示1天，少于本年度规定的最短公示期5天。")
    expect(notice.get_by_label("公示天数")).to_have_value("1")
    notice.get_by_label("理由（必填，会保存并显示）").fill("党委要求本周内上报")
    notice.get_by_role("button", name="公示").click()
    # Asked once, with what will happen.
    expect(secretary.locator("#publish-confirm")).to_contain_text(
        "公示 1 天，至 2026-01-11 10:00；公示期间党员可提出异议。")
    pictures(secretary, shots, "rating-publish-question", english_too=False)
    secretary.get_by_role("button", name="确认公示").click()
    expect(secretary.locator("#flash")).to_contain_text("已公示，公示期至 2026-01-11 10:00")
    expect(secretary.locator(".cm-step-reason")).to_contain_text("发布公示理由：党委要求本周内上报")
    expect(secretary.locator("#step-notice")).to_have_attribute("aria-current", "step")

    # The member: the published rating, their own line, an objection while the notice runs.
    member = phones.login("a1")
    member.goto(f"/me/ratings/{rid}")
    expect(member.locator("#mine")).to_contain_text("尚未审批")
    member.get_by_label(re.compile("对本人的等次有不同意见")).fill("我全年参加了防汛值守，请核实")
    member.get_by_role("button", name="提交异议").click()
    expect(member.locator("#objections")).to_contain_text("异议已提交")
    expect(member.locator(".rt-tally")).to_have_count(0)
    pictures(member, shots, "rating-published-phone", member=True)

    # Answered on the sheet, the notice over, submitted; the 党委 approves from its list.
    secretary.reload()  # the sheet as it is now, with the objection
    expect(secretary.locator("#step-submit")).to_contain_text("还有 1 条异议未答复")
    pictures(secretary, shots, "rating-sheet-published")
    secretary.get_by_label("答复（提出人能看到）").fill("已核实，防汛值守已计入积分")
    secretary.get_by_role("button", name="提交答复").click()
    expect(secretary.locator("#objections")).to_contain_text("已核实，防汛值守已计入积分")
    world.clock.advance(days=1)
    world.call.post("sec_a", f"/ratings/{rid}/submit")
    above = phones.login("party_sec")
    above.goto("/committee")
    above.get_by_role("link", name=re.compile("^待审批的评星定级")).click()
    expect(above.locator(".rt-approval")).to_contain_text("第一支部 · 2025年度")
    pictures(above, shots, "approvals")
    above.locator(".rt-approval").click()
    step = above.locator("#step-approval")
    expect(step).to_have_attribute("aria-current", "step")
    step.get_by_text("退回支部（须写明理由）").click()  # the return form, opened for the picture
    pictures(above, shots, "rating-sheet-approve", english_too=False)  # the form open
    step.get_by_role("button", name="审批通过（最终结果）").click()
    expect(above.locator("#flash")).to_contain_text("已审批第一支部2025年度评星定级")
    assert world.call.get("admin", f"/ratings/{rid}")["status"] == "approved"
