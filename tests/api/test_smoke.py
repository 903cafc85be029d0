from tests.api.support import World, ok


def test_world_builds_and_me_answers(world: World) -> None:
    me = ok(world.get("sec_a", "/me"))
    assert me["username"] == "sec_a"
    assert {"org_id": world.branch_a, "role": "committee"} in me["roles"]
    assert {"org_id": world.branch_a, "role": "member"} in me["roles"]
    entry = world.entry("sec_a", "a1", "P01", "2025-02-03", quantity=2)
    assert entry["status"] == "approved" and entry["points"] == 4
    score = ok(world.get("a1", f"/members/{world.members['a1']}/score", year=2025))
    assert score["score"] == 4
