"""The annual rating's steps on the pages (appraisal.md §2, §4), each form posted as a
browser without JavaScript posts it: the happy path and a refusal each. Members write their
self-assessment, vote once on one screen (no count but ballots cast while it is open, never
a tally), read the published rating and object on their own line; the committee runs the
steps from the sheet and types paper ballots; the 党委 above approves or returns."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import EARLY_REASON, NO_NOTICE, World, ok
from tests.web.support import csrf_of, web_login

GRADE_WORDS = ("优秀", "合格", "基本合格", "不合格")


def text_of(html: str) -> str:
    """The words a person reads: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def section(html: str, element_id: str, tag: str = "section") -> str:
    """The element with this id, up to its closing tag (no nesting of `tag` inside)."""
    start = html.rindex("<", 0, html.index(f'id="{element_id}"'))
    return html[start:html.index(f"</{tag}>", start) + len(tag) + 3]


def flashes(client: TestClient, path: str) -> str:
    html = client.get(path).text
    return " ".join(re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>', html))


def post(client: TestClient, path: str, token: str, data: dict[str, Any] | None = None,
         back: str | None = None) -> Any:
    """A plain form post (no HTMX), from the page at `back` (the Referer a browser sends)."""
    headers = {"referer": f"http://testserver{back}"} if back else {}
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=headers,
                       follow_redirects=False)


def landed(answer: Any) -> str:
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:600]}"
    return str(answer.headers["location"])


def rating_of(world: World) -> int:
    """Branch A's 2025 rating in draft: the four quarters finalized through the API."""
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    rating_id: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings",
                                   {"year": 2025}), 201)["id"]
    return rating_id


def published(world: World, days: int = 5) -> int:
    """The rating with a closed ballot (a1 voted), published for `days`."""
    rid = rating_of(world)
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))
    ok(world.post("a1", f"/ratings/{rid}/ballots", {"votes": {
        str(world.members["a2"]): "excellent"}}), 201)
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/close"))
    early = {"reason": EARLY_REASON} if days < 5 else {}  # below the minimum (issue 17)
    ok(world.post("sec_a", f"/ratings/{rid}/publish", {"notice_days": days} | early))
    return rid


# --- the member: self-assessment, the ballot --------------------------------------------


