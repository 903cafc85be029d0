"""Disposal cases on the pages (appraisal.md §5), each form posted as a browser without
JavaScript posts it: filing from the member's page, every step from the case page (the
happy path and a refusal each), the member's defence and appeal on the phone, the appeal of
a member who has left recorded by the level above, and who may open which page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.case_scene import TODAY, file_case, reach
from tests.api.support import World, ok
from tests.web.support import form_post, web_login
from tests.web.test_rating_steps_pages import flashes, landed, post, text_of


def steps_of(world: World, case: int) -> list[str]:
    return [s["kind"] for s in ok(world.get("admin", f"/cases/{case}"))["steps"]]


def status_of(world: World, case: int) -> tuple[str, Any]:
    seen = ok(world.get("admin", f"/cases/{case}"))
    return seen["status"], seen["outcome"]


def step(client: TestClient, token: str, case: int, data: dict[str, Any]) -> Any:
    """Post a step's form and, as a browser does, open the page it lands on (its message
    shown there once)."""
    answer = post(client, f"/committee/cases/{case}/steps", token, data,
                  back=f"/committee/cases/{case}")
    if answer.status_code == 303 and answer.headers["location"].endswith("#steps"):
        client.get(answer.headers["location"])
    return answer


def test_a_case_is_filed_from_the_members_page(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    a4 = world.members["a4"]
    page = client.get(f"/committee/members/{a4}")
    assert "启动组织处置" in page.text and f'action="/committee/members/{a4}/cases"' in page.text
    # A ground that is not one: refused, nothing filed.
    back = f"/committee/members/{a4}"
    answer = post(client, f"/committee/members/{a4}/cases", token,
                  {"ground": "gossip", "year": "2026"}, back=back)
    assert landed(answer) == back
    assert ok(world.get("admin", "/cases"))["total"] == 0
    answer = post(client, f"/committee/members/{a4}/cases", token,
                  {"ground": "lost_contact", "year": "2026", "note": "失联半年"}, back=back)
    where = landed(answer)
    case = int(where.rsplit("/", 1)[1])
    page = client.get(where)
    assert page.status_code == 200
    words = text_of(page.text)
    assert "失去联系六个月以上" in words and "下一步：调查核实（支部委员会办理）" in words
    assert 'id="form-investigation"' in page.text
    # A second case while this one is open: refused, said in words.
    assert "启动组织处置（" not in client.get(back).text
    answer = post(client, f"/committee/members/{a4}/cases", token,
                  {"ground": "other", "year": "2026", "note": "再启动"}, back=back)
    assert landed(answer) == back
    assert "该党员已有一件未办结的处置案件" in flashes(client, back)
    assert ok(world.get("admin", "/cases"))["total"] == 1
    assert f"/committee/cases/{case}" in client.get("/committee/cases").text


def test_filing_with_javascript_keeps_the_form_on_a_refusal(world: World,
                                                             client: TestClient) -> None:
    """With htmx the filing form posts in place: a refusal comes into #flash and the page,
    with the open form and what was typed, stays; a filing goes to the new case."""
    token = web_login(client, "sec_a")
    a4 = world.members["a4"]
    assert f'hx-post="/committee/members/{a4}/cases"' in client.get(
        f"/committee/members/{a4}").text
    refused = form_post(client, f"/committee/members/{a4}/cases", token,
                        {"ground": "unqualified_rating", "year": "2025", "note": "说明"},
                        htmx=True)
    assert refused.status_code == 409 and refused.headers["HX-Retarget"] == "#flash"
    assert "不是不合格等次" in refused.text
    filed = form_post(client, f"/committee/members/{a4}/cases", token,
                      {"ground": "other", "year": "2026", "note": "长期不参加组织生活"}, htmx=True)
    assert filed.status_code == 204
    assert filed.headers["HX-Redirect"].startswith("/committee/cases/")


def test_every_step_from_the_case_page_and_a_refusal_each(world: World,
                                                          client: TestClient) -> None:
    case: int = ok(file_case(world), 201)["id"]
    here = f"/committee/cases/{case}"
    token = web_login(client, "sec_a")
    m = world.members
    branch_steps: list[tuple[dict[str, Any], dict[str, Any], str, str]] = [
        ({"kind": "investigation", "text": " "}, {"kind": "investigation", "text": "半年未参加"},
         "请填写这一步骤的内容", "investigated"),
        ({"kind": "talk", "on": TODAY, "talker1": m["a1"], "talker2": m["a1"], "text": "谈"},
         {"kind": "talk", "on": TODAY, "talker1": m["a1"], "talker2": m["a2"], "text": "谈"},
         "谈话人须为本支部两名不同的正式党员", "talked"),
        ({"kind": "proposal", "measure": "rectify", "months": "13", "text": "理由"},
         {"kind": "proposal", "measure": "rectify", "months": "6", "text": "经教育仍无转变"},
         "限期改正月数须为1到12之间的整数", "proposed"),
    ]
    for bad, good, said, after in branch_steps:
        assert landed(step(client, token, case, bad)) == here
        assert said in flashes(client, here)
        assert landed(step(client, token, case, good)) == f"{here}#steps"
        assert status_of(world, case)[0] == after
    # The branch cannot prereview: the form is not offered, the post is refused.
    assert 'id="form-prereview"' not in client.get(here).text
    assert landed(step(client, token, case, {"kind": "prereview", "result": "approve"})) == here
    assert status_of(world, case)[0] == "proposed"
    above = web_login(client, "party_sec")
    assert f"/committee/cases/{case}" in client.get("/committee/cases").text
    assert "待上级办理的处置案件" in client.get("/committee").text
    assert landed(step(client, above, case, {"kind": "prereview", "result": "return"})) == here
    assert "退回" in flashes(client, here) or status_of(world, case)[0] == "proposed"
    assert landed(step(client, above, case, {"kind": "prereview", "result": "approve"})) \
        == f"{here}#steps"
    token = web_login(client, "sec_a")
    page = client.get(here).text
    assert 'hx-confirm="表决结果记录后不能更改' in page and "本支部有表决权的党员现有 6 名" in page
    counts = {"kind": "vote", "on": TODAY, "present": "3", "for": "3", "against": "0",
              "abstain": "0"}
    assert landed(step(client, token, case, counts)) == here
    assert "不能表决" in flashes(client, here)
    assert landed(step(client, token, case, counts | {"present": "5", "for": "4",
                                                      "against": "1"})) == f"{here}#steps"
    above = web_login(client, "party_sec")
    page = client.get(here).text
    assert "批准后开始限期改正" in page and 'id="form-decision"' in page
    assert landed(step(client, above, case, {"kind": "decision", "result": "approve",
                                             "on": "2099-01-01"})) == here
    assert status_of(world, case)[0] == "voted"
    assert landed(step(client, above, case, {"kind": "decision", "result": "approve",
                                             "on": TODAY})) == f"{here}#steps"
    assert status_of(world, case)[0] == "rectifying"
    token = web_login(client, "sec_a")
    words = text_of(client.get(here).text)
    assert "改正期限至 2026年7月10日，还有 181 天" in words
    assert "期满后才能考察" in words
    assert landed(step(client, token, case, {"kind": "followup", "result": "rectified"})) == here
    assert "尚未期满" in flashes(client, here)
    world.clock.advance(days=181)
    token = web_login(client, "sec_a")  # half a year later: a new session
    assert landed(step(client, token, case, {"kind": "followup", "result": "rectified",
                                             "text": "已改正"})) == f"{here}#steps"
    assert status_of(world, case) == ("closed", "rectified")
    assert steps_of(world, case) == ["file", "investigation", "talk", "proposal", "prereview",
                                     "vote", "decision", "followup"]
    words = text_of(client.get(here).text)
    assert "已办结：已改正" in words and "赞成 4，反对 1，弃权 0" in words


OVERDUE = "限期改正已到期、待期满考察的处置案件"


BRANCH_DUE = "待支部办理的处置案件"


def waiting_count(client: TestClient, who: str, line: str) -> int | None:
    """The count on one line of the committee home's 等您处理, if shown."""
    web_login(client, who)
    found = re.search(f"{line} (\\d+) ›", text_of(client.get("/committee").text))
    return int(found[1]) if found else None


