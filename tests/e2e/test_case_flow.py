"""A whole 不合格党员处置 case on phones (appraisal.md §5), every step on the pages by the
person whose step it is, each in their own browser: sec_a files a case about 杨洋 (a4) from
her page, investigates, talks, proposes 限期改正; 杨洋 reads it from her notice and writes a
申辩; party_sec (the 党委) prereviews from his queue; the branch votes; the 党委 approves
(the page asks once). Half a year later, still not rectified: 除名, proposed, prereviewed,
voted, approved, and 杨洋's login stops working. An appeal and its answer on the way; the
A4 审批表 at the end. A second, shorter case: 劝其退党, refused (only 除名 may follow) and,
for another member, agreed (the member leaves).

Every page: nothing wider than the 360 px phone; the case pages pass axe-core; the member's
pages keep text at 16 px or more. With JIFEN_SCREENSHOTS set, the pictures of the docs:
21-case-committee, 22-case-queue, 23-member-case, 24-case-print."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from tests.api.case_scene import DECIDE, INVESTIGATE, PREREVIEW, TODAY, VOTE, propose
from tests.e2e.support import PHONE, Phones, World, settled, shoot
from tests.e2e.test_pages import QUALITY, SERIOUS, axe_report

# What is wrong with the A4 审批表 on a phone for now (test_the_print_fits_a_phone).
NEXT = "下一步：{step}（{by}办理）"
BRANCH, ABOVE, MEMBER = "支部委员会", "上级党委", "本人"


# --------------------------------------------------------------------------- what is checked
def fits(page: Page) -> None:
    """Settled, and not wider than the phone."""
    settled(page)
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px"


def accessible(page: Page, *, known: tuple[str, ...] = ()) -> None:
    """No serious or critical axe-core violation (but the `known` ones, each tested on its
    own in an xfail test)."""
    settled(page)
    violations = Axe().run(page).response["violations"]
    serious = [v for v in violations if v["impact"] in SERIOUS and v["id"] not in known]
    assert not serious, f"{page.url}:\n{axe_report(serious)}"


def readable(page: Page) -> None:
    """A member's page: no text under 16 px, not wider than the phone (test_pages' bars)."""
    settled(page)
    found = page.evaluate(QUALITY)
    assert not found["small"], f"{page.url}: text under 16px:\n" + "\n".join(found["small"])
    assert found["scrollWidth"] <= PHONE["width"], f"{page.url} scrolls sideways"


class Asked:
    """The confirmations (window.confirm) a page asked; Phones.open's handler says yes."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("dialog", lambda dialog: self.messages.append(dialog.message))

    def once(self, *words: str) -> None:
        """Exactly one question since the last call, saying each of `words`."""
        assert len(self.messages) == 1, f"asked {len(self.messages)} times: {self.messages}"
        for word in words:
            assert word in self.messages[0], self.messages[0]
        self.messages.clear()

    def never(self) -> None:
        assert not self.messages, f"asked: {self.messages}"


# --------------------------------------------------------------------------- the case page
def due(page: Page) -> Locator:
    return page.locator(".cs-due")


def done(page: Page) -> list[str]:
    """The titles in the list of steps done, oldest first."""
    return page.locator("#steps .cs-step-head strong").all_inner_texts()


def take(page: Page, kind: str, button: str, state: str,
         fill: Callable[[Locator], None] | None = None) -> None:
    """Fill the step's form, press its button; the page reloads with 已记录 and the state."""
    page.wait_for_load_state()  # htmx wired (it is deferred): the irreversible steps ask
    form = page.locator(f"#form-{kind}")
    if fill is not None:
        fill(form)
    with page.expect_navigation():  # HX-Refresh: the page reloads where it stands
        form.get_by_role("button", name=button).click()
    expect(page.locator("#flash")).to_contain_text(re.compile(rf"已记录：.+。{state}"))
    expect(page.locator(".cm-titlebar .badge")).to_have_text(state)
    fits(page)


def words(label: str, text: str) -> Callable[[Locator], None]:
    return lambda form: form.get_by_label(label).fill(text)


