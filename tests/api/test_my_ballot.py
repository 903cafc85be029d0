"""A member's ballot through the API (GET /ratings/{id}/ballot), for a mini-program that
votes without the pages: the rating's id comes with the `ballot_open` notice; the answer
says whether I may vote and whether I did (never what), and lists the lines to vote on
only while I may. Branch A's 2025 rating: a4 exempt (not a voter, not a line)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.appraisal_scene import EXEMPTION
from tests.api.support import World, ok, refused
from tests.api.test_bad_input import finalize_year
from tests.web.support import web_login


def draft(world: World) -> int:
    ok(world.put("sec_a", f"/members/{world.members['a4']}/exemptions/2025", EXEMPTION))
    finalize_year(world, world.branch_a)
    rating_id: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings",
                                   {"year": 2025}), 201)["id"]
    return rating_id


def mine(world: World, who: str, rating_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = ok(world.get(who, f"/ratings/{rating_id}/ballot"))
    return answer


def summary(answer: dict[str, Any]) -> tuple[str, str, int | None, int, bool, bool, list[str]]:
    return (answer["rating_status"], answer["ballot"], answer["voters"], answer["ballots_cast"],
            answer["voter"], answer["voted"], [line["name"] for line in answer["lines"]])


def test_a_member_finds_votes_and_then_sees_only_that_they_voted(world: World) -> None:
    rating_id = draft(world)
    # Before the ballot: a draft members cannot read, but their ballot they can.
    refused(world.get("a1", f"/ratings/{rating_id}"), 404)
    assert summary(mine(world, "a1", rating_id)) == ("draft", "none", None, 0, False, False,
                                                     [])
    ok(world.put("a2", f"/ratings/{rating_id}/self-assessment", {"text": "带头学习"}))
    ok(world.post("sec_a", f"/ratings/{rating_id}/ballot/open"))

    notice = next(n for n in ok(world.get("a1", "/me/notices"))["items"]
                  if n["kind"] == "ballot_open")
    assert notice["rating_id"] == rating_id
    # Voters: sec_a, vice_a, a1, a2, a3 (a4 exempt); lines the same but one's own.
    answer = mine(world, "a1", rating_id)
    assert summary(answer) == ("draft", "open", 5, 0, True, False,
                               ["sec_a", "vice_a", "a2", "a3"])
    assert {line["name"]: line["self_assessment"] for line in answer["lines"]}["a2"] == "带头学习"
    assert summary(mine(world, "a4", rating_id)) == ("draft", "open", 5, 0, False, False, [])

    ids = {line["name"]: line["member_id"] for line in answer["lines"]}
    ok(world.post("a1", f"/ratings/{rating_id}/ballots",
                  {"votes": {str(ids["a2"]): "excellent", str(ids["a3"]): "qualified"}}), 201)
    after = mine(world, "a1", rating_id)
    assert summary(after) == ("draft", "open", 5, 1, True, True, [])
    assert "excellent" not in str(after) and "qualified" not in str(after)
    assert summary(mine(world, "a2", rating_id))[3:] == (1, True, False,
                                                         ["sec_a", "vice_a", "a1", "a3"])

    ok(world.post("sec_a", f"/ratings/{rating_id}/ballot/close"))
    assert summary(mine(world, "a2", rating_id)) == ("draft", "closed", 5, 1, True, False, [])


def test_only_the_branchs_members_read_its_ballot(world: World) -> None:
    rating_id = draft(world)
    ok(world.post("sec_a", f"/ratings/{rating_id}/ballot/open"))
    for who in ("b1", "sec_b", "party_sec", "admin"):  # not members of branch A
        assert refused(world.get(who, f"/ratings/{rating_id}/ballot"), 404)["code"] == "not_found"
    assert refused(world.get("a1", "/ratings/999999/ballot"), 404)["code"] == "not_found"
    assert world.client.get(f"/api/v1/ratings/{rating_id}/ballot").status_code == 401


def test_a_full_ballot_invites_no_one_to_vote(world: World, client: TestClient) -> None:
    """Five voters, five paper ballots typed in: the ballot is full (ballot_full), so a
    voter who has not voted online is not invited, on the API, the home page, the rating
    page or the ballot page."""
    rating_id = draft(world)
    ok(world.post("sec_a", f"/ratings/{rating_id}/ballot/open"))
    web_login(client, "a1")
    assert "民主测评：请投票" in client.get("/me").text
    for _ in range(5):
        ok(world.post("sec_a", f"/ratings/{rating_id}/paper-ballots", {"votes": {}}), 201)
    assert summary(mine(world, "a1", rating_id)) == ("draft", "open", 5, 5, True, False, [])
    assert "民主测评：请投票" not in client.get("/me").text
    page = client.get(f"/me/ratings/{rating_id}").text
    assert "选票已经全部收回" in page and "去投票" not in page
    ballot = client.get(f"/me/ratings/{rating_id}/ballot", follow_redirects=False)
    assert ballot.status_code == 303
    assert "ballot_open" not in {n["kind"] for n in ok(world.get("a1", "/me/notices"))["items"]}
