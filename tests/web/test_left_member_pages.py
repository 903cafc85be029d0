"""A member who has left, on the committee's pages (appraisal.md §1, review 16 #9): their page
says when and how they left beside their category and offers neither 记一笔 nor 重置密码;
what is forced through anyway is refused in words; the branch cards and the tree count the
members who have not left. Their records stay on their page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.case_scene import reach
from tests.api.support import World, ok
from tests.api.test_entry_import import sheet_csv
from tests.web.support import form_post, web_login
from tests.web.test_admin import block
from tests.web.test_entry_import_page import post_file
from tests.web.test_rating_steps_pages import text_of


def test_an_expelled_members_page_says_so_and_offers_no_entry_nor_reset(
        world: World, client: TestClient) -> None:
    a4 = world.members["a4"]
    ok(world.post("sec_a", "/entries", {"member_id": a4, "rule_code": "P01",
                                        "occurred_on": "2026-01-05", "quantity": 1}), 201)
    token = web_login(client, "sec_a")
    page = client.get(f"/committee/members/{a4}").text
    assert f'href="/committee/record?member_id={a4}"' in page and "password-reset" in page
    assert "党员 6 名" in client.get("/committee").text

    reach(world, "decided", "expel")  # a4 expelled, decided today (2026-01-10)
    page = client.get(f"/committee/members/{a4}").text
    words = text_of(page)
    assert "在职 · 入党（转入）" in words and "已离开：除名（2026-01-10）" in words
    assert f"/committee/record?member_id={a4}" not in page and "password-reset" not in page
    assert "P01" in words  # their records stay
    assert "党员 5 名" in client.get("/committee").text

    reset = client.get(f"/members/{a4}/password-reset")
    assert reset.status_code == 409 and "该党员已不在党员名册中" in reset.text
    recorded = form_post(client, "/committee/record", token, {
        "member_id": a4, "rule_code": "P01", "occurred_on": "2026-01-10", "quantity": "1"})
    assert recorded.status_code == 409
    assert "a4已于2026-01-10离开党员队伍，此后的积分记录不能再登记。" in recorded.text
    preview = post_file(client, token, sheet_csv(["a4", "", "", "2026-01-10", "P01", "1", "",
                                                  ""]), year="2026")
    assert "a4已于2026-01-10离开党员队伍，此后的积分记录不能再登记。" in preview.text

    web_login(client, "admin")
    tree = client.get("/admin").text
    assert "党员 5 名" in block(tree, f"org-{world.branch_a}")
    assert "党员 8 名" in block(tree, f"org-{world.party}")