def pick(*labels: str, then: Callable[[Locator], None] | None = None
         ) -> Callable[[Locator], None]:
    """Check the radio buttons of these labels (and then fill the rest)."""
    def fill(form: Locator) -> None:
        for label in labels:
            form.get_by_label(label, exact=True).check()
        if then is not None:
            then(form)
    return fill


def vote(present: int, votes_for: int, against: int, abstain: int
         ) -> Callable[[Locator], None]:
    def fill(form: Locator) -> None:
        for label, count in (("实到", present), ("赞成", votes_for), ("反对", against),
                             ("弃权", abstain)):
            form.get_by_label(label, exact=True).fill(str(count))
    return fill


def log_in_again(phones: Phones, who: str, page: Page, where: str) -> None:
    """Half a year on, the session has long ended: the person logs in and goes back."""
    page.goto(where)
    expect(page).to_have_url(re.compile(r"/login\?"))
    phones.login(who, page)
    expect(page).to_have_url(re.compile(re.escape(where) + "$"))


# --------------------------------------------------------------------------- the whole case
def test_a_whole_case_from_filing_to_expulsion(world: World, phones: Phones,
                                               shots: Path) -> None:
    a4 = world.members["a4"]

    # 王建国 (sec_a) files a case from 杨洋's page, reached from the branch's roster.
    secretary = phones.login("sec_a")
    secretary.goto("/committee/members")
    secretary.locator(f'a[href^="/committee/members/{a4}?"]').first.click()
    expect(secretary.get_by_role("heading", level=1)).to_contain_text("杨洋")
    section = secretary.locator("#cases")
    section.get_by_text("启动组织处置（不合格党员处置）").click()
    section.get_by_role("combobox", name=re.compile("^理由")).select_option(label="其他")
    expect(section.get_by_label("年度")).to_have_value("2026")
    section.get_by_label("说明（理由为其他时必填）").fill(
        "2025年下半年起多次无故不参加组织生活，经支部多次提醒仍无改变。")
    fits(secretary)
    section.get_by_role("button", name="启动组织处置").click()
    expect(secretary).to_have_url(re.compile(r"/committee/cases/\d+$"))
    case_id = int(secretary.url.rsplit("/", 1)[1])
    here = f"/committee/cases/{case_id}"
    expect(secretary.locator("#flash")).to_contain_text("已启动组织处置。下一步：调查核实。")
    expect(secretary.get_by_role("heading", level=1)).to_have_text("杨洋的处置案件")
    expect(secretary.locator(".cs-summary")).to_contain_text("理由：其他")
    expect(due(secretary)).to_have_text(NEXT.format(step="调查核实", by=BRANCH))
    assert done(secretary) == ["启动组织处置"]
    fits(secretary)
    accessible(secretary)
    asked = Asked(secretary)

    # Investigation, the talk (two talkers of the branch), the proposal: 限期改正, 6 months.
    take(secretary, "investigation", "记录调查核实", "已调查核实",
         words("调查核实的情况", "经核实，杨洋2025年7月至12月未参加支部组织生活，党费按时交纳。"))
    expect(due(secretary)).to_have_text(NEXT.format(step="谈话", by=BRANCH))
    form = secretary.locator("#form-talk")
    expect(form.get_by_label("谈话日期")).to_have_value("2026-01-10")
    talkers = form.get_by_label("谈话人1").locator("option").all_inner_texts()
    assert "杨洋" not in talkers and {"张伟", "刘芳", "王建国"} <= set(talkers), talkers

    def talk_form(form: Locator) -> None:
        form.get_by_label("谈话人1").select_option(label="王建国")
        form.get_by_label("谈话人2").select_option(label="李秀英")
        form.get_by_label("谈话情况").fill("本人承认工作忙、对组织生活重视不够，表示愿意改正。")
    take(secretary, "talk", "记录谈话", "已谈话", talk_form)
    expect(due(secretary)).to_have_text("下一步：支委会提出处置意见")
    proposal = secretary.locator("#form-proposal")
    expect(proposal.get_by_role("radio")).to_have_count(3)  # 限期改正, 劝其退党, 除名

    def months_and_reason(form: Locator) -> None:
        form.get_by_label("限期改正的月数（1到12，不填为默认）").fill("6")
        form.get_by_label("理由", exact=True).fill("经教育有所认识，给予限期改正。")
    take(secretary, "proposal", "提出处置意见", "待上级预审",
         pick("限期改正", then=months_and_reason))
    expect(due(secretary)).to_have_text("下一步：上级预审")
    expect(secretary.locator(".cs-summary")).to_contain_text("处置意见：限期改正（6个月）")
    expect(secretary.locator("#next")).to_have_count(0)  # the branch has nothing to do now
    assert done(secretary) == ["启动组织处置", "调查核实", "谈话", "支委会提出处置意见"]
    expect(secretary.locator("#steps")).to_contain_text("谈话人：王建国、李秀英")
    asked.never()

    # 杨洋 reads the notice on her phone (one tap from her score's "新消息" line) and opens
    # her case from it; she writes a 申辩.
    member = phones.login("a4")
    member.locator("a.notices-line").click()
    notice = member.locator(".notice-item", has_text="支部委员会启动了关于您的组织处置")
    expect(notice).to_contain_text("理由：其他")
    expect(notice).to_contain_text("支部大会表决前，您可以提出申辩")
    notice.get_by_role("link", name=re.compile("查看案件")).click()
    mine = f"/me/cases/{case_id}"
    expect(member).to_have_url(re.compile(re.escape(mine) + "$"))
    expect(member.get_by_role("heading", level=1)).to_have_text("关于我的组织处置")
    expect(due(member)).to_have_text("下一步：上级预审")
    expect(member.locator(".cs-me")).to_contain_text("处置意见：限期改正（6个月）")
    assert done(member) == ["启动组织处置", "调查核实", "谈话", "支委会提出处置意见"]
    expect(member.locator("#appeal")).to_have_count(0)
    defence = member.locator("#defence")
    defence.get_by_label("申辩内容（1到2000字）").fill(
        "下半年我在外地照顾生病的母亲，没能参加组织生活，不是有意的。今后一定按时参加。")
    readable(member)
    defence.get_by_role("button", name="提交申辩").click()
    expect(member).to_have_url(re.compile(re.escape(mine) + "#steps$"))
    expect(member.locator("#flash")).to_contain_text("已提交，会记录在案件中")
    expect(member.locator("#steps li").last).to_contain_text("在外地照顾生病的母亲")
    assert done(member)[-1] == "本人申辩"
    expect(member.locator("#defence")).to_be_visible()  # may write again until the vote
    member.evaluate("() => window.scrollTo(0, 0)")
    readable(member)
    accessible(member)
    shoot(member, shots, "23-member-case.png")

    # 周强 (party_sec, the 党委) finds it in his queue and prereviews it.
    above = phones.login("party_sec")
    above.get_by_role("link", name=re.compile("^支部工作")).click()  # his nav shows it waits
    above.get_by_role("link", name=re.compile("待上级办理的处置案件")).click()
    expect(above).to_have_url(re.compile(r"/committee/cases#queue$"))
    row = above.locator("#queue a", has_text="杨洋")
    expect(row).to_contain_text("待上级预审")
    expect(row).to_contain_text("第一支部")
    fits(above)
    accessible(above)
    shoot(above, shots, "22-case-queue.png")
    row.click()
    expect(above).to_have_url(re.compile(re.escape(here) + "$"))
    expect(due(above)).to_have_text("下一步：上级预审")
    expect(above.locator("#steps")).to_contain_text("在外地照顾生病的母亲")  # the defence
    fits(above)
    above_asked = Asked(above)
    take(above, "prereview", "记录预审意见", "待支部大会表决",
         pick("同意，提交支部大会表决", then=words("意见", "同意提交支部大会表决。")))
    expect(due(above)).to_have_text(NEXT.format(step="支部大会表决", by=BRANCH))
    above_asked.never()

    # The branch meeting: too few there is refused in words; then the real count, asked once.
    secretary.reload()
    expect(due(secretary)).to_have_text(NEXT.format(step="支部大会表决", by=BRANCH))
    ballot = secretary.locator("#form-vote")
    expect(ballot).to_contain_text("本支部有表决权的党员现有 6 名")
    expect(ballot.locator(".cs-warn")).to_contain_text("表决结果记录后不能更改")
    vote(5, 4, 1, 0)(ballot)
    secretary.evaluate("() => window.scrollTo(0, 0)")
    fits(secretary)
    accessible(secretary)
    shoot(secretary, shots, "21-case-committee.png")
    ballot.get_by_label("实到", exact=True).fill("3")
    ballot.get_by_label("赞成", exact=True).fill("3")
    ballot.get_by_label("反对", exact=True).fill("0")
    ballot.get_by_role("button", name="记录表决结果").click()
    expect(secretary.get_by_role("alert")).to_contain_text(
        "到会有表决权的党员未超过应到会人数的一半，不能表决。")
    asked.once("表决结果记录后不能更改")
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("待支部大会表决")
    take(secretary, "vote", "记录表决结果", "待上级审批", vote(5, 4, 1, 0))
    asked.once("表决结果记录后不能更改")
    expect(secretary.locator("#steps li").last).to_contain_text("赞成 4，反对 1，弃权 0")
    expect(secretary.locator("#steps li").last).to_contain_text(
        "应到会有表决权的党员 6 名，实到 5 名")
    expect(due(secretary)).to_have_text("下一步：上级审批")

    # The 党委 approves: the page asks once, saying what follows.
    above.goto("/committee/cases")
    above.locator("#queue a", has_text="杨洋").click()
    expect(above.locator("#form-decision .cs-warn")).to_contain_text("批准后开始限期改正")
    take(above, "decision", "记录审批结果", "限期改正中",
         pick("批准", then=words("意见", "同意限期改正六个月。")))
    above_asked.once("批准后开始限期改正，期满后由支部考察。", "审批结果记录后不能更改。确定吗？")
    summary = above.locator(".cs-summary")
    expect(summary).to_contain_text("改正期限：2026年7月10日")
    expect(due(above)).to_have_text(
        NEXT.format(step="期满考察", by=BRANCH) + "。改正期限至 2026年7月10日，还有 181 天")

    # The branch sees the deadline, and no 期满考察 before it.
    secretary.reload()
    expect(due(secretary)).to_contain_text("改正期限至 2026年7月10日，还有 181 天")
    expect(secretary.locator("#next")).to_contain_text("改正期限至 2026年7月10日，期满后才能考察。")
    expect(secretary.locator("#form-followup")).to_have_count(0)
    fits(secretary)

    # 杨洋 sees it in plain words, her 申辩 box gone; she appeals (申诉), the 党委 answers.
    member.reload()
    expect(member.locator(".cs-me .muted").first).to_contain_text("限期改正中")
    expect(due(member)).to_contain_text("改正期限至 2026年7月10日，还有 181 天")
    expect(member.locator(".cs-me")).to_contain_text("改正期限：2026年7月10日")
    expect(member.locator("#defence")).to_have_count(0)
    appeal = member.locator("#appeal")
    appeal.get_by_label("申诉内容（1到2000字）").fill("我母亲仍在住院，六个月期限内难以每次参加，"
                                                  "请求延长改正期限。")
    appeal.get_by_role("button", name="提交申诉").click()
    expect(member.locator("#appeal")).to_contain_text("您的申诉已提交，等待上级党委答复。")
    assert done(member)[-1] == "申诉"
    readable(member)

    above.goto("/committee/cases")
    row = above.locator("#queue a", has_text="杨洋")
    expect(row).to_contain_text("申诉待答复")
    row.click()
    expect(due(above)).to_contain_text(NEXT.format(step="期满考察", by=BRANCH))
    take(above, "appeal_answer", "答复申诉", "限期改正中",
         words("答复", "经研究，维持限期改正六个月的决定；期间可请假，但须向支部说明。"))
    above_asked.never()
    member.reload()
    expect(member.locator("#steps li").last).to_contain_text("维持限期改正六个月的决定")
    expect(member.locator("#appeal")).to_contain_text("对上级党委的审批结果有不同意见")

    # Half a year on, a day past the deadline: the 期满考察 form is there. Sent as if before
    # the deadline (the clock put back two days stands in for a post made then), refused.
    world.clock.advance(days=182)  # 2026-07-11
    log_in_again(phones, "sec_a", secretary, here)
    expect(due(secretary)).to_contain_text("改正期限 2026年7月10日 已到，可以进行期满考察")
    world.clock.advance(days=-2)
    followup = secretary.locator("#form-followup")
    followup.get_by_label("仍未改正（重新提出劝退或除名）").check()
    followup.get_by_role("button", name="记录考察结果").click()
    expect(secretary.get_by_role("alert")).to_have_text("限期改正尚未期满，期满后才能进行考察。")
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("限期改正中")
    world.clock.advance(days=2)

    # Not rectified: only 劝其退党 or 除名 may follow; 除名 is proposed.
    secretary.reload()
    take(secretary, "followup", "记录考察结果", "已谈话",
         pick("仍未改正（重新提出劝退或除名）",
              then=words("考察情况", "期限内仍有四次无故缺席组织生活，未见改正。")))
    expect(due(secretary)).to_have_text("下一步：支委会提出处置意见")
    measures = secretary.locator("#form-proposal .cs-choice")
    expect(measures).to_have_text(["劝其退党", "除名"])
    expect(secretary.get_by_label("限期改正的月数（1到12，不填为默认）")).to_have_count(0)
    take(secretary, "proposal", "提出处置意见", "待上级预审", pick("除名", then=words(
        "理由", "限期改正期满仍无转变，建议予以除名。")))

    # 杨洋, still a member, logs in again and sees what is proposed.
    log_in_again(phones, "a4", member, mine)
    expect(member.locator(".cs-me")).to_contain_text("处置意见：除名")
    expect(due(member)).to_have_text("下一步：上级预审")
    expect(member.locator("#defence")).to_be_visible()
    readable(member)

    # Prereview, vote, decision once more; the 党委's page says what 除名 means, once.
    log_in_again(phones, "party_sec", above, here)
    take(above, "prereview", "记录预审意见", "待支部大会表决", pick("同意，提交支部大会表决"))
    secretary.reload()
    take(secretary, "vote", "记录表决结果", "待上级审批", vote(6, 5, 1, 0))
    asked.once("表决结果记录后不能更改")
    above.reload()
    take(above, "decision", "记录审批结果", "已办结：已除名", pick("批准"))
    above_asked.once("批准后该党员即被除名：党员身份终止，账号立即停用，记录保留。")
    expect(due(above)).to_have_text("案件已办结。")

    # 杨洋's next page load sends her to the login page, where she can log in no more.
    member.reload()
    expect(member).to_have_url(re.compile(r"/login\?next=" + re.escape(mine) + "$"))
    member.get_by_label("用户名").fill("a4")
    member.get_by_label("密码").fill(phones.password)
    member.get_by_role("button", name="登录", exact=True).click()
    expect(member.get_by_role("alert")).to_contain_text("用户名或密码不正确。")
    expect(member).to_have_url(re.compile(r"/login"))

    # She writes to the 党委; 周强 records her appeal on her behalf and answers it.
    above.reload()
    expect(above.locator("#next")).to_contain_text("本人已离开、不能登录，由上级党委代为登记申诉。")
    take(above, "appeal", "代为登记申诉", "已办结：已除名",
         words("申诉内容", "本人来信：对除名决定不服，请求重新考虑。"))
    expect(above.locator("#steps li").last).to_contain_text("本人已离开，由上级党委代为登记")
    expect(due(above)).to_have_text(NEXT.format(step="申诉答复", by=ABOVE))
    take(above, "appeal_answer", "答复申诉", "已办结：已除名",
         words("答复", "经复查，除名程序合规，维持原决定。"))
    expect(due(above)).to_have_text("案件已办结。")
    # (Another appeal of hers could still be recorded; nothing else is left to do.)
    expect(above.locator("#next form")).to_have_count(1)
    expect(above.locator("#form-appeal")).to_be_visible()
    assert done(above) == [
        "启动组织处置", "调查核实", "谈话", "支委会提出处置意见", "本人申辩", "上级预审",
        "支部大会表决", "上级审批", "申诉", "申诉答复", "期满考察", "支委会提出处置意见",
        "上级预审", "支部大会表决", "上级审批", "申诉", "申诉答复"]
    fits(above)
    accessible(above)

    # The A4 审批表, from the case page.
    above.get_by_role("link", name="打印审批表（A4）").click()
    expect(above).to_have_url(re.compile(re.escape(here) + "/print$"))
    expect(above.get_by_role("heading", level=1)).to_contain_text("不合格党员处置审批表")
    expect(above.locator("table.case-steps tbody tr")).to_have_count(17)
    expect(above.locator("dl.case-facts")).to_contain_text("已办结：已除名")
    # Wider than the phone, and its table scrolls without a keyboard: see
    # test_the_print_fits_a_phone.
    accessible(above)
    shoot(above, shots, "24-case-print.png")