def overdue_count(client: TestClient, who: str) -> int | None:
    """Cases due their 期满考察, on the committee home."""
    return waiting_count(client, who, OVERDUE)


def test_the_committee_is_told_of_the_cases_whose_next_step_is_theirs(
        world: World, client: TestClient) -> None:
    a4_case = reach(world, "filed")  # next: 调查核实, the branch's
    own_case = reach(world, "talked", member="vice_a")  # next: the proposal, the branch's
    assert waiting_count(client, "sec_a", BRANCH_DUE) == 2
    page = client.get("/committee").text
    assert f'href="/committee/cases/{a4_case}">{BRANCH_DUE}' in page  # waiting longest
    assert waiting_count(client, "vice_a", BRANCH_DUE) == 1  # never their own case
    assert waiting_count(client, "party_sec", BRANCH_DUE) is None  # not its step
    # Proposed: the level above's prereview is next, the branch waits; prereviewed: the
    # branch meeting's vote is the branch's again.
    ok(world.post("sec_a", f"/cases/{own_case}/steps",
                  {"kind": "proposal", "measure": "rectify", "reason": "经教育仍无转变"}))
    assert waiting_count(client, "sec_a", BRANCH_DUE) == 1
    ok(world.post("party_sec", f"/cases/{own_case}/steps",
                  {"kind": "prereview", "decision": "approve", "note": ""}))
    assert waiting_count(client, "sec_a", BRANCH_DUE) == 2
    assert waiting_count(client, "vice_a", BRANCH_DUE) == 1