def test_self_assessment_written_on_the_phone_and_read_by_the_others(
        world: World, client: TestClient) -> None:
    rid = rating_of(world)
    token = web_login(client, "a1")
    page = client.get(f"/me/ratings/{rid}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "2025年度评星定级 民主评议中" in words and "民主测评还没有开始" in words
    # A draft's scores and grades are not the members' to see.
    assert not any(w in words for w in ("优秀", "基本合格", "不合格"))
    assert not re.search(r"\d\s*分", words)

    empty = post(client, f"/me/ratings/{rid}/self-assessment", token, {"text": "   "})
    assert empty.status_code == 422 and "个人自评须写1到2000字" in empty.text
    long = post(client, f"/me/ratings/{rid}/self-assessment", token, {"text": "字" * 2001})
    assert long.status_code == 422 and "字" * 2001 in long.text  # what was typed stays
    assert ok(world.get("sec_a", f"/ratings/{rid}/self-assessments"))["total"] == 0

    answer = post(client, f"/me/ratings/{rid}/self-assessment", token,
                  {"text": "全年参加组织生活，带头参加防汛。"})
    assert landed(answer) == f"/me/ratings/{rid}#self"
    page = client.get(f"/me/ratings/{rid}").text
    assert "个人自评已保存" in page and "全年参加组织生活，带头参加防汛。" in page
    assert "保存修改" in page

    web_login(client, "a2")
    others = section(client.get(f"/me/ratings/{rid}").text, "others", "div")
    assert "其他党员的自评（1）" in text_of(others) and "带头参加防汛" in others
    # The committee's sheet counts it: 1 of the 6 lines that write one.
    web_login(client, "sec_a")
    sheet = client.get(f"/committee/ratings/{rid}").text
    assert "已收到 1 / 6 份" in text_of(section(sheet, "step-self-assessment", "li"))
    # Another branch's member finds nothing.
    web_login(client, "b1")
    assert client.get(f"/me/ratings/{rid}").status_code == 404


def test_the_member_votes_once_on_one_screen_and_sees_no_count(world: World,
                                                                client: TestClient) -> None:
    rid = rating_of(world)
    a1, a2, a3 = (world.members[m] for m in ("a1", "a2", "a3"))
    ok(world.put("a2", f"/ratings/{rid}/self-assessment", {"text": "a2的自评全文"}))
    token = web_login(client, "a1")
    assert landed(client.get(f"/me/ratings/{rid}/ballot", follow_redirects=False)) == \
        f"/me/ratings/{rid}"  # not open yet: the rating page says so
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))
    home = client.get("/me").text
    assert f'href="/me/ratings/{rid}/ballot"' in home and "民主测评：请投票" in home

    ballot = client.get(f"/me/ratings/{rid}/ballot")
    assert ballot.headers["cache-control"] == "no-store"
    html = ballot.text
    # The five other graded members of branch A, never a1, four choices each.
    assert html.count('class="card rt-vote"') == 5 and f'name="g_{a1}"' not in html
    assert html.count(f'name="g_{a2}"') == 5  # four grades and 不选（弃权）
    assert "不选的党员算作弃权" in html and "a2的自评全文" in html
    assert not re.search(r"\d+\s*/\s*\d+", text_of(html))  # no count of any kind

    check = post(client, f"/me/ratings/{rid}/ballot/check", token,
                 {f"g_{a2}": "excellent", f"g_{a3}": "unqualified"},
                 back=f"/me/ratings/{rid}/ballot")
    # The check page answers a POST: its language switch goes back to the ballot itself.
    assert re.search(rf'action="/language".*?name="next" value="/me/ratings/{rid}/ballot"',
                     check.text, re.S)
    words = text_of(check.text)
    assert check.status_code == 200 and check.headers["cache-control"] == "no-store"
    assert "您为 2 位党员选了等次，3 位弃权" in words and "选票投出后不能更改，也不能撤回" in words
    assert words.index("a2") < words.index("优秀") < words.index("a3") < words.index("不合格")
    edit = post(client, f"/me/ratings/{rid}/ballot/check", token,
                {f"g_{a2}": "excellent", "edit": "1"})
    assert re.search(rf'name="g_{a2}" value="excellent" checked', edit.text)

    refused = post(client, f"/me/ratings/{rid}/ballot", token, {f"g_{a1}": "excellent"})
    assert refused.status_code == 422 and "不能给自己投票" in refused.text
    refused = post(client, f"/me/ratings/{rid}/ballot", token, {f"g_{a2}": "best"})
    assert refused.status_code == 422 and "只能选优秀、合格、基本合格或不合格" in refused.text
    assert ok(world.get("sec_a", f"/ratings/{rid}"))["ballot"]["cast_online"] == 0

    cast = post(client, f"/me/ratings/{rid}/ballot", token,
                {f"g_{a2}": "excellent", f"g_{a3}": "unqualified"})
    assert landed(cast) == f"/me/ratings/{rid}"
    page = client.get(f"/me/ratings/{rid}").text
    card = text_of(section(page, "ballot", "div"))
    assert "投票成功" in page and "您已投票" in card
    assert not any(w in card for w in GRADE_WORDS)  # no record of the choices
    assert "民主测评：请投票" not in client.get("/me").text
    again = post(client, f"/me/ratings/{rid}/ballot", token, {f"g_{a2}": "qualified"})
    assert landed(again) == f"/me/ratings/{rid}"
    assert "您已经投过票了" in flashes(client, f"/me/ratings/{rid}")
    assert landed(client.get(f"/me/ratings/{rid}/ballot", follow_redirects=False))
    assert ok(world.get("sec_a", f"/ratings/{rid}"))["ballot"]["cast_online"] == 1

    # Closed: still no tally on any member page, not even for a committee member's own.
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/close"))
    for who in ("a1", "sec_a"):
        web_login(client, who)
        html = client.get(f"/me/ratings/{rid}").text
        assert "rt-tally" not in html and "弃权" not in text_of(section(html, "ballot", "div"))