# --------------------------------------------------------------------------- through the API
def decided(world: World, member: str, measure: str) -> int:
    """A case about `member` taken through the API to the 党委's approval of `measure`."""
    api = world.call
    case: int = api.post("sec_a", "/cases", {"member_id": world.members[member],
                                             "ground": "lost_contact", "year": 2026,
                                             "note": "失联半年"}, 201)["id"]
    talked = ("sec_a", {"kind": "talk", "held_on": TODAY, "summary": "谈心谈话",
                        "talker_ids": [world.members["a1"], world.members["a2"]]})
    for who, body in (INVESTIGATE, talked, propose(measure), PREREVIEW, VOTE, DECIDE):
        api.post(who, f"/cases/{case}/steps", body)
    return case


def test_the_print_fits_a_phone(world: World, phones: Phones) -> None:
    """The A4 审批表 read on a phone reflows to the screen (each step a block, the opinions
    one under the other): no sideways scrolling, no scrolling box a keyboard cannot reach."""
    case = decided(world, "a4", "expel")
    page = phones.login("party_sec", then=f"/committee/cases/{case}/print")
    expect(page.locator("table.case-steps tbody tr")).to_have_count(7)
    problems = []
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    if width > PHONE["width"]:
        problems.append(f"scrolls sideways: {width}px")
    violations = Axe().run(page).response["violations"]
    problems += [axe_report([v]) for v in violations if v["impact"] in SERIOUS]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- 劝其退党


