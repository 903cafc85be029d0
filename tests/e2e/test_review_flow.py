"""A quarter is reviewed, published (公示), objected to (异议), answered and finalized."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.support import Phones, World, settled


def test_quarter_published_objected_answered_finalized(world: World, phones: Phones) -> None:
    # Q1 2025 had something for a2 to count: an approved P02 (1 point ×2).
    world.entry("sec_a", "a2", "P02", "2025-02-14", quantity=2, note="二月支部大会、党课")

    # sec_a opens the 2025 Q1 review from the committee home.
    secretary = phones.login("sec_a")
    secretary.goto("/committee")
    secretary.get_by_role("link", name="上一年").click()
    expect(secretary).to_have_url(re.compile(r"/committee\?year=2025$"))
    secretary.wait_for_load_state()  # htmx is deferred: wired at load
    card = secretary.locator("section.cm-branch",
                             has=secretary.get_by_role("heading", name="第一支部"))
    card.locator("li.cm-q").first.get_by_role("button", name="开始评议").click()
    expect(secretary).to_have_url(re.compile(r"/committee/reviews/\d+$"))
    review_id = secretary.url.rsplit("/", 1)[1]
    # htmx is deferred: a choice made before it has wired the page would be a plain
    # <select> change (the page's 保存全部 button is the no-script path), so wait for it.
    secretary.wait_for_load_state()
    expect(secretary.get_by_role("heading", level=1)).to_have_text("2025年第一季度评议")
    expect(secretary.locator("#flash")).to_contain_text("已创建2025年第一季度评议")

    # A score set inline: the line comes back saved, its running total recomputed.
    a2 = world.members["a2"]
    line = secretary.locator(f"#line-{a2}")
    expect(line.locator("td").last).to_have_text("7")  # 2 points + the default 5
    secretary.evaluate("() => { window.__stayed = 'same page' }")
    line.get_by_label("刘芳 评议分").select_option("3")
    expect(line.locator(".cm-saved")).to_have_text("已保存")
    expect(line.locator("td").last).to_have_text("5")
    assert secretary.evaluate("() => window.__stayed") == "same page"

    # Publish with three days' notice: below the year's minimum of five, so the panel says
    # so and asks why, keeping the days typed; then it asks once what will happen.
    actions = secretary.locator("#review-actions")
    actions.get_by_label("公示天数").fill("3")
    actions.get_by_role("button", name="发布公示").click()
    actions = secretary.locator("#review-actions")
    expect(actions.get_by_role("alert")).to_contain_text(
        "公示3天，少于本年度规定的最短公示期5天。如确需缩短公示期，请写明理由。")
    expect(actions.get_by_label("公示天数")).to_have_value("3")
    actions.get_by_label("理由（必填，会保存并显示）").fill("春节前须报送党委")
    actions.get_by_role("button", name="发布公示").click()
    expect(secretary.locator("#publish-confirm")).to_contain_text(
        "公示 3 天，至 2026-01-13 10:00；公示期间党员可提出异议。")
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("草稿")
    secretary.get_by_role("button", name="确认发布").click()
    expect(secretary.locator("#flash")).to_contain_text("已发布公示，公示期至 2026-01-13 10:00")
    expect(secretary.locator(".cm-step-reason")).to_have_text("发布公示理由：春节前须报送党委")
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("公示中")

    # a2 reads the 公示 on their phone and objects to their own line.
    member = phones.login("a2")
    member.get_by_role("link", name="公示结果").click()
    # (The member pages say 一季度 where the committee's say 第一季度.)
    member.get_by_role("link", name=re.compile("2025年第?一季度")).click()
    expect(member).to_have_url(re.compile(rf"/me/results/{review_id}$"))
    # Sent before htmx has wired the form, the objection goes as a plain POST and its
    # answer is the page's banner, not the section: wait for htmx (it is deferred).
    member.wait_for_load_state()
    mine = member.locator("#my-line")
    expect(mine).to_contain_text("刘芳")
    expect(mine.locator("td").first).to_have_text("3/5")
    objections = member.locator("#objections")
    objections.get_by_label(re.compile("对我的结果有不同意见")).fill(
        "二月份我参加了两次志愿服务，评议分3分偏低，请支委核实。")
    objections.get_by_role("button", name="提交异议").click()
    expect(member.locator("#objections")).to_contain_text("异议已提交，等待支委答复。")
    expect(member.locator("#objections .badge")).to_have_text("等待答复")

    # sec_a tries to finalize: refused, and told why (the objection is open).
    secretary.reload()
    actions = secretary.locator("#review-actions")
    expect(actions).to_contain_text("还有 1 条异议未答复")
    actions.get_by_role("button", name="确认本季度结果").click()
    expect(secretary.locator("#flash")).to_contain_text("还有未答复的异议，请先答复。")
    expect(actions).to_be_visible()  # the refusal went to #flash, nothing was blanked
    expect(secretary.get_by_role("heading", level=1)).to_have_text("2025年第一季度评议")

    # The answer goes in inline; the actions panel refreshes itself (reviewChanged).
    objection = secretary.locator("#objections li.cm-objection")
    expect(objection).to_contain_text("评议分3分偏低")
    objection.get_by_label("答复（提出人能看到）").fill(
        "经核实，志愿服务已另行记分；评议分维持3分。")
    objection.get_by_role("button", name="提交答复").click()
    expect(secretary.locator("#objections li.cm-objection")).to_contain_text("答复：经核实")
    expect(actions).not_to_contain_text("条异议未答复")
    expect(actions).to_contain_text("公示期尚未结束")

    # Still in the notice period: refused again, with that reason.
    actions.get_by_role("button", name="确认本季度结果").click()
    expect(secretary.locator("#flash")).to_contain_text("公示期尚未结束，结束后才能确认。")

    # Three days and a bit later: the session is long gone, so she logs in again.
    world.clock.advance(days=3, minutes=1)
    secretary.reload()
    expect(secretary).to_have_url(re.compile(r"/login\?next="))
    phones.login("sec_a", page=secretary)
    expect(secretary).to_have_url(re.compile(rf"/committee/reviews/{review_id}$"))
    actions = secretary.locator("#review-actions")
    expect(actions).to_contain_text("可以确认")
    actions.get_by_role("button", name="确认本季度结果").click()
    expect(secretary.locator("#flash")).to_contain_text("已确认，本季度已锁定。")
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("已确认")
    settled(secretary)

    # a2 sees the quarter final, their objection answered, and no more objecting.
    phones.login("a2", page=member, then=f"/me/results/{review_id}")
    expect(member).to_have_url(re.compile(rf"/me/results/{review_id}$"))
    expect(member.locator("h1 .badge")).to_have_text("已确认")
    expect(member.locator("#objections")).to_contain_text("已答复")
    expect(member.locator("#objections")).to_contain_text("经核实，志愿服务已另行记分")
    expect(member.locator("#objections")).to_contain_text("本季度已确认，不能再提出异议。")
    expect(member.get_by_role("button", name="提交异议")).to_have_count(0)
    member.get_by_role("link", name="← 返回公示结果").click()
    expect(member.locator("ul.results")).to_contain_text("已确认")
