"""签到登记 on the pages (issue 17), each form posted as a browser without JavaScript posts it:
the list of the branch's members on the day, all ticked; the one question with what it will
write; the entries, once; a refusal that keeps every tick.

Branch A on 2026-01-08: sec_a, vice_a, a1..a4. P02 is +1 a time, N01 −2.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import form_post, web_login
from tests.web.test_committee import flashes, location

DAY = "2026-01-08"
PAGE = "/committee/register"


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def ticked(html: str, name: str = "present") -> set[int]:
    """The member ids whose box `name` is ticked on the list."""
    return {int(i) for i in re.findall(
        rf'<input type="checkbox" name="{name}" value="(\d+)" checked', html)}


def boxes(html: str, name: str = "present") -> set[int]:
    return {int(i) for i in re.findall(rf'<input type="checkbox" name="{name}" value="(\d+)"',
                                       html)}


def hidden(html: str) -> list[tuple[str, str]]:
    """The confirmation's hidden fields, in order (present and excused repeat)."""
    form = html[html.index('class="cm-confirm-form"'):]
    form = form[:form.index("</form>")]
    return [(n, unescape(v)) for n, v in
            re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)]


def ids(world: World, *names: str) -> list[int]:
    return [world.members[n] for n in names]


def marks(world: World, present: tuple[str, ...], excused: tuple[str, ...] = (),
          **extra: Any) -> dict[str, Any]:
    return {"org_id": world.branch_a, "rule_code": "P02", "occurred_on": DAY,
            "quantity": "1", "present": ids(world, *present),
            "excused": ids(world, *excused)} | extra


def entry_count(world: World) -> int:
    total: int = ok(world.get("admin", "/entries", limit=1))["total"]
    return total


def codes_of(world: World, member: str) -> list[tuple[str, int, str]]:
    return [(e["rule_code"], e["points"], e["status"]) for e in ok(world.get(
        "admin", "/entries", member_id=world.members[member], year=2026))["items"]]


def test_the_list_is_the_branchs_members_on_the_day_all_ticked(world: World,
                                                               client: TestClient) -> None:
    ok(world.post("party_sec", f"/members/{world.members['a4']}/leave",
                  {"kind": "transferred", "on": "2026-01-05", "note": "转往外县"}))
    late = world.add_member("late", world.branch_a, joined_on="2026-01-09")
    web_login(client, "sec_a")
    query = f"?org_id={world.branch_a}&rule_code=P02&occurred_on={DAY}"
    html = client.get(PAGE + query).text
    listed = set(ids(world, "sec_a", "vice_a", "a1", "a2", "a3"))
    assert boxes(html) == listed == ticked(html)  # not a4 (left), not late, not branch B
    assert late not in boxes(html) and boxes(html, "excused") == listed
    assert ticked(html, "excused") == set()
    assert 'name="record_absences" value="1">' in html  # offered, not ticked
    # 全选 / 全不选 are links (no JavaScript needed): the list again, ticked or not.
    assert 'data-tick="none"' in html and 'data-tick="all"' in html
    assert ticked(client.get(PAGE + query + "&tick=none").text) == set()
    assert ticked(client.get(PAGE + query + "&tick=all").text) == listed
    assert '<script src="/static/register.js" defer></script>' in html
    assert client.get("/static/register.js").status_code == 200


def test_the_picker_comes_first_and_the_links_lead_here(world: World,
                                                        client: TestClient) -> None:
    web_login(client, "sec_a")
    html = client.get(PAGE).text
    assert 'name="rule_code"' in html and 'name="present"' not in html
    assert f'name="org_id" value="{world.branch_a}"' in html  # the one branch sec_a runs
    assert f'value="{DAY[:8]}10"' in html  # today
    # Items, but never a veto or a deduction that always reaches the grade line: those are
    # recorded one member at a time (记一笔积分), the page showing each one's score.
    assert all(f'value="{code}"' in html for code in ("P01", "P02", "N01", "D01"))
    assert not any(f'value="{code}"' in html for code in ("V01", "V04", "N06", "N07"))
    for path in ("/committee", "/committee/record"):
        assert 'href="/committee/register"' in client.get(path).text, path
    assert f'href="/committee/register?org_id={world.branch_a}"' in client.get("/committee").text
    # A committee of several branches picks one; their own comes first.
    web_login(client, "party_sec")
    html = client.get(PAGE).text
    assert f'<option value="{world.branch_b}" selected>' in html
    assert f'<option value="{world.branch_a}" >' in html


