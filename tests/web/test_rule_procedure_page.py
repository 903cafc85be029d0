"""The procedural parameters on the administrator's rules page (appraisal.md §6): shown,
changed with a plain form (no JavaScript), refusals in the form, also once frozen."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import form_post, web_login


def section(html: str) -> str:
    start = html.index('<section class="card" id="procedure"')
    return html[start:html.index("</section>", start)]


def procedure(world: World, year: int) -> tuple[bool, int, int, int]:
    params = ok(world.get("admin", "/rules", year=year))["params"]
    return (params["ballot_required"], params["rating_notice_days"], params["rectify_months"],
            params["min_notice_days"])


def send(client: TestClient, token: str, year: int, ballot: bool, days: str,
         months: str, minimum: str = "5") -> Any:
    form = {"rating_notice_days": days, "rectify_months": months, "min_notice_days": minimum}
    if ballot:
        form["ballot_required"] = "1"
    return form_post(client, f"/admin/rules/procedure?year={year}", token, form)


def test_the_form_shows_and_sets_the_four(world: World, client: TestClient) -> None:
    token = web_login(client, "admin")
    shown = section(client.get("/admin/rules?year=2026").text)
    for label in ("评定程序参数", "须经民主测评方可公示", "评星定级公示天数", "限期改正默认月数",
                  "最短公示天数", "公示少于这个天数的，须写明理由", "规则锁定后仍可修改"):
        assert label in shown
    assert 'action="/admin/rules/procedure?year=2026#procedure"' in shown
    assert re.search(r'name="ballot_required" value="1"[^>]*\s+checked>', shown)
    assert 'value="5"' in shown and 'value="6"' in shown and 'name="csrf_token"' in shown
    assert re.search(r'name="min_notice_days" min="0" max="60"[^>]*value="5"', shown)
    answer = send(client, token, 2026, False, "10", " 3 ", "7")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/rules?year=2026#procedure"
    assert procedure(world, 2026) == (False, 10, 3, 7)
    page = client.get(answer.headers["location"]).text
    assert "已保存2026年度评定程序参数。" in page
    again = section(page)
    assert 'value="10"' in again and 'value="3"' in again and 'value="7"' in again
    assert not re.search(r'name="ballot_required"[^>]*checked', again)
    # 2027 reads 2026's until it has its own.
    assert procedure(world, 2027) == (False, 10, 3, 7)


CASES = [
    # (days, months, minimum, the message, the field marked)
    ("61", "6", "5", "公示天数须为0到60之间的整数。", "rating_notice_days"),
    ("-1", "6", "5", "公示天数须为0到60之间的整数。", "rating_notice_days"),
    ("", "6", "5", "公示天数须为0到60之间的整数。", "rating_notice_days"),
    ("五", "6", "5", "公示天数须为0到60之间的整数。", "rating_notice_days"),
    ("5", "0", "5", "限期改正月数须为1到12之间的整数。", "rectify_months"),
    ("5", "13", "5", "限期改正月数须为1到12之间的整数。", "rectify_months"),
    ("5", "1.5", "5", "限期改正月数须为1到12之间的整数。", "rectify_months"),
    ("5", "9" * 20, "5", "限期改正月数须为1到12之间的整数。", "rectify_months"),
    ("5", "6", "61", "最短公示天数须为0到60之间的整数。", "min_notice_days"),
    ("5", "6", "", "最短公示天数须为0到60之间的整数。", "min_notice_days"),
    ("5", "6", "-1", "最短公示天数须为0到60之间的整数。", "min_notice_days"),
]


def test_a_bad_value_is_shown_in_the_form_and_nothing_changes(world: World,
                                                              client: TestClient) -> None:
    token = web_login(client, "admin")
    for days, months, minimum, message, field in CASES:
        answer = send(client, token, 2026, False, days, months, minimum)
        assert answer.status_code == 422, (days, months, minimum, answer.text[:300])
        shown = section(answer.text)
        assert message in shown, (days, months, minimum)
        # What was typed stays in the form, the bad field marked, the box as it was sent.
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', shown), (days, months)
        assert f'value="{days}"' in shown and f'value="{months}"' in shown
        assert f'value="{minimum}"' in shown
        assert not re.search(r'name="ballot_required"[^>]*checked', shown)
        assert procedure(world, 2026) == (True, 5, 6, 5)


def freeze(world: World, year: int) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": year, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))


def test_a_frozen_year_still_takes_them(world: World, client: TestClient) -> None:
    freeze(world, 2025)
    token = web_login(client, "admin")
    page = client.get("/admin/rules?year=2025").text
    assert "该年度已有季度确认，规则已锁定" in page and "/edit" not in page
    assert 'action="/admin/rules/procedure?year=2025#procedure"' in section(page)
    answer = send(client, token, 2025, True, "0", "12", "3")
    assert answer.status_code == 303 and procedure(world, 2025) == (True, 0, 12, 3)


def test_a_committee_sees_them_and_cannot_change_them(world: World,
                                                      client: TestClient) -> None:
    token = web_login(client, "sec_a")
    shown = section(client.get("/admin/rules?year=2026").text)
    assert "须经民主测评方可公示：<strong>是</strong>" in shown
    assert "评星定级公示天数：<strong>5</strong>" in shown
    assert "限期改正默认月数：<strong>6</strong>" in shown
    assert "最短公示天数：<strong>5</strong>" in shown
    assert "<form" not in shown
    # Refused as any page's form is: back to the page, the reason in its flash.
    answer = client.post("/admin/rules/procedure?year=2026", data={
        "csrf_token": token, "rating_notice_days": "9", "rectify_months": "9"},
        headers={"Referer": "http://testserver/admin/rules?year=2026"})
    assert "只有管理员可以进行此操作。" in answer.text and procedure(world, 2026) == (True, 5, 6, 5)