def test_the_committee_is_told_when_a_deadline_comes_without_a_followup(
        world: World, client: TestClient) -> None:
    a4_case = reach(world, "decided")  # 限期改正 of a4 until 2026-07-10
    own_case = reach(world, "decided", member="vice_a")  # vice_a sits on the committee
    world.clock.advance(days=180)  # 2026-07-09: a day to go, nothing to tell
    assert overdue_count(client, "sec_a") is None
    world.clock.advance(days=1)  # the deadline: 期满考察 may be recorded from today
    assert overdue_count(client, "sec_a") == 2
    page = client.get("/committee").text
    assert f'href="/committee/cases/{a4_case}">{OVERDUE}' in page  # the first due
    # vice_a is told of a4's case, never of their own; the 党委's committee takes no
    # branch step and is not told (its queue is /committee/cases); an administrator is.
    assert overdue_count(client, "vice_a") == 1
    assert "限期改正中 · 已到期，待期满考察" in text_of(client.get("/committee/cases").text)
    assert overdue_count(client, "party_sec") is None
    assert overdue_count(client, "admin") == 2
    # Once the follow-up is recorded the case no longer waits.
    ok(world.post("sec_a", f"/cases/{a4_case}/steps",
                  {"kind": "followup", "result": "rectified", "note": "已改正"}))
    assert overdue_count(client, "sec_a") == 1
    assert f'href="/committee/cases/{own_case}">{OVERDUE}' in client.get("/committee").text
    assert overdue_count(client, "vice_a") is None


def test_the_member_writes_a_defence_and_an_appeal_on_the_phone(world: World,
                                                                client: TestClient) -> None:
    case = reach(world, "talked")
    here = f"/me/cases/{case}"
    token = web_login(client, "a4")
    assert here in client.get("/me").text
    page = client.get(here)
    assert page.status_code == 200
    assert "下一步：支委会提出处置意见" in text_of(page.text)
    assert f'action="/me/cases/{case}/defence"' in page.text
    assert "/appeal" not in page.text
    answer = post(client, f"{here}/defence", token, {"text": "  "})
    assert answer.status_code == 422 and "请填写这一步骤的内容" in answer.text
    assert landed(post(client, f"{here}/defence", token, {"text": "我一直在外地务工"})) \
        == f"{here}#steps"
    assert "我一直在外地务工" in client.get(here).text
    assert "defence" in steps_of(world, case)
    # An appeal before the decision is refused, in words, on the page.
    answer = post(client, f"{here}/appeal", token, {"text": "不服"})
    assert answer.status_code == 409 and "案件当前不在这一步骤" in answer.text