def test_confirmed_once_then_recorded_once(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    before = entry_count(world)
    data = marks(world, ("vice_a", "a1", "a2", "a3"), ("a4",), record_absences="1",
                 note="1月支部党员大会")
    asked = form_post(client, PAGE, token, data)
    assert asked.status_code == 200
    words = text(asked.text)
    assert "将为 4 名党员各记 +1分；1 名缺席党员各扣 2分；1 名请假党员不记分。确定吗？" in words
    assert "缺席，扣分 sec_a" in words and "请假 a4" in words
    assert entry_count(world) == before  # nothing yet
    fields = hidden(asked.text)
    assert [v for n, v in fields if n == "present"] == [str(i) for i in ids(
        world, "vice_a", "a1", "a2", "a3")]
    assert [v for n, v in fields if n == "excused"] == [str(world.members["a4"])]
    assert ("record_absences", "1") in fields and ("note", "1月支部党员大会") in fields

    confirm = dict(fields)
    confirm |= {"present": [v for n, v in fields if n == "present"],
                "excused": [v for n, v in fields if n == "excused"], "confirmed": "1"}
    landed = location(form_post(client, PAGE, token, confirm))
    assert landed.startswith(PAGE + f"?org_id={world.branch_a}&rule_code=P02")
    assert landed.endswith("#done")
    assert "签到已登记：P02 2026-01-08，共记录 5 条。" in flashes(client, landed)
    assert entry_count(world) == before + 5
    assert codes_of(world, "a1") == [("P02", 1, "approved")]
    assert codes_of(world, "sec_a") == [("N01", -2, "pending")]  # about the recorder
    assert codes_of(world, "a4") == []
    done = client.get(landed).text
    assert "当日已记录" in done and done.count("当日已记过此项") == 4
    # Those four are not ticked again on the fresh list; the others are.
    recorded = set(ids(world, "vice_a", "a1", "a2", "a3"))
    assert ticked(done) == boxes(done) - recorded and recorded <= boxes(done)

    # The confirm sent again (a double click, the back button): nothing more.
    again = location(form_post(client, PAGE, token, confirm))
    assert "登记过，这次没有重复记录" in flashes(client, again)
    assert entry_count(world) == before + 5


def test_an_excused_mark_wins_over_a_tick(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    asked = form_post(client, PAGE, token, marks(world, ("a1", "a2"), ("a2",)))
    assert ("将为 1 名党员各记 +1分；1 名请假党员不记分；4 名未到会党员不记分。确定吗？"
            in text(asked.text))
    edit = dict(hidden(asked.text)) | {"present": [str(world.members["a1"])],
                                       "excused": [str(world.members["a2"])], "edit": "1"}
    back = form_post(client, PAGE, token, edit)
    assert back.status_code == 200
    assert ticked(back.text) == {world.members["a1"]}
    assert ticked(back.text, "excused") == {world.members["a2"]}


def test_a_refusal_keeps_every_tick_and_names_who_and_why(world: World,
                                                          client: TestClient) -> None:
    token = web_login(client, "sec_a")
    # The list was opened before a3 left (on the 5th): the form still has them ticked.
    ok(world.post("party_sec", f"/members/{world.members['a3']}/leave",
                  {"kind": "transferred", "on": "2026-01-05", "note": "转往外县"}))
    before = entry_count(world)
    data = marks(world, ("a1", "a3"), ("a4",), record_absences="1", note="党课")
    answer = form_post(client, PAGE, token, data)
    assert answer.status_code == 422
    words = text(answer.text)
    assert "以下党员不能记录，本次签到一条也没有记录：" in words
    assert "a3（到会）：a3已于2026-01-05离开党员队伍，此后的积分记录不能再登记。" in words
    assert ticked(answer.text) == {world.members["a1"]}
    assert ticked(answer.text, "excused") == {world.members["a4"]}
    assert 'name="record_absences" value="1" checked' in answer.text
    assert ">党课</textarea>" in answer.text
    assert entry_count(world) == before


@pytest.mark.parametrize(("change", "said"), [
    ({"rule_code": "D01"}, "该项目须填写分值（1–10分）。"),
    ({"rule_code": "D01", "points": "10"}, "一票否决和一次扣分较多的记录不能用签到登记"),
    ({"occurred_on": "2026-01-11"}, "日期不能晚于今天。"),
    ({"present": []}, "没有人打勾，也没有要记的缺席"),
])
def test_a_refusal_of_the_register_keeps_the_ticks(world: World, client: TestClient,
                                                   change: dict[str, Any], said: str) -> None:
    token = web_login(client, "sec_a")
    before = entry_count(world)
    data = marks(world, ("a1", "a2"), ("a3",)) | change
    answer = form_post(client, PAGE, token, data)
    assert answer.status_code == 422, answer.text[:400]
    assert said in text(answer.text)
    if data["present"] and change.get("occurred_on") is None:
        assert ticked(answer.text) == set(ids(world, "a1", "a2"))
        assert ticked(answer.text, "excused") == {world.members["a3"]}
    assert entry_count(world) == before


def test_a_finalized_quarter_refuses_with_nothing_recorded(world: World,
                                                           client: TestClient) -> None:
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    token = web_login(client, "sec_a")
    before = entry_count(world)
    data = marks(world, ("a1", "a2"), occurred_on="2025-11-14", confirmed="1")
    answer = form_post(client, PAGE, token, data)
    assert answer.status_code == 409
    assert "该季度已确认" in text(answer.text)
    assert ticked(answer.text) == set(ids(world, "a1", "a2"))
    assert entry_count(world) == before


@pytest.mark.parametrize("change", [
    {"present": ["abc"]}, {"excused": ["1e9"]}, {"org_id": "x"}, {"org_id": "99999999"},
    {"rule_code": "P99"}, {"occurred_on": "2026-13-01"}, {"quantity": "many"},
    {"note": "长" * 1001},
])
def test_bad_input_is_a_page_never_a_500(world: World, client: TestClient,
                                         change: dict[str, Any]) -> None:
    token = web_login(client, "sec_a")
    before = entry_count(world)
    for confirmed in ("", "1"):
        answer = form_post(client, PAGE, token, marks(world, ("a1",)) | change
                           | {"confirmed": confirmed})
        assert 400 <= answer.status_code < 500, answer.text[:400]
        assert 'class="flash flash-error"' in answer.text
    assert entry_count(world) == before


def test_only_committees_open_it_and_only_for_their_branches(world: World,
                                                             client: TestClient) -> None:
    web_login(client, "a1")
    assert client.get(PAGE).status_code == 403
    token = web_login(client, "sec_b")
    answer = client.get(f"{PAGE}?org_id={world.branch_a}&rule_code=P02&occurred_on={DAY}")
    assert answer.status_code == 404 and 'name="present"' not in answer.text
    before = entry_count(world)
    posted = form_post(client, PAGE, token, marks(world, ("a1",), confirmed="1"))
    assert posted.status_code == 404
    assert entry_count(world) == before


def test_the_confirmation_names_who_is_at_the_cap_and_who_has_it_already(
        world: World, client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", "2026-01-05", quantity=4)  # 8: P01's cap
    world.entry("vice_a", "a2", "P01", DAY)  # already recorded that day, by someone else
    token = web_login(client, "sec_a")
    asked = form_post(client, PAGE, token, marks(world, ("sec_a", "a1", "a2", "a3"),
                                                 rule_code="P01"))
    words = text(asked.text)
    assert "将为 4 名党员各记 +2分；2 名未到会党员不记分。确定吗？" in words
    assert ("以下党员本年度“参加集中学习”已达全年上限（8分），这次记录不再加分或只加一部分："
            "a1（0分）") in words
    assert "以下党员当日已有“参加集中学习”的记录，请核对是否重复登记：a2" in words
    assert "其中 1 条关于您本人的记录，须经其他支委审核通过后才计入积分。" in words


def test_an_hourly_item_says_its_unit_once(world: World, client: TestClient) -> None:
    """P07's unit is in its name: the pickers say 每小时1分, not （每小时）（每次1分…）."""
    web_login(client, "sec_a")
    for path in ("/committee/record", PAGE):
        html = client.get(path).text
        assert "P07 参加志愿服务（每小时1分，全年上限8分）" in html, path
        assert "（每小时）（" not in html and "P01 参加集中学习（每次2分，全年上限8分）" in html


def test_a_form_too_big_to_read_is_a_page(world: World, client: TestClient) -> None:
    """More fields than the framework reads (1,000) answer a page that says so, not JSON."""
    token = web_login(client, "sec_a")
    data = marks(world, ("a1",), ())
    data["present"] = [str(n) for n in range(1, 1500)]
    said = "提交的内容无法读取"
    answer = form_post(client, PAGE, token, data)  # read first by the CSRF check
    assert answer.status_code == 303 and said in flashes(client, answer.headers["location"])
    # With htmx the token is a header and the route's own form parsing refuses it.
    answer = form_post(client, PAGE, token, data, htmx=True)
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert said in text(answer.text)
