"""记一笔积分 without JavaScript: a veto or a deduction of 10 points or more needs a reason
and is confirmed once, with what the member's score becomes (issue 17).

a1's 2025 before anything is recorded here, worked out by hand (docs/scoring.md, The score):
  P01 ×5 = 10, capped at 8 | P03 ×3 = 6 | B01 5 + 5 + 3 = 13, capped at 10 | N01 ×1 = −2
  Q1 review published with 4 (Q2's draft review gives 1: not counted until published)
  → 8 + 6 + 10 − 2 + 4 = 26, the score a1's page shows.
D01 10 points: 26 → 16. Then V01: 16 → 0 (vetoed).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import World, ok
from tests.web.support import form_post, web_login
from tests.web.test_committee import flashes, location

DAY = "2025-11-14"
REFUSED = "一票否决或扣10分以上，须写明理由（党员本人能看到）。"


def a1_year(world: World) -> None:
    for code, on, amount in (("P01", "2025-02-14", {"quantity": 5}),
                             ("P03", "2025-02-14", {"quantity": 3}),
                             ("B01", "2025-02-20", {"points": 5}),
                             ("B01", "2025-05-20", {"points": 5}),
                             ("B01", "2025-08-20", {"points": 3}),
                             ("N01", "2025-05-14", {"quantity": 1})):
        world.entry("sec_a", "a1", code, on, **amount)
    a = world.branch_a
    q1 = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 1}), 201)["id"]
    ok(world.put("sec_a", f"/reviews/{q1}/scores", {"scores": {str(world.members["a1"]): 4}}))
    ok(world.post("sec_a", f"/reviews/{q1}/publish", {"notice_days": 5}))
    q2 = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 2}), 201)["id"]
    ok(world.put("sec_a", f"/reviews/{q2}/scores", {"scores": {str(world.members["a1"]): 1}}))


def score(world: World, member: str = "a1") -> int:
    answer: int = ok(world.get("sec_a", f"/members/{world.members[member]}/score",
                               year=2025))["score"]
    return answer


def entries_of(world: World, member: str = "a1") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(world.get(
        "sec_a", "/entries", member_id=world.members[member], year=2025, limit=100))["items"]
    return items


def text(html: str) -> str:
    """The page's words, tags and line breaks dropped."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def hidden(html: str) -> dict[str, str]:
    """The hidden fields of the confirmation's form."""
    form = html[html.index('class="cm-confirm-form"'):]
    form = form[:form.index("</form>")]
    return {name: unescape(value) for name, value in
            re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)}


def test_a_big_deduction_then_a_veto_are_confirmed_with_the_score_they_leave(
        world: World, client: TestClient) -> None:
    a1_year(world)
    assert score(world) == 26
    before = len(entries_of(world))
    token = web_login(client, "sec_a")
    a1 = str(world.members["a1"])
    deduction = {"member_id": a1, "rule_code": "D01", "occurred_on": DAY, "quantity": "1",
                 "points": "10", "note": "防汛值守期间擅自离岗，\n经支委会核实"}

    asked = form_post(client, "/committee/record", token, deduction)
    assert asked.status_code == 200
    assert "记录后，a1 2025 年的积分将由 26 分变为 16 分。确定吗？" in text(asked.text)
    assert "一票否决" not in text(asked.text).split("确认记录")[1]
    # With the form's one-time key (app/web/once.py), made for the form sent without one.
    assert hidden(asked.text) == {"csrf_token": token, **deduction,
                                  "form_key": hidden(asked.text)["form_key"]}
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", hidden(asked.text)["form_key"])
    assert ">确认记录</button>" in asked.text and ">返回修改</button>" in asked.text
    assert len(entries_of(world)) == before and score(world) == 26  # nothing recorded yet

    done = form_post(client, "/committee/record", token, hidden(asked.text) | {"confirmed": "1"})
    assert "已记录：a1 D01 现实表现扣分" in flashes(client, location(done))
    newest = entries_of(world)[0]
    assert (newest["rule_code"], newest["points"], newest["status"], newest["note"]) == (
        "D01", -10, "approved", "防汛值守期间擅自离岗，\n经支委会核实")
    assert score(world) == 16

    veto = {"member_id": a1, "rule_code": "V01", "occurred_on": DAY, "quantity": "",
            "points": "", "note": "受到党内警告处分（县纪委通报）"}
    asked = form_post(client, "/committee/record", token, veto)
    assert asked.status_code == 200
    assert "记录后，a1 2025 年的积分将由 16 分变为 0 分（一票否决）。确定吗？" in text(asked.text)
    form_post(client, "/committee/record", token, hidden(asked.text) | {"confirmed": "1"})
    assert score(world) == 0
    assert [e["rule_code"] for e in entries_of(world)[:2]] == ["V01", "D01"]