def test_a_member_who_is_not_a_voter_is_told_so(world: World, client: TestClient) -> None:
    rid = rating_of(world)
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))
    world.add_member("late", world.branch_a)  # joined after the ballot opened
    token = web_login(client, "late")
    words = text_of(client.get(f"/me/ratings/{rid}").text)
    assert "您不是本次民主测评的投票人" in words and "您不在本年度的评定名单中" in words
    answer = post(client, f"/me/ratings/{rid}/ballot", token,
                  {f"g_{world.members['a2']}": "qualified"})
    assert landed(answer) == f"/me/ratings/{rid}"
    assert "您不是本次民主测评的投票人" in flashes(client, f"/me/ratings/{rid}")


# --- the committee: the steps, participation, paper ballots --------------------------------


def test_the_sheet_runs_the_ballot_with_participation_and_never_a_count_but_ballots(
        world: World, client: TestClient) -> None:
    rid = rating_of(world)
    url = f"/committee/ratings/{rid}"
    token = web_login(client, "sec_a")
    sheet = client.get(url).text
    step = section(sheet, "step-ballot", "li")
    assert 'aria-current="step"' in step and "开启民主测评" in step
    assert "本年度规则要求先进行民主测评" in text_of(section(sheet, "step-notice", "li"))
    # Publishing before any ballot: refused with the reason, nothing changed.
    answer = post(client, f"{url}/publish", token, {"notice_days": "5"}, back=url)
    assert landed(answer) == url
    assert "本年度规则要求先进行民主测评" in flashes(client, url)

    assert landed(post(client, f"{url}/ballot/open", token, back=url)) == f"{url}#step-ballot"
    assert "民主测评已开启，6名党员可以投票" in flashes(client, url)
    # Closing now, or with one or two ballots (whose votes the tally would give away), is
    # warned against beside the button and in its confirmation.
    step = section(client.get(url).text, "step-ballot", "li")
    assert "还没有人投票：现在结束" in text_of(step)
    assert re.search(r'hx-post="[^"]*/ballot/close" hx-confirm="还没有人投票', step)
    assert landed(post(client, f"{url}/ballot/open", token, back=url)) == url
    assert "民主测评已经开启过" in flashes(client, url)
    ok(world.post("a1", f"/ratings/{rid}/ballots", {"votes": {
        str(world.members["a2"]): "excellent"}}), 201)
    answer = post(client, f"{url}/publish", token, {"notice_days": "5"}, back=url)
    assert "民主测评还在进行，请先结束测评" in flashes(client, landed(answer))

    step = text_of(section(client.get(url).text, "step-ballot", "li"))
    assert "1 / 6 已投票" in step and "在线 1 张，纸质 0 张" in step
    assert "只有 1 名党员在线投票：谁在线投了票是知道的" in step
    assert "还没有在线投票（可提醒）： sec_a、vice_a、a2、a3、a4" in step
    html = client.get(url).text
    assert "rt-tally" not in html and "测评票数" not in html  # no tally while open

    # With htmx: a refusal comes back in #flash; a step done reloads the sheet where it is.
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}
    answer = client.post(f"{url}/ballot/open", headers=htmx)
    assert answer.status_code == 409 and answer.headers["HX-Retarget"] == "#flash"
    assert "民主测评已经开启过" in answer.text
    answer = client.post(f"{url}/ballot/close", headers=htmx)
    assert answer.status_code == 204 and answer.headers["HX-Refresh"] == "true"
    html = client.get(url).text
    assert "共收回1张选票" in html
    a2_line = text_of(section(html, f"rating-{world.members['a2']}", "li"))
    assert "优秀 1 合格 0 基本合格 0 不合格 0 弃权 0" in a2_line
    a3_line = text_of(section(html, f"rating-{world.members['a3']}", "li"))
    assert "优秀 0 合格 0 基本合格 0 不合格 0 弃权 1" in a3_line
    assert 'aria-current="step"' in section(html, "step-grades", "li")
    assert landed(post(client, f"{url}/ballot/close", token, back=url)) == url
    assert "民主测评没有在进行" in flashes(client, url)