def test_persuaded_to_withdraw_refused_then_agreed(world: World, phones: Phones) -> None:
    refusing, agreeing = decided(world, "a3", "persuade"), decided(world, "a4", "persuade")
    secretary = phones.login("sec_a")
    asked = Asked(secretary)

    # 陈静 refuses to withdraw (劝而不退): back to a proposal, where only 除名 is offered.
    secretary.goto(f"/committee/cases/{refusing}")
    expect(secretary.locator(".cm-titlebar .badge")).to_have_text("待劝退结果")
    expect(due(secretary)).to_have_text(NEXT.format(step="劝退结果", by=BRANCH))
    expect(secretary.locator("#form-withdrawal .cs-warn")).to_contain_text(
        "劝而不退的，只能再提出除名")
    fits(secretary)
    accessible(secretary)
    take(secretary, "withdrawal", "记录劝退结果", "已谈话",
         pick("劝而不退", then=words("说明", "本人不同意退党。")))
    asked.once("本人同意退党的，党员身份即终止", "确定吗？")
    expect(secretary.locator("#steps li").last).to_contain_text("劝而不退")
    expect(due(secretary)).to_have_text("下一步：支委会提出处置意见")
    expect(secretary.locator("#form-proposal .cs-choice")).to_have_text(["除名"])
    take(secretary, "proposal", "提出处置意见", "待上级预审",
         pick("除名", then=words("理由", "劝而不退，建议除名。")))

    # 杨洋 agrees to withdraw: the case closes and she is no longer a member.
    member = phones.login("a4")
    member.goto(f"/me/cases/{agreeing}")
    expect(member.locator(".cs-me")).to_contain_text("处置意见：劝其退党")
    expect(due(member)).to_have_text(NEXT.format(step="劝退结果", by=BRANCH))
    readable(member)
    secretary.goto(f"/committee/cases/{agreeing}")
    take(secretary, "withdrawal", "记录劝退结果", "已办结：本人已退党（劝退）",
         pick("本人同意退党", then=words("说明", "本人书面提出退党。")))
    asked.once("本人同意退党的，党员身份即终止")
    expect(due(secretary)).to_have_text("案件已办结。")
    member.reload()
    expect(member).to_have_url(re.compile(r"/login\?next="))