def test_a_blank_reason_is_refused_with_everything_kept(world: World,
                                                        client: TestClient) -> None:
    token = web_login(client, "sec_a")
    a1 = world.members["a1"]
    for code, points in (("V02", ""), ("D01", "10"), ("N07", "")):
        answer = form_post(client, "/committee/record", token, {
            "member_id": a1, "rule_code": code, "occurred_on": DAY, "quantity": "1",
            "points": points, "note": "  \n "})
        assert answer.status_code == 422, code
        assert REFUSED in answer.text and "确认记录" not in answer.text
        assert f'value="{a1}" selected' in answer.text
        assert f'value="{code}"' in answer.text and re.search(
            rf'value="{code}"[^>]*selected', answer.text)
        assert f'value="{DAY}"' in answer.text
        assert 'aria-invalid="true" autofocus' in answer.text
    # Even with `confirmed` sent (a hand-made post), a blank reason records nothing.
    answer = form_post(client, "/committee/record", token, {
        "member_id": a1, "rule_code": "V01", "occurred_on": DAY, "note": "",
        "confirmed": "1"})
    assert answer.status_code == 422 and REFUSED in answer.text
    assert entries_of(world) == []


def test_back_to_the_form_keeps_what_was_typed(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    a1 = world.members["a1"]
    typed = {"member_id": a1, "rule_code": "D01", "occurred_on": DAY, "quantity": "1",
             "points": "10", "note": "多次无故不参加网格值守"}
    asked = form_post(client, "/committee/record", token, typed)
    back = form_post(client, "/committee/record", token, hidden(asked.text) | {"edit": "1"})
    assert back.status_code == 200 and "<h1>记一笔积分</h1>" in back.text
    assert re.search(r'value="D01"[^>]*selected', back.text)
    assert 'name="points" value="10"' in back.text
    assert ">多次无故不参加网格值守</textarea>" in back.text
    assert entries_of(world) == []


def test_small_and_positive_entries_are_recorded_at_once(world: World,
                                                         client: TestClient) -> None:
    token = web_login(client, "sec_a")
    a1 = world.members["a1"]
    for code, amount in (("D01", {"points": "9"}), ("N01", {"quantity": "4"}),
                         ("P01", {"quantity": "1"}), ("B01", {"points": "5"})):
        answer = form_post(client, "/committee/record", token, {
            "member_id": a1, "rule_code": code, "occurred_on": DAY, **amount})
        assert location(answer).startswith("/committee/record?"), code
    assert len(entries_of(world)) == 4


def test_the_form_says_which_items_need_a_reason(world: World, client: TestClient) -> None:
    web_login(client, "sec_a")
    page = client.get("/committee/record").text
    reasons = {code: re.findall(r'data-reason="(\w+)"', attributes)[0] if "data-reason"
               in attributes else "" for code, attributes in
               re.findall(r'<option value="(\w+)"([^>]*)>', page)}
    assert {c for c, r in reasons.items() if r == "always"} == {
        "N06", "N07", "V01", "V02", "V03", "V04"}
    assert {c for c, r in reasons.items() if r == "amount"} == {
        "N01", "N02", "N03", "N04", "N05", "N08", "N09", "N10", "D01"}
    assert "须写明理由，党员本人能看到" in page
    assert "扣10分及以上须写明理由，党员本人能看到" in page


def test_an_entry_about_myself_says_it_waits_for_approval(world: World,
                                                          client: TestClient) -> None:
    token = web_login(client, "sec_a")
    asked = form_post(client, "/committee/record", token, {
        "member_id": world.members["sec_a"], "rule_code": "N06", "occurred_on": DAY,
        "quantity": "1", "note": "在工作群转发不当言论"})
    words = text(asked.text)
    assert "记录后，sec_a 2025 年的积分将由 0 分变为 0 分。确定吗？" in words
    assert "这条记录关于您本人，须经其他支委审核通过后才计入积分。" in words
    done = form_post(client, "/committee/record", token, hidden(asked.text) | {"confirmed": "1"})
    assert "需其他支委审核" in flashes(client, location(done))
    assert entries_of(world, "sec_a")[0]["status"] == "pending"