def test_paper_ballots_typed_one_row_each(world: World, client: TestClient) -> None:
    rid = rating_of(world)
    members = [world.members[m] for m in ("sec_a", "vice_a", "a1", "a2", "a3", "a4")]
    paper = f"/committee/ratings/{rid}/paper"
    token = web_login(client, "sec_a")
    assert "民主测评没有在进行" in client.get(paper).text
    refused = post(client, paper, token, {f"v_{members[0]}": "1"})
    assert refused.status_code == 409 and "民主测评没有在进行" in refused.text
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))

    form = client.get(paper)
    assert form.headers["cache-control"] == "no-store"
    cells = re.findall(r'<input id="v-(\d+)" name="v_\d+" value=""', form.text)
    assert [int(c) for c in cells] == members  # the printed form's order
    assert re.search(rf'id="v-{members[0]}"[^>]*autofocus', form.text, re.S)

    def typed(*cells: str) -> dict[str, str]:
        return {f"v_{m}": c for m, c in zip(members, cells, strict=False)}

    # Digits, full-width digits and the grades' first characters; blank and 0 abstain.
    for number, row in enumerate((("1", "2", "3", "4", "", "0"),
                                  ("１", "合", "基", "不", "优", "-")), start=1):
        answer = post(client, paper, token, typed(*row))
        assert landed(answer) == paper
        page = client.get(paper).text
        assert f"已录入第 {number} 张纸质票" in page
        assert re.findall(r'name="v_\d+" value="([^"]*)"', page) == [""] * 6  # empty again
    bad = post(client, paper, token, typed("1", "5", "2"))
    assert bad.status_code == 422 and "第2格（vice_a）只能填 1、2、3、4" in bad.text
    assert re.search(rf'id="v-{members[1]}" name="v_{members[1]}" value="5"[^>]*aria-invalid',
                     bad.text, re.S)
    assert f'name="v_{members[2]}" value="2"' in bad.text  # nothing typed is lost
    assert re.search(rf'id="v-{members[1]}"[^>]*autofocus', bad.text, re.S)
    both = post(client, paper, token, typed("1") | {"blank": "1"})
    assert both.status_code == 422 and "勾选了“空白票”，但也填了格" in both.text
    assert f'name="v_{members[0]}" value="1"' in both.text
    empty = post(client, paper, token, {})
    assert empty.status_code == 422 and "这张票一格也没有填" in empty.text
    assert landed(post(client, paper, token, {"blank": "1"})) == paper

    tally_before = ok(world.get("sec_a", f"/ratings/{rid}"))["ballot"]
    assert (tally_before["cast_paper"], tally_before["voters"]) == (3, 6)
    sheet = client.get(f"/committee/ratings/{rid}").text
    assert "rt-few" not in sheet and "结束民主测评" in sheet  # paper ballots only: no warning
    for _ in range(3):
        assert landed(post(client, paper, token, typed("2"))) == paper
    full = post(client, paper, token, typed("4", "4"))
    assert full.status_code == 409 and "选票已经全部收回" in full.text
    assert f'name="v_{members[0]}" value="4"' in full.text
    assert "6 / 6" in text_of(full.text)

    ok(world.post("sec_a", f"/ratings/{rid}/ballot/close"))
    tally = {i["member_id"]: i["tally"] for i in ok(world.get("sec_a", f"/ratings/{rid}"))["items"]}
    assert tally[members[0]] == {"excellent": 2, "qualified": 3, "basically_qualified": 0,
                                 "unqualified": 0, "abstain": 1}
    assert tally[members[4]] == {"excellent": 1, "qualified": 0, "basically_qualified": 0,
                                 "unqualified": 0, "abstain": 5}
    web_login(client, "a1")
    assert client.get(paper).status_code in (403, 404)