def test_an_appeal_after_the_decision_and_for_a_member_who_left(world: World,
                                                               client: TestClient) -> None:
    case = reach(world, "decided")  # rectify: the member is still here
    token = web_login(client, "a4")
    here = f"/me/cases/{case}"
    assert "/defence" not in client.get(here).text
    assert landed(post(client, f"{here}/appeal", token, {"text": "期限太短"})) == f"{here}#steps"
    assert "等待上级党委答复" in client.get(here).text
    above = web_login(client, "party_sec")
    page = f"/committee/cases/{case}"
    assert 'id="form-appeal_answer"' in client.get(page).text
    assert landed(step(client, above, case, {"kind": "appeal_answer", "text": "维持"})) \
        == f"{page}#steps"
    # A member expelled cannot log in: the level above records the appeal on the case page.
    expelled = reach(world, "decided", "expel", member="a3")
    page = f"/committee/cases/{expelled}"
    assert "代为登记申诉" in client.get(page).text
    assert landed(step(client, above, expelled, {"kind": "appeal", "text": "本人来信申诉"})) \
        == f"{page}#steps"
    assert "由上级党委代为登记" in client.get(page).text
    sec = web_login(client, "sec_a")
    assert "代为登记申诉" not in client.get(page).text
    assert landed(step(client, sec, expelled, {"kind": "appeal", "text": "x"})) == page
    assert steps_of(world, expelled)[-1] == "appeal"


@pytest.mark.parametrize(("who", "committee_page", "my_page", "listed"), [
    ("sec_a", 200, 404, True), ("vice_a", 200, 404, True), ("party_sec", 200, 404, True),
    ("admin", 200, 404, True), ("sec_b", 404, 404, False), ("a1", 403, 404, False),
    ("a4", 403, 200, False),
])
def test_who_opens_which_case_page(world: World, client: TestClient, who: str,
                                   committee_page: int, my_page: int, listed: bool) -> None:
    case = reach(world, "proposed")
    web_login(client, who)
    assert client.get(f"/committee/cases/{case}").status_code == committee_page
    assert client.get(f"/me/cases/{case}").status_code == my_page
    cases_page = client.get("/committee/cases")
    if cases_page.status_code == 200:
        assert (f'href="/committee/cases/{case}"' in section_of(cases_page.text,
                                                               "branch-cases")) == listed
    if who not in ("admin", "a4") and who != "sec_b":
        assert f"/me/cases/{case}" not in client.get("/me").text


def section_of(html: str, element_id: str) -> str:
    if f'id="{element_id}"' not in html:
        return ""
    start = html.index(f'id="{element_id}"')
    return html[start:html.index("</ul>", start)]


def test_the_level_aboves_queue_never_holds_a_members_own_case(world: World,
                                                              client: TestClient) -> None:
    """party_sec sits on the 党委's committee and is a member of 支部B: a case about them,
    proposed, waits for the 党委's prereview, but not in their own queue."""
    case = ok(file_case(world, "party_sec", "other", who="sec_b", note="长期不参加组织生活"),
              201)["id"]
    for body in ({"kind": "investigation", "findings": "属实"},
                 {"kind": "talk", "held_on": TODAY, "summary": "谈话",
                  "talker_ids": [world.members["sec_b"], world.members["b1"]]},
                 {"kind": "proposal", "measure": "rectify", "reason": "限期改正"}):
        ok(world.post("sec_b", f"/cases/{case}/steps", body))
    web_login(client, "party_sec")
    assert f"/committee/cases/{case}" not in client.get("/committee/cases").text
    web_login(client, "admin")
    queue = client.get("/committee/cases").text.split('id="queue"', 1)[1]
    assert f"/committee/cases/{case}" in queue.split("</ul>", 1)[0]


