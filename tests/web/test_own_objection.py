"""A committee member's own objection is answered by another (four eyes, as own entries)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.support import NO_NOTICE, World, ok
from tests.web.support import form_post, web_login
from tests.web.test_committee import flashes, fragment, is_partial, location


def test_my_own_objection_has_no_answer_form_and_a_post_is_refused(world: World,
                                                                   client: TestClient) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    own = ok(world.post("sec_a", f"/reviews/{review['id']}/objections",
                        {"text": "我的评议分有误"}), 201)["id"]
    other = ok(world.post("a1", f"/reviews/{review['id']}/objections",
                          {"text": "a1的异议"}), 201)["id"]
    url = f"/committee/reviews/{review['id']}"
    token = web_login(client, "sec_a")
    sheet = client.get(url).text
    mine, theirs = fragment(sheet, f"objection-{own}"), fragment(sheet, f"objection-{other}")
    assert "这是您本人提出的异议，需由其他支委答复。" in mine and "<form" not in mine
    assert f"/committee/objections/{other}/resolve" in theirs
    # The home page counts only what sec_a may answer.
    assert "待答复的异议 <strong class=\"cm-count\">1</strong>" in client.get("/committee").text

    answer = form_post(client, f"/committee/objections/{own}/resolve", token,
                       {"response": "自己说了算"}, htmx=True)
    assert answer.status_code == 403 and is_partial(answer)
    assert "不能答复自己提出的异议" in answer.text
    answer = client.post(f"/committee/objections/{own}/resolve",
                         data={"response": "自己说了算", "csrf_token": token},
                         headers={"Referer": f"http://testserver{url}"},
                         follow_redirects=False)
    assert "不能答复自己提出的异议" in flashes(client, location(answer))

    token = web_login(client, "vice_a")
    assert f"/committee/objections/{own}/resolve" in fragment(client.get(url).text,
                                                              f"objection-{own}")
    answer = form_post(client, f"/committee/objections/{own}/resolve", token,
                       {"response": "已核实"}, htmx=True)
    assert answer.status_code == 200 and "已核实" in answer.text