def test_publish_objection_answer_reopen_and_submit(world: World, client: TestClient) -> None:
    rid = rating_of(world)
    url = f"/committee/ratings/{rid}"
    a1 = world.members["a1"]
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/close"))
    ok(world.patch("sec_a", f"/ratings/{rid}/items/{a1}",
                   {"grade": "basically_qualified", "reason": "全年两次无故缺席组织生活"}))
    ok(world.patch("sec_a", f"/ratings/{rid}/items/{world.members['a2']}",
                   {"grade": "basically_qualified", "reason": "a2的理由只给a2看"}))
    token = web_login(client, "sec_a")
    publish_form = section(client.get(url).text, "step-notice", "li")
    assert 'name="notice_days" value="5"' in publish_form  # the rule set's default
    # A bad number is shown in the form, as typed.
    refused = post(client, f"{url}/publish", token, {"notice_days": "61"}, back=url)
    assert refused.status_code == 422
    form = section(refused.text, "step-notice", "li")
    assert "公示天数须为0到60之间的整数" in form and 'value="61"' in form
    # Asked once, with what will happen: the days typed and when the notice ends.
    asked = post(client, f"{url}/publish", token, {"notice_days": "7"}, back=url)
    assert asked.status_code == 200
    assert "公示 7 天，至 2026-01-17 10:00；公示期间党员可提出异议。" in text_of(asked.text)
    assert ok(world.get("sec_a", f"/ratings/{rid}"))["status"] == "draft"
    answer = post(client, f"{url}/publish", token, {"notice_days": "7", "step": "confirm"},
                  back=url)
    assert landed(answer) == f"{url}#step-notice"
    assert "已公示，公示期至 2026-01-17 10:00" in flashes(client, url)

    # The member: every line's name, score, stars and grade; their own reason only.
    member_token = web_login(client, "a1")
    page = client.get(f"/me/ratings/{rid}").text
    words = text_of(page)
    assert "公示期至 2026年1月17日 10:00" in words
    assert "等次还不是最终结果，上级党委审批后为准" in words
    assert "全年两次无故缺席组织生活" in words and "a2的理由只给a2看" not in words
    assert len(re.findall(r'<li class="rt-line', page)) == 6
    assert "我的等次" in words and "基本合格 （尚未审批）" in words
    assert "rt-tally" not in page and "弃权" not in words
    empty = post(client, f"/me/ratings/{rid}/objections", member_token, {"text": " "})
    assert empty.status_code == 422 and "请写明异议内容" in empty.text
    answer = post(client, f"/me/ratings/{rid}/objections", member_token,
                  {"text": "两次缺席都已请假"})
    assert landed(answer) == f"/me/ratings/{rid}#objections"
    htmx = client.post(f"/me/ratings/{rid}/objections", data={"text": "第二条异议"},
                       headers={"HX-Request": "true", "X-CSRF-Token": member_token})
    assert htmx.status_code == 201 and "<html" not in htmx.text and "第二条异议" in htmx.text

    # The committee: submitting is refused while the notice runs and objections are open.
    token = web_login(client, "sec_a")
    sheet = client.get(url).text
    assert "现在还不能上报" in sheet and "还有 2 条异议未答复" in text_of(sheet)
    assert landed(post(client, f"{url}/submit", token, back=url)) == url
    assert "公示期尚未结束，结束后才能上报" in flashes(client, url)
    objections = ok(world.get("sec_a", f"/ratings/{rid}/objections"))["items"]
    block = section(client.get(url).text, "objections")
    assert f'action="/committee/objections/{objections[0]["id"]}/resolve"' in block
    for objection in objections:
        answer = post(client, f"/committee/objections/{objection['id']}/resolve", token,
                      {"response": "已核实请假条，维持原等次"}, back=url)
        assert landed(answer) == f"{url}#objections"
    assert "已核实请假条，维持原等次" in section(client.get(url).text, "objections")
    member_token = web_login(client, "a1")
    assert "已核实请假条，维持原等次" in client.get(f"/me/ratings/{rid}").text
    web_login(client, "sec_a")
    token = csrf_of(client, url)

    # Reopen: a reason is required; it is then shown at the top of the sheet.
    assert "请填写理由" in flashes(client, landed(post(client, f"{url}/reopen", token, back=url)))
    assert landed(post(client, f"{url}/reopen", token, {"reason": "a1补交请假条，重新评定"},
                       back=url)) == url
    top = text_of(client.get(url).text.split('class="card rt-steps-card"')[0])
    assert "公示已撤回" in top and "理由：a1补交请假条，重新评定" in top
    assert ok(world.get("sec_a", f"/ratings/{rid}"))["status"] == "draft"
    # No notice: below the year's minimum, so a reason is asked for, and kept.
    short = post(client, f"{url}/publish", token, {"notice_days": "0"}, back=url)
    assert short.status_code == 422
    form = text_of(section(short.text, "step-notice", "li"))
    assert "公示0天，少于本年度规定的最短公示期5天。如确需缩短公示期，请写明理由。" in form
    answer = post(client, f"{url}/publish", token,
                  {"notice_days": "0", "reason": "党委要求本周上报", "step": "confirm"},
                  back=url)
    assert landed(answer) == f"{url}#step-notice"
    assert "已公示" in flashes(client, url)  # as the browser's redirect shows it
    assert landed(post(client, f"{url}/submit", token, back=url)) == f"{url}#step-approval"
    assert "已上报上级党委审批" in flashes(client, url)
    sheet = text_of(client.get(url).text)
    assert "已上报，等待上级党委审批" in sheet and "审批通过" not in sheet
    assert "发布公示理由：党委要求本周上报" in sheet
    web_login(client, "a1")
    assert "已上报上级党委。" in text_of(client.get(f"/me/ratings/{rid}").text)


