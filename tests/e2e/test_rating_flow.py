"""The annual rating (评星定级): created on the page, a grade changed under the ⌊n/3⌋ cap,
approved; the member then sees their grade."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.api.support import NO_NOTICE
from tests.e2e.support import Phones, World, settled

# Enough of every positive item to reach its cap of 8: 80 points a year.
FULL_MARKS = {"P01": 4, "P02": 8, "P03": 4, "P04": 4, "P05": 4, "P06": 2, "P07": 8,
              "P08": 4, "P09": 4, "P10": 2}
# Review scores Q1..Q4 (unset ones become 5 at publication).
REVIEWS = {"a1": (4, 4, 4, 3), "a2": (5, 5, 5, 5), "a3": (5, 5, 5, 5)}


def four_finalized_quarters(world: World) -> None:
    """a2 and a3 end 2025 at 100, a1 at 95: three candidates for 优秀, room for two (n=6)."""
    for member in ("a1", "a2", "a3"):
        for number, (code, quantity) in enumerate(FULL_MARKS.items()):
            world.entry("vice_a", member, code, f"2025-02-{number + 3:02d}", quantity=quantity)
    api = world.call
    for quarter in (1, 2, 3, 4):
        review = api.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                          {"year": 2025, "quarter": quarter}, 201)
        scores = {str(world.members[m]): s[quarter - 1] for m, s in REVIEWS.items()}
        api.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": scores})
        api.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE)
        api.post("sec_a", f"/reviews/{review['id']}/finalize")


def test_rating_created_overridden_within_the_cap_and_approved(
        world: World, phones: Phones) -> None:
    four_finalized_quarters(world)
    a1, a3 = world.members["a1"], world.members["a3"]

    secretary = phones.login("sec_a")
    secretary.goto("/committee")
    card = secretary.locator("section.cm-branch",
                             has=secretary.get_by_role("heading", name="第一支部"))
    expect(card).to_contain_text("2025年度评星定级尚未进行")
    card.get_by_role("link", name="查看2025年").click()
    expect(secretary).to_have_url(re.compile(r"/committee\?year=2025#branch-\d+$"))
    secretary.wait_for_load_state()  # htmx is deferred: wired at load
    card.get_by_role("button", name="生成2025年度评星定级").click()
    expect(secretary).to_have_url(re.compile(r"/committee/ratings/\d+$"))
    expect(secretary.locator("#flash")).to_contain_text("已生成2025年度评星定级")
    cap = secretary.locator("#excellent-cap")
    expect(cap).to_contain_text(re.compile(r"优秀\s*2\s*/\s*上限\s*2"))
    expect(cap).to_contain_text("参评 6 人")

    zhang = secretary.locator(f"#rating-{a1}")
    expect(zhang).to_contain_text("95")
    expect(zhang.locator(".cm-grade")).to_have_text("合格")
    chen = secretary.locator(f"#rating-{a3}")
    expect(chen.locator(".cm-grade")).to_have_text("优秀")

    # Raising 张伟 to 优秀 while two already are: refused on the line, with the reason.
    zhang.get_by_text("调整等次").click()
    expect(zhang.locator("option[value=excellent]")).to_contain_text("名额已满 2/2")
    zhang.get_by_label("等次").select_option("excellent")
    zhang.get_by_label(re.compile("^理由")).fill("全年承担社区防汛值守，表现突出")
    zhang.get_by_role("button", name="保存等次").click()
    zhang = secretary.locator(f"#rating-{a1}")
    expect(zhang.get_by_role("alert")).to_contain_text("优秀人数已达上限")
    expect(zhang.locator(".cm-grade")).to_have_text("合格")
    expect(cap).to_contain_text(re.compile(r"优秀\s*2\s*/\s*上限\s*2"))

    # Lower 陈静 to 合格 with a reason: saved inline, the cap line refreshes itself.
    chen.get_by_text("调整等次").click()
    chen.get_by_label("等次").select_option("qualified")
    chen.get_by_label(re.compile("^理由")).fill("本人主动提出让出优秀名额")
    chen.get_by_role("button", name="保存等次").click()
    chen = secretary.locator(f"#rating-{a3}")
    expect(chen.locator(".cm-saved")).to_have_text("已保存")
    expect(chen.locator(".cm-grade")).to_have_text("合格")
    expect(chen).to_contain_text("调整理由：本人主动提出让出优秀名额")
    expect(cap).to_contain_text(re.compile(r"优秀\s*1\s*/\s*上限\s*2"))

    # Now 张伟 fits under the cap (the typed reason was kept on the line).
    zhang.get_by_label("等次").select_option("excellent")
    expect(zhang.get_by_label(re.compile("^理由"))).to_have_value("全年承担社区防汛值守，表现突出")
    zhang.get_by_role("button", name="保存等次").click()
    zhang = secretary.locator(f"#rating-{a1}")
    expect(zhang.locator(".cm-grade")).to_have_text("优秀")
    expect(zhang).to_contain_text("调整理由：全年承担社区防汛值守，表现突出")
    expect(cap).to_contain_text(re.compile(r"优秀\s*2\s*/\s*上限\s*2"))
    settled(secretary)

    # The ballot, the 公示 and the submission (tests/e2e/test_ballot_phone.py has them on
    # the pages), then the 党委 approves: final.
    api, rid = world.call, int(secretary.url.rsplit("/", 1)[1])
    for step in ("ballot/open", "ballot/close"):
        api.post("sec_a", f"/ratings/{rid}/{step}")
    api.post("sec_a", f"/ratings/{rid}/publish", NO_NOTICE)
    api.post("sec_a", f"/ratings/{rid}/submit")
    api.post("party_sec", f"/ratings/{rid}/approve")
    secretary.reload()
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("已审定")
    expect(secretary.get_by_text("调整等次")).to_have_count(0)

    # 张伟 sees it: last year's grade on this year's page, and the year itself.
    member = phones.login("a1")
    news = member.locator("a.rating-link")
    expect(news).to_contain_text("2025年度评星定级：优秀")
    news.click()
    expect(member).to_have_url(re.compile(r"/me\?year=2025$"))
    expect(member.locator(".score-number")).to_have_text("95")
    expect(member.locator(".grade")).to_have_text("优秀")
    expect(member.locator(".reason")).to_contain_text("全年承担社区防汛值守，表现突出")
    expect(member.locator(".score-card")).to_contain_text("年度评星定级已审定")
