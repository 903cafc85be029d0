"""Open objections are counted once (reviews.open_objections); every door reads that count."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.services import reviews
from tests.api.support import NO_NOTICE, World, ok, refused
from tests.web.support import web_login


def test_the_api_finalize_and_both_pages_read_one_count(world: World, client: TestClient,
                                                        db: Session) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    rid = review["id"]
    ok(world.post("sec_a", f"/reviews/{rid}/publish", NO_NOTICE))
    mine = [ok(world.post("a1", f"/reviews/{rid}/objections", {"text": f"异议{n}"}), 201)
            for n in (1, 2)]
    ok(world.post("a2", f"/reviews/{rid}/objections", {"text": "a2的异议"}), 201)

    assert reviews.open_objections(db, [rid])[rid] == 3
    assert reviews.open_objections(db, [rid], world.members["a1"])[rid] == 2
    assert reviews.open_objections(db, []) == {}
    assert ok(world.get("sec_a", f"/reviews/{rid}"))["open_objections"] == 3
    detail = refused(world.post("sec_a", f"/reviews/{rid}/finalize"), 409,
                     "objections_open")["detail"]
    assert detail.startswith("3 objection(s) still open")
    web_login(client, "a1")
    assert "我有2条异议等待答复" in client.get("/me/results").text
    web_login(client, "sec_a")
    assert "还有 3 条异议未答复" in client.get(f"/committee/reviews/{rid}").text

    ok(world.post("sec_a", f"/objections/{mine[0]['id']}/resolve", {"response": "已核实"}))
    assert ok(world.get("sec_a", f"/reviews/{rid}"))["open_objections"] == 2
    assert "还有 2 条异议未答复" in client.get(f"/committee/reviews/{rid}").text
    web_login(client, "a1")
    assert "我有1条异议等待答复" in client.get("/me/results").text