# --- the level above: the list, approve and return ------------------------------------------


def test_the_level_above_lists_approves_and_returns(world: World, client: TestClient) -> None:
    rid = published(world, days=0)
    url = f"/committee/ratings/{rid}"
    ok(world.post("sec_a", f"/ratings/{rid}/submit"))

    token = web_login(client, "sec_a")
    assert "待审批的评星定级" not in client.get("/committee").text
    assert client.get("/committee/approvals").status_code == 403
    answer = post(client, f"{url}/approve", token, back=url)
    assert "只有上级党组织的委员或管理员" in flashes(client, landed(answer))

    token = web_login(client, "party_sec")
    home = client.get("/committee").text
    assert re.search(r'href="/committee/approvals">待审批的评星定级 <span class="cm-pill">1<',
                     home)
    listing = client.get("/committee/approvals").text
    assert f'href="{url}#step-approval"' in listing
    assert "第一支部 · 2025年度" in text_of(listing) and "测评收回 1 / 6 张" in text_of(listing)
    step = section(client.get(url).text, "step-approval", "li")
    assert "审批通过（最终结果）" in step and "任何人都不能再修改" in step

    assert "请填写理由" in flashes(client, landed(post(client, f"{url}/return", token, back=url)))
    answer = post(client, f"{url}/return", token, {"reason": "a3的等次理由不充分"}, back=url)
    assert landed(answer) == "/committee/approvals"
    assert "已将第一支部2025年度评星定级退回支部" in flashes(client, "/committee/approvals")
    assert "没有等待审批的评星定级" in client.get("/committee/approvals").text

    token = web_login(client, "sec_a")
    top = client.get(url).text.split('class="card rt-steps-card"')[0]
    assert "上级党委退回了这份评定" in text_of(top) and "理由：a3的等次理由不充分" in text_of(top)
    assert landed(post(client, f"{url}/publish", token, NO_NOTICE | {"step": "confirm"},
                       back=url)) == f"{url}#step-notice"
    assert landed(post(client, f"{url}/submit", token, back=url)) == f"{url}#step-approval"

    token = web_login(client, "party_sec")
    top = text_of(client.get(url).text.split('class="card rt-steps-card"')[0])
    assert "此前曾被上级党委退回" in top and "上级党委退回了这份评定" not in top
    answer = post(client, f"{url}/approve", token, back=url)
    assert landed(answer) == "/committee/approvals"
    done = flashes(client, "/committee/approvals")
    assert "已审批第一支部2025年度评星定级，结果为最终结果" in done
    assert ok(world.get("sec_a", f"/ratings/{rid}"))["status"] == "approved"
    assert "已于 2026-01-10 10:00 审批，为最终结果" in text_of(client.get(url).text)
    again = post(client, f"{url}/approve", token, back=url)
    assert "这份评定表没有在等待审批" in flashes(client, landed(again))
    web_login(client, "a1")
    words = text_of(client.get(f"/me/ratings/{rid}").text)
    assert "上级党委已审批，等次为最终结果" in words and "（尚未审批）" not in words