def test_a_case_typed_in_after_the_meetings_takes_their_dates(world: World,
                                                              client: TestClient) -> None:
    """The filing and 调查核实 take the day they happened (review 16 #4); a date before the
    step before it is refused naming that step and its date."""
    world.clock.advance(days=10)  # typed in on 2026-01-20
    token = web_login(client, "sec_a")
    a4 = world.members["a4"]
    back = f"/committee/members/{a4}"
    form = client.get(back).text
    assert '<input type="date" name="filed_on" value="2026-01-20" max="2026-01-20" required>' \
        in form
    answer = post(client, f"{back}/cases", token, {"ground": "lost_contact", "year": "2026",
                                                   "filed_on": "2026-01-21"}, back=back)
    assert landed(answer) == back and "日期不能晚于今天" in flashes(client, back)
    answer = post(client, f"{back}/cases", token, {"ground": "lost_contact", "year": "2026",
                                                   "filed_on": "2026-01-12"}, back=back)
    here = landed(answer)
    case = int(here.rsplit("/", 1)[1])
    page = client.get(here).text
    assert "启动日期：2026年1月12日" in text_of(page)
    investigation = page[page.index('id="form-investigation"'):]
    assert 'name="on" value="2026-01-20" max="2026-01-20"' in investigation.split("</form>")[0]
    assert landed(step(client, token, case, {"kind": "investigation", "on": "2026-01-11",
                                             "text": "半年未参加"})) == here
    assert "日期不能早于上一步骤（启动组织处置，2026年1月12日）。" in flashes(client, here)
    assert landed(step(client, token, case, {"kind": "investigation", "on": "2026-01-13",
                                             "text": "半年未参加"})) == f"{here}#steps"
    talk = {"kind": "talk", "on": "2026-01-12", "talker1": world.members["a1"],
            "talker2": world.members["a2"], "text": "谈心谈话"}
    assert landed(step(client, token, case, talk)) == here
    assert "日期不能早于上一步骤（调查核实，2026年1月13日）。" in flashes(client, here)
    assert landed(step(client, token, case, talk | {"on": "2026-01-14"})) == f"{here}#steps"
    words = text_of(client.get(here).text)
    assert "调查核实日期：2026年1月13日" in words and "谈话日期：2026年1月14日" in words
    printed = text_of(client.get(f"{here}/print").text)
    assert "启动日期：2026年1月12日" in printed and "调查核实日期：2026年1月13日" in printed


def test_the_choices_are_small_radios_before_their_words(world: World,
                                                         client: TestClient) -> None:
    """Not the full-width box the general input rule draws: a circle on the line of its
    label, the whole label the touch target (review 16, finding 3)."""
    case = reach(world, "proposed")
    web_login(client, "party_sec")
    page = client.get(f"/committee/cases/{case}").text
    assert re.search(r'<label class="cs-choice"><input type="radio" name="result" '
                     r'value="approve" required> 同意，提交支部大会表决</label>', page)
    css = client.get("/static/parts/case.css").text
    label = re.search(r"\.cs-choice\s*{([^}]*)}", css)
    radio = re.search(r"\.cs-choice input\s*{([^}]*)}", css)
    assert label and "flex-direction: row" in label[1] and "min-height: 48px" in label[1]
    assert radio and "width: 24px" in radio[1] and "min-height: 0" in radio[1]


def test_the_state_badge_wraps(world: World, client: TestClient) -> None:
    """A state is a phrase, long in English: its badge wraps rather than widen the page at
    360 px (review 16, finding 7)."""
    case = reach(world, "prereviewed")
    web_login(client, "sec_a")
    page = client.get(f"/committee/cases/{case}").text
    assert '<span class="badge cs-badge cs-badge-prereviewed">待支部大会表决</span>' in page
    css = client.get("/static/parts/case.css").text
    assert re.search(r"\.cs-badge\s*{[^}]*white-space:\s*normal", css)


def test_the_level_above_is_told_of_the_cases_waiting_for_it(world: World,
                                                             client: TestClient) -> None:
    reach(world, "proposed")  # the 党委's prereview is next
    assert waiting_count(client, "party_sec", "待上级办理的处置案件") == 1
    assert waiting_count(client, "sec_a", "待上级办理的处置案件") is None


def test_a_returned_case_says_so_at_the_top(world: World, client: TestClient) -> None:
    """After the level above returns the proposal (the state reads 已谈话 again), the case
    page and the member's page say who returned it, when and why, above the next step; the
    note goes once the committee proposes again."""
    case = reach(world, "proposed")
    ok(world.post("party_sec", f"/cases/{case}/steps",
                  {"kind": "prereview", "decision": "return", "note": "证据不足，请补充谈话记录"}))
    note = "上级党委于2026年1月10日退回重议。意见：证据不足，请补充谈话记录"
    web_login(client, "sec_a")
    words = text_of(client.get(f"/committee/cases/{case}").text)
    assert note in words and words.index(note) < words.index("下一步：支委会提出处置意见")
    web_login(client, "a4")
    assert note in text_of(client.get(f"/me/cases/{case}").text)
    ok(world.post("sec_a", f"/cases/{case}/steps",
                  {"kind": "proposal", "measure": "rectify", "months": 6,
                   "reason": "补充谈话后仍未转变"}))
    web_login(client, "sec_a")
    assert "退回重议。" not in text_of(client.get(f"/committee/cases/{case}").text)
