"""The committee's pages: pending entries, recording, the quarterly review, the annual rating."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import NO_NOTICE, World, approve_rating, ok
from tests.web.support import form_post, web_login
from tests.web.test_admin import block
from tests.web.test_member import SELF_REPORT, jpeg, report, uploads

__all__ = ["uploads"]  # the fixture, used by name below

Q4 = "2025-11-14"
Q1 = "2025-02-14"


def fragment(html: str, element_id: str, tag: str = "li") -> str:
    """The markup of the element with this id, up to its closing tag (no nesting of `tag`)."""
    start = html.rindex("<", 0, html.index(f'id="{element_id}"'))
    return html[start:html.index(f"</{tag}>", start) + len(tag) + 3]


def location(answer: Any) -> str:
    assert answer.status_code == 303, f"{answer.status_code}: {answer.text[:800]}"
    return str(answer.headers["location"])


def back_post(client: TestClient, path: str, token: str, data: dict[str, Any],
              back: str) -> Any:
    """A plain form post from the page at `back` (the Referer a browser sends)."""
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False,
                       headers={"referer": f"http://testserver{back}"})


def is_partial(answer: Any) -> bool:
    return "<html" not in answer.text and "HX-Request" in answer.headers.get("vary", "")


def self_report(world: World, who: str, code: str = "P01", on: str = Q4, **extra: Any) -> int:
    entry_id: int = world.entry(who, who, code, on, **extra)["id"]
    return entry_id


def status_of(world: World, entry_id: int) -> str:
    return str(ok(world.get("admin", f"/entries/{entry_id}"))["status"])


def flashes(client: TestClient, path: str) -> str:
    """The messages shown on the page a redirect leads to."""
    html = client.get(path).text
    return " ".join(re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>', html))


# Home

def test_home_lists_my_branches_with_pending_counts_and_quarters(world: World,
                                                                 client: TestClient) -> None:
    self_report(world, "a1")
    self_report(world, "a2", "P03")
    self_report(world, "sec_a")  # about myself: not mine to decide
    web_login(client, "sec_a")
    page = client.get("/committee?year=2025")
    assert page.status_code == 200
    branch = fragment(page.text, f"branch-{world.branch_a}", "h2")
    assert "第一支部" in branch
    assert "第二支部" not in page.text
    assert re.search(r'class="cm-count">2</strong>', page.text)
    assert "另有 1 条关于您本人的记录" in page.text
    assert page.text.count("开始评议") == 4  # every quarter of 2025 has begun
    assert "四个季度都确认后才能评定" in page.text
    assert '<link rel="stylesheet" href="/static/parts/committee.css">' in page.text

    web_login(client, "party_sec")
    page = client.get("/committee")
    assert "第一支部" in page.text and "第二支部" in page.text
    web_login(client, "a1")
    assert client.get("/committee").status_code == 403


# Pending entries

def test_approve_inline_with_htmx_swaps_the_row_and_announces_it(
        world: World, client: TestClient, uploads: Path) -> None:
    # a1 reports on their page, with a photo.
    assert report(client, web_login(client, "a1"),
                  {**SELF_REPORT, "occurred_on": Q4, "note": "参加镇党委集中学习两次"},
                  photo=("sign-in.jpg", jpeg(40, 30), "image/jpeg")).status_code == 303
    [entry] = ok(world.get("sec_a", "/entries", member_id=world.members["a1"]))["items"]
    entry_id = entry["id"]
    token = web_login(client, "sec_a")
    page = client.get(f"/committee/entries?org_id={world.branch_a}")
    row = fragment(page.text, f"entry-{entry_id}")
    assert "参加镇党委集中学习两次" in row and "+4分" in row
    assert f'href="/evidence/{entry_id}"' in row  # the photo, served by the member pages
    assert f'hx-post="/committee/entries/{entry_id}/approve"' in row
    assert 'hx-trigger="scoresChanged from:body"' in page.text  # the counter refreshes itself

    answer = form_post(client, f"/committee/entries/{entry_id}/approve", token,
                       {"next": "/committee/entries"}, htmx=True)
    assert answer.status_code == 200 and is_partial(answer)
    assert answer.headers["HX-Trigger"] == "scoresChanged"
    assert f'id="entry-{entry_id}"' in answer.text and "已通过" in answer.text
    assert "/approve" not in answer.text
    assert status_of(world, entry_id) == "approved"

    counter = client.get(f"/committee/entries/count?org_id={world.branch_a}",
                         headers={"HX-Request": "true"})
    assert is_partial(counter) and "待我审核 0 条" in " ".join(counter.text.split())
    assert 'id="bulk-bar"' in counter.text and 'hx-swap-oob="true"' in counter.text


def test_approve_with_a_plain_form_redirects_with_a_message(world: World,
                                                            client: TestClient) -> None:
    entry_id = self_report(world, "a2", "P03")
    token = web_login(client, "vice_a")
    answer = form_post(client, f"/committee/entries/{entry_id}/approve", token,
                       {"next": f"/committee/entries?org_id={world.branch_a}"})
    assert location(answer) == f"/committee/entries?org_id={world.branch_a}"
    assert "已通过：a2 P03 参加主题党日" in flashes(client, location(answer))
    assert status_of(world, entry_id) == "approved"


def test_reject_needs_a_reason(world: World, client: TestClient) -> None:
    entry_id = self_report(world, "a1", "P09")
    token = web_login(client, "sec_a")
    answer = form_post(client, f"/committee/entries/{entry_id}/reject", token,
                       {"reason": "  "}, htmx=True)
    assert answer.status_code == 422 and is_partial(answer)
    assert "请填写理由" in answer.text and "<details class=\"cm-more\" open" in answer.text
    assert status_of(world, entry_id) == "pending"

    answer = back_post(client, f"/committee/entries/{entry_id}/reject", token, {"reason": ""},
                       "/committee/entries")
    assert "请填写理由" in flashes(client, location(answer))
    assert status_of(world, entry_id) == "pending"

    answer = form_post(client, f"/committee/entries/{entry_id}/reject", token,
                       {"reason": "未见心得材料"}, htmx=True)
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "scoresChanged"
    assert "未通过" in answer.text and "未见心得材料" in answer.text
    assert status_of(world, entry_id) == "rejected"


def test_bulk_approve_lists_what_was_refused(world: World, client: TestClient) -> None:
    first = self_report(world, "a1")
    second = self_report(world, "a2", "P02", quantity=3)
    own = self_report(world, "sec_a", "P05")
    token = web_login(client, "sec_a")
    answer = form_post(client, "/committee/entries/bulk-approve", token, {
        "entry_ids": [first, second, own], "scope": "selected",
        "org_id": world.branch_a, "next": "/committee/entries"}, htmx=True)
    assert answer.status_code == 200 and is_partial(answer)
    assert answer.headers["HX-Trigger"] == "scoresChanged"
    assert "已通过 2 条记录" in answer.text
    assert "以下 1 条没有通过" in answer.text and "不能审核或撤销关于自己的记录" in answer.text
    assert [status_of(world, e) for e in (first, second, own)] == [
        "approved", "approved", "pending"]
    # What is left is my own entry, shown without buttons.
    assert f'id="entry-{own}"' in answer.text and f'id="entry-{first}"' not in answer.text

    # “全部通过” with JavaScript off: every entry shown on the page, one form post.
    third, fourth = self_report(world, "a3"), self_report(world, "a4", "P04")
    answer = form_post(client, "/committee/entries/bulk-approve", token, {
        "shown": [third, fourth], "scope": "all", "next": "/committee/entries"})
    assert "已通过 2 条记录" in flashes(client, location(answer))
    assert status_of(world, third) == status_of(world, fourth) == "approved"

    answer = form_post(client, "/committee/entries/bulk-approve", token,
                       {"scope": "selected", "next": "/committee/entries"})
    assert "请先勾选" in flashes(client, location(answer))


def test_my_own_entry_has_no_buttons_and_a_post_is_refused(world: World,
                                                           client: TestClient) -> None:
    own = self_report(world, "sec_a", "P09")
    token = web_login(client, "sec_a")
    row = fragment(client.get("/committee/entries").text, f"entry-{own}")
    assert "需其他支委审核" in row
    assert "/approve" not in row and "/reject" not in row and 'type="checkbox"' not in row

    answer = form_post(client, f"/committee/entries/{own}/approve", token, {}, htmx=True)
    assert answer.status_code == 403 and is_partial(answer)
    assert "不能审核或撤销关于自己的记录" in answer.text
    answer = back_post(client, f"/committee/entries/{own}/approve", token, {},
                       "/committee/entries")
    assert "不能审核或撤销关于自己的记录" in flashes(client, location(answer))
    assert status_of(world, own) == "pending"


def test_another_branch_is_out_of_sight(world: World, client: TestClient) -> None:
    entry_id = self_report(world, "a1", note="第一支部的记录")
    token = web_login(client, "sec_b")
    assert client.get(f"/committee/entries?org_id={world.branch_a}").status_code == 404
    assert "第一支部的记录" not in client.get("/committee/entries").text
    assert client.get(f"/committee/members/{world.members['a1']}").status_code == 404
    answer = form_post(client, f"/committee/entries/{entry_id}/approve", token, {}, htmx=True)
    assert answer.status_code == 404 and answer.headers["HX-Retarget"] == "#flash"
    assert status_of(world, entry_id) == "pending"


def test_revoke_an_approved_entry_from_the_members_page(world: World,
                                                        client: TestClient) -> None:
    entry_id = world.entry("sec_a", "a2", "P06", Q4)["id"]
    token = web_login(client, "vice_a")
    page = client.get(f"/committee/members/{world.members['a2']}?year=2025")
    assert page.status_code == 200 and "撤销这条记录" in fragment(page.text, f"entry-{entry_id}")
    answer = form_post(client, f"/committee/entries/{entry_id}/revoke", token,
                       {"reason": "", "view": "member"}, htmx=True)
    assert answer.status_code == 422 and "请填写理由" in answer.text
    answer = form_post(client, f"/committee/entries/{entry_id}/revoke", token,
                       {"reason": "重复记录", "view": "member"}, htmx=True)
    assert answer.status_code == 200 and "已撤销" in answer.text and "重复记录" in answer.text
    assert status_of(world, entry_id) == "revoked"


def test_the_party_committee_works_across_its_branches(world: World,
                                                       client: TestClient) -> None:
    in_a = self_report(world, "a1", note="第一支部")
    in_b = self_report(world, "b1", "P08", quantity=2, note="第二支部")
    token = web_login(client, "party_sec")
    page = client.get("/committee/entries")
    assert "第一支部" in fragment(page.text, f"entry-{in_a}")
    assert "第二支部" in fragment(page.text, f"entry-{in_b}")
    assert "全部通过（2条）" in page.text
    answer = form_post(client, "/committee/entries/bulk-approve", token,
                       {"shown": [in_a, in_b], "scope": "all"}, htmx=True)
    assert "已通过 2 条记录" in answer.text and "没有待审核的记录" in answer.text
    roster = client.get("/committee/members?year=2025").text
    assert "第一支部" in roster and "第二支部" in roster
    member = client.get(f"/committee/members/{world.members['b1']}?year=2025")
    assert member.status_code == 200
    assert '<span class="big num">4</span>' in member.text and "撤销这条记录" in member.text
    answer = client.get("/committee/entries/count", follow_redirects=False)
    assert location(answer) == "/committee/entries"  # a page, not a fragment


def test_hours_and_times_read_the_same_to_the_committee_as_to_the_member(
        world: World, client: TestClient) -> None:
    hours = self_report(world, "a1", "P07", quantity=3)
    times = self_report(world, "a2", "P02", quantity=2)
    web_login(client, "sec_a")
    page = client.get("/committee/entries").text
    assert "3小时" in block(page, f"entry-{hours}") and "×" not in block(page, f"entry-{hours}")
    assert "2次" in block(page, f"entry-{times}")
    web_login(client, "a1")
    assert "3小时" in client.get("/me/entries?year=2025").text


# Recording an entry

def test_record_an_entry_for_a_member(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    page = client.get("/committee/record")
    assert 'optgroup label="反向扣分"' in page.text and "一票否决" in page.text
    assert ">b1<" not in page.text  # only members of my branches
    a1 = world.members["a1"]
    answer = form_post(client, "/committee/record", token, {
        "member_id": a1, "rule_code": "P07", "occurred_on": Q4, "quantity": "3",
        "points": "9", "note": "社区志愿服务三小时"})
    assert location(answer).startswith(f"/committee/record?member_id={a1}")
    assert "已记录：a1 P07" in flashes(client, location(answer))
    entry = ok(world.get("sec_a", "/entries", member_id=a1, year=2025))["items"][0]
    assert (entry["status"], entry["points"]) == ("approved", 3)
    assert entry["note"] == "社区志愿服务三小时"
    score = ok(world.get("a1", f"/members/{a1}/score", year=2025))
    assert score["score"] == 3

    bonus = form_post(client, "/committee/record", token, {
        "member_id": a1, "rule_code": "B01", "occurred_on": Q4, "quantity": "1", "points": "4"})
    assert location(bonus)
    assert ok(world.get("a1", f"/members/{a1}/score", year=2025))["score"] == 7


def test_record_errors_show_the_form_again_as_typed(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    a1 = world.members["a1"]
    answer = form_post(client, "/committee/record", token, {
        "member_id": a1, "rule_code": "P01", "occurred_on": "2026-03-01", "quantity": "2",
        "note": "我写的说明"})
    assert answer.status_code == 422
    assert "日期不能晚于今天" in answer.text and "我写的说明" in answer.text
    assert 'value="2026-03-01"' in answer.text and f'value="{a1}" selected' in answer.text
    answer = form_post(client, "/committee/record", token, {
        "member_id": a1, "rule_code": "B01", "occurred_on": Q4, "points": "9"})
    assert answer.status_code == 422 and "分值超出允许范围" in answer.text
    answer = form_post(client, "/committee/record", token, {
        "member_id": a1, "rule_code": "D01", "occurred_on": Q4, "points": ""})
    assert answer.status_code == 422 and "须填写分值（1–10分）" in answer.text
    answer = form_post(client, "/committee/record", token, {
        "member_id": world.members["b1"], "rule_code": "P01", "occurred_on": Q4})
    assert answer.status_code == 404 and "不在您的权限范围内" in answer.text
    assert ok(world.get("sec_a", "/entries", member_id=a1))["total"] == 0

    own = form_post(client, "/committee/record", token, {
        "member_id": world.members["sec_a"], "rule_code": "P01", "occurred_on": Q4})
    assert "需其他支委审核" in flashes(client, location(own))


# The quarterly review

def open_review(client: TestClient, token: str, world: World, quarter: int) -> str:
    answer = form_post(client, "/committee/reviews", token,
                       {"org_id": world.branch_a, "year": 2025, "quarter": quarter})
    url = location(answer)
    assert re.fullmatch(r"/committee/reviews/\d+", url)
    return url


def test_review_sheet_sets_a_score_inline_and_the_line_changes(world: World,
                                                               client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", Q1, quantity=2)
    token = web_login(client, "sec_a")
    url = open_review(client, token, world, 1)
    a1 = world.members["a1"]
    sheet = client.get(url)
    line = fragment(sheet.text, f"line-{a1}", "tr")
    assert ">9</strong>" in line  # 4 points + the default review score of 5
    assert f'hx-params="score_{a1}"' in line

    answer = form_post(client, f"{url}/scores", token, {f"score_{a1}": "2"}, htmx=True)
    assert answer.status_code == 200 and is_partial(answer)
    assert answer.text.lstrip().startswith(f'<tr id="line-{a1}"')
    assert ">6</strong>" in answer.text and "+6" in answer.text and "已保存" in answer.text

    # JavaScript off: the whole sheet in one form, one Save button.
    a2 = world.members["a2"]
    answer = form_post(client, f"{url}/scores", token, {f"score_{a1}": "3", f"score_{a2}": "0"})
    assert "评议分已保存" in flashes(client, location(answer))
    lines = {x["name"]: (x["review_score"], x["ytd"])
             for x in ok(world.get("sec_a", url.replace("/committee", "")))["items"]}
    assert lines["a1"] == (3, 7) and lines["a2"] == (0, 0)

    answer = form_post(client, f"{url}/scores", token, {f"score_{a1}": "7"}, htmx=True)
    assert answer.status_code == 422 and answer.headers["HX-Retarget"] == "#flash"
    assert "评议分须为0到5之间的整数" in answer.text


def test_publish_and_finalize_explain_why_they_are_refused(world: World,
                                                           client: TestClient) -> None:
    pending = self_report(world, "a1", "P03", Q1)
    token = web_login(client, "sec_a")
    url = open_review(client, token, world, 1)
    sheet = client.get(url).text
    assert "现在还不能发布：本季度还有 1 条待审核的积分记录" in sheet
    assert f"/committee/entries?org_id={world.branch_a}&year=2025&quarter=1" in sheet
    answer = back_post(client, f"{url}/publish", token, {"notice_days": "5"}, url)
    assert location(answer) == url
    assert "待审核" in flashes(client, url)

    form_post(client, f"/committee/entries/{pending}/approve", token, {}, htmx=True)
    answer = form_post(client, f"{url}/publish", token, {"notice_days": "5", "step": "confirm"})
    assert "已发布公示" in flashes(client, location(answer))
    sheet = client.get(url).text
    assert "公示期尚未结束" in sheet and "2026-01-15 10:00" in sheet  # Beijing time

    # A member objects; the panel names both reasons before anyone clicks.
    objection = ok(world.post("a2", f"/reviews/{url.rsplit('/', 1)[1]}/objections",
                              {"text": "我的评议分有误"}), 201)
    sheet = client.get(url).text
    assert "还有 1 条异议未答复" in sheet and "我的评议分有误" in sheet
    answer = form_post(client, f"{url}/finalize", token, {}, htmx=True)
    assert answer.status_code == 409 and answer.headers["HX-Retarget"] == "#flash"
    assert "还有未答复的异议" in answer.text
    answer = form_post(client, f"/committee/objections/{objection['id']}/resolve", token,
                       {"response": "经核对无误"}, htmx=True)
    assert answer.status_code == 200 and is_partial(answer)
    assert answer.headers["HX-Trigger"] == "reviewChanged"
    assert "已答复" in answer.text and "经核对无误" in answer.text
    actions = client.get(f"{url}/actions", headers={"HX-Request": "true"})
    assert is_partial(actions) and "异议未答复" not in actions.text
    assert "公示期尚未结束" in actions.text

    answer = form_post(client, f"{url}/finalize", token, {}, htmx=True)
    assert answer.status_code == 409 and "公示期尚未结束" in answer.text
    world.clock.advance(days=6)
    token = web_login(client, "sec_a")
    answer = form_post(client, f"{url}/finalize", token, {}, htmx=True)
    assert answer.status_code == 204 and answer.headers["HX-Redirect"] == url
    sheet = client.get(url).text
    assert "已确认，本季度已锁定" in sheet and "<select" not in sheet


def test_reopen_takes_a_published_review_back_to_draft(world: World,
                                                       client: TestClient) -> None:
    token = web_login(client, "sec_a")
    url = open_review(client, token, world, 1)
    form_post(client, f"{url}/publish", token, NO_NOTICE | {"step": "confirm"})
    sheet = client.get(url).text
    assert "可以确认" in sheet and "退回草稿" in sheet and "<select" not in sheet
    answer = form_post(client, f"{url}/reopen", token, {})
    assert "已退回草稿" in flashes(client, location(answer))
    assert "<select" in client.get(url).text


def test_history_restore_gets_the_whole_page(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    url = open_review(client, token, world, 1)
    restore = client.get(f"{url}/actions", headers={
        "HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text and "评议分与得分" in restore.text


# The annual rating

def finalize_year(world: World) -> None:
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))


def test_rating_refused_until_four_quarters_are_final(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    answer = back_post(client, "/committee/ratings", token,
                       {"org_id": world.branch_a, "year": 2025}, "/committee?year=2025")
    assert location(answer) == "/committee?year=2025"
    assert "四个季度都确认后才能进行年度评星定级" in flashes(client, location(answer))
    assert "尚未确认：第一季度、第二季度、第三季度、第四季度" in client.get(
        "/committee?year=2025").text


def test_rating_sheet_override_cap_and_approval(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a4", "V01", Q1, note="受到党内警告处分")
    finalize_year(world)
    token = web_login(client, "sec_a")
    home = client.get("/committee?year=2025").text
    assert "生成2025年度评星定级" in home
    url = location(form_post(client, "/committee/ratings", token,
                             {"org_id": world.branch_a, "year": 2025}))
    sheet = client.get(url).text
    assert "上限 <strong class=\"num\">2</strong>" in sheet  # 6 members rated, ⌊6/3⌋ = 2
    assert "被一票否决，只能评为不合格" in fragment(sheet, f"rating-{world.members['a4']}")

    def override(member: str, grade: str, reason: str) -> Any:
        return form_post(client, f"{url}/items/{world.members[member]}", token,
                         {"grade": grade, "reason": reason}, htmx=True)

    answer = override("a1", "excellent", "")
    assert answer.status_code == 422 and "请填写理由" in answer.text and is_partial(answer)
    answer = override("a1", "excellent", "带头完成防汛任务")
    assert answer.status_code == 200 and is_partial(answer)
    assert answer.headers["HX-Trigger"] == "ratingChanged"
    assert "优秀" in answer.text and "已调整" in answer.text and "带头完成防汛任务" in answer.text
    assert override("a2", "excellent", "表现突出").status_code == 200
    answer = override("a3", "excellent", "表现突出")
    assert answer.status_code == 409 and "优秀人数已达上限" in answer.text
    assert 'value="表现突出"' in answer.text  # what was typed stays
    answer = override("a4", "qualified", "已改正")
    assert answer.status_code == 409 and "被一票否决的党员只能评为不合格" in answer.text
    cap = client.get(f"{url}/cap", headers={"HX-Request": "true"})
    assert is_partial(cap) and "优秀 <strong class=\"num\">2</strong>" in cap.text

    approve_rating(world, int(url.rsplit("/", 1)[1]))
    sheet = client.get(url).text
    assert "调整等次" not in sheet and "审定（最终结果）" not in sheet and "已审定" in sheet
    answer = back_post(client, f"{url}/items/{world.members['a3']}", token,
                       {"grade": "qualified", "reason": "x"}, url)
    assert "年度评星定级已审定，不能再修改" in flashes(client, location(answer))
    rating = ok(world.get("sec_a", url.replace("/committee", "")))
    assert rating["status"] == "approved"
    assert {i["name"]: i["grade"] for i in rating["items"]}["a1"] == "excellent"