BRANCH_BUTTONS = ("开启民主测评", "录入纸质票", "结束民主测评", "<summary>调整等次",
                  '<button class="primary">公示<', "<summary>撤回公示", "上报上级党委")


def test_the_level_above_reads_the_steps_without_the_branchs_buttons(
        world: World, client: TestClient) -> None:
    """The server refuses a committee above the branch's own steps (branch_committee_only);
    the sheet does not offer them either, in draft, with the ballot open, or published."""
    rid = rating_of(world)
    url = f"/committee/ratings/{rid}"

    def buttons(account: str) -> set[str]:
        web_login(client, account)
        html = client.get(url).text
        return {b for b in BRANCH_BUTTONS if b in html}

    assert buttons("sec_a") == {"开启民主测评", "<summary>调整等次"}
    assert buttons("party_sec") == set()
    assert "由第一支部的支部委员会进行" in text_of(client.get(url).text)
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))
    assert buttons("sec_a") >= {"录入纸质票", "结束民主测评"}
    assert buttons("party_sec") == set()
    paper = client.get(f"{url}/paper")  # party_sec: the form is not theirs either
    assert paper.status_code == 403 and "rt-cell" not in paper.text
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/close"))
    ok(world.post("sec_a", f"/ratings/{rid}/publish", NO_NOTICE))
    assert buttons("sec_a") >= {"<summary>撤回公示", "上报上级党委"}
    assert buttons("party_sec") == set()


def test_the_account_that_submitted_sees_why_it_cannot_approve(world: World,
                                                              client: TestClient) -> None:
    rid = rating_of(world)
    url = f"/committee/ratings/{rid}"
    # An administrator took the branch through its steps (the 党委's committee may not).
    for step in ("ballot/open", "ballot/close"):
        ok(world.post("admin", f"/ratings/{rid}/{step}"))
    ok(world.post("admin", f"/ratings/{rid}/publish", NO_NOTICE))
    ok(world.post("admin", f"/ratings/{rid}/submit"))
    token = web_login(client, "admin")
    step = section(client.get(url).text, "step-approval", "li")
    assert "您发布或上报了这份评定，不能由您审批" in step and "审批通过（最终结果）" not in step
    assert "由您发布或上报，须由其他委员审批" in client.get("/committee/approvals").text
    answer = post(client, f"{url}/approve", token, back=url)
    assert "您发布或上报了这份评定" in flashes(client, landed(answer))
    assert ok(world.get("admin", f"/ratings/{rid}"))["status"] == "submitted"
    token = web_login(client, "party_sec")
    assert landed(post(client, f"{url}/approve", token, back=url)) == "/committee/approvals"
    assert ok(world.get("admin", f"/ratings/{rid}"))["status"] == "approved"


def test_results_list_the_annual_rating(world: World, client: TestClient) -> None:
    rid = published(world)
    web_login(client, "a1")
    ratings = text_of(section(client.get("/me/results").text, "ratings", "ul"))
    assert "2025年度评星定级 公示中 公示期至 2026年1月15日 10:00" in ratings
    home = client.get("/me").text
    assert f'href="/me/ratings/{rid}"' in home and "公示中，请查看" in home
    world.clock.advance(days=6)
    web_login(client, "a1")  # the session has expired meanwhile
    assert "公示期已结束，等待上报" in client.get("/me/results").text


def test_hostile_text_stays_text_on_every_rating_page(world: World, client: TestClient) -> None:
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    rid = rating_of(world)
    ok(world.put("a2", f"/ratings/{rid}/self-assessment", {"text": hostile}))
    ok(world.post("sec_a", f"/ratings/{rid}/ballot/open"))
    pages = {"a1": [f"/me/ratings/{rid}", f"/me/ratings/{rid}/ballot"],
             "sec_a": [f"/committee/ratings/{rid}"]}
    for who, paths in pages.items():
        web_login(client, who)
        for path in paths:
            html = client.get(path).text
            assert "<script>alert(1)" not in html and "<img src=x" not in html, path
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
