"""The annual rating's notices (appraisal.md §2): members hear of the ballot (while they may
still vote), of the 公示 and of the answer to their objection, only while they can see the
rating; the branch's committee hears of a return (with its reason) or an approval; the
level above, of what waits for its approval. The clock stands at 2026-01-10 02:00 UTC
(10:00 in Beijing) and moves a minute per step."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.support import NO_NOTICE, PASSWORD, World, ok
from tests.web.support import web_login

BALLOT = "2025年度民主评议党员测评已开始，请您投票（每人一票，投出后不能修改）"
PUBLISHED = "2025年度评星定级结果已公示"
ANSWER = "已复核：4月请假属实，等次调整为合格"
ANSWERED = f"您对2025年度评星定级结果的异议，支委已答复：{ANSWER}"
RATING_KINDS = ("ballot_open", "rating_published", "objection_answered")


def step(world: World) -> None:
    world.clock.advance(minutes=1)


def rating_notices(world: World, who: str) -> list[dict[str, Any]]:
    """Who's notices about ratings (kind, text, link, ids), newest first."""
    page = ok(world.get(who, "/me/notices"))
    return [{k: n[k] for k in ("kind", "text", "link", "rating_id", "objection_id")}
            for n in page["items"] if n["kind"] in RATING_KINDS]


def kinds(world: World, who: str) -> list[str]:
    return [n["kind"] for n in rating_notices(world, who)]


def add_probationary(world: World, username: str) -> int:
    body = {"name": username, "org_id": world.branch_a, "category": "active",
            "joined_on": "2025-07-01", "username": username, "password": PASSWORD,
            "standing": "probationary"}
    world.members[username] = ok(world.post("admin", "/members", body), 201)["id"]
    return world.members[username]


def branch_a_rating(world: World) -> int:
    """Branch A's 2025: four quarters finalized (no notice days), its draft rating."""
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))
    rating: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings",
                                {"year": 2025}), 201)["id"]
    return rating


def ballot_notice(rating: int) -> dict[str, Any]:
    return {"kind": "ballot_open", "text": BALLOT, "link": f"/me/ratings/{rating}",
            "rating_id": rating, "objection_id": None}


def test_the_ballot_is_a_notice_to_voters_who_have_not_voted(world: World,
                                                              client: TestClient) -> None:
    """Voters: full and probationary members on the rating, not exempt. Gone once they vote
    or once every ballot is in; never a count."""
    add_probationary(world, "p1")
    ok(world.put("sec_a", f"/members/{world.members['a4']}/exemptions/2025",
                 {"reason_kind": "bedridden", "note": "长期卧床",
                  "parent_consent_on": "2025-12-20", "meeting_on": "2025-12-28"}))
    rating = branch_a_rating(world)
    branch_a = ("sec_a", "vice_a", "a1", "a2", "a3", "a4", "p1")
    # A draft is the committee's: nobody hears of it.
    assert all(kinds(world, who) == [] for who in branch_a)
    step(world)
    opened = ok(world.post("sec_a", f"/ratings/{rating}/ballot/open"))
    assert opened["ballot"]["voters"] == 6

    voters = ("sec_a", "vice_a", "a1", "a2", "a3", "p1")
    for who in voters:
        assert rating_notices(world, who) == [ballot_notice(rating)], who
    # Exempt (no vote), another branch, the 党委's committee member (of branch B): nothing.
    for who in ("a4", "b1", "sec_b", "party_sec", "admin"):
        assert kinds(world, who) == [], who
    newest = ok(world.get("a1", "/me/notices"))["items"][0]
    assert (newest["kind"], newest["at"], newest["unseen"]) == (
        "ballot_open", "2026-01-10T02:01:00Z", True)
    web_login(client, "a2")
    page = client.get("/me/notices").text
    assert f'{BALLOT}</p>' in page and f'href="/me/ratings/{rating}">去投票 ›' in page

    step(world)
    ok(world.post("a1", f"/ratings/{rating}/ballots",
                  {"votes": {str(world.members["a2"]): "qualified"}}), 201)
    assert kinds(world, "a1") == []
    assert kinds(world, "a2") == ["ballot_open"]
    # Paper ballots for the rest fill the ballot: nobody is asked to vote any more.
    for n in range(4):
        ok(world.post("sec_a", f"/ratings/{rating}/paper-ballots", {"votes": {}}), 201)
        assert kinds(world, "a2") == ["ballot_open"], n
    ok(world.post("sec_a", f"/ratings/{rating}/paper-ballots", {"votes": {}}), 201)
    assert all(kinds(world, who) == [] for who in branch_a)


def committee(client: TestClient, who: str) -> str:
    web_login(client, who)
    answer = client.get("/committee")
    assert answer.status_code == 200
    return answer.text


def count(page: str, label: str) -> int | None:
    match = re.search(rf'{label} <strong class="cm-count">(\d+)</strong>', page)
    return int(match.group(1)) if match else None


RETURNED = "第一支部2025年度评星定级被上级退回，原因：请补充民主测评情况说明"
APPROVED = "第一支部2025年度评星定级已经上级审批同意"
TO_APPROVE = "支部已上报、待审批的评星定级"
TO_SUBMIT = "公示期已满、待上报的评星定级"
DRAFTS = "待审定的评星定级"
TO_ANSWER = "待答复的评星定级异议"


def test_publish_objection_reopen_return_and_approve(world: World,
                                                     client: TestClient) -> None:
    rating = branch_a_rating(world)
    # A draft waits for the branch's own committee, not for the 党委's.
    assert count(committee(client, "sec_a"), DRAFTS) == 1
    assert count(committee(client, "party_sec"), DRAFTS) is None
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/open"))
    assert kinds(world, "a1") == ["ballot_open"]
    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/ballot/close"))
    assert all(kinds(world, who) == [] for who in ("sec_a", "a1", "a2"))

    step(world)  # 公示 at 02:02 UTC: five days, to 1月15日 10:02 in Beijing
    ok(world.post("sec_a", f"/ratings/{rating}/publish", {"notice_days": 5}))
    running = {"kind": "rating_published", "link": f"/me/ratings/{rating}",
               "rating_id": rating, "objection_id": None,
               "text": f"{PUBLISHED}，公示期到1月15日 10:02，有异议请在此前提出"}
    for who in ("sec_a", "vice_a", "a1", "a2", "a3", "a4"):
        assert rating_notices(world, who) == [running], who
    for who in ("b1", "sec_b", "party_sec", "admin"):
        assert kinds(world, who) == [], who

    step(world)
    objection = ok(world.post("a1", f"/ratings/{rating}/objections",
                              {"text": "4月请假已报备"}), 201)["id"]
    assert count(committee(client, "sec_a"), TO_ANSWER) == 1
    assert count(committee(client, "party_sec"), TO_ANSWER) == 1
    step(world)
    ok(world.post("sec_a", f"/objections/{objection}/resolve", {"response": ANSWER}))
    answered = {"kind": "objection_answered", "text": ANSWERED,
                "link": f"/me/ratings/{rating}", "rating_id": rating,
                "objection_id": objection}
    assert rating_notices(world, "a1") == [answered, running]
    assert rating_notices(world, "a2") == [running]
    assert ok(world.get("a1", "/me/notices"))["items"][0]["review_id"] is None

    # Reopened, the rating is the committee's draft again: the members are told nothing of
    # it (not even the answer) until it is published anew.
    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/reopen", {"reason": "按异议调整等次"}))
    assert kinds(world, "a1") == [] and kinds(world, "a2") == []
    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    again = running | {"text": PUBLISHED}
    assert rating_notices(world, "a1") == [again, answered]
    assert ok(world.get("a1", "/me/notices"))["items"][0]["at"] == "2026-01-10T02:06:00Z"

    # The notice is over and no objection is open: the branch submits.
    home = committee(client, "sec_a")
    assert count(home, TO_SUBMIT) == 1 and count(home, TO_ANSWER) is None
    # The 党委's committee sees the branch but does not take its steps: nothing to submit.
    assert count(committee(client, "party_sec"), TO_SUBMIT) is None
    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/submit"))
    assert count(committee(client, "sec_a"), TO_APPROVE) is None
    above = committee(client, "party_sec")
    assert count(above, TO_APPROVE) == 1
    assert f'href="/committee/approvals">{TO_APPROVE}' in above
    assert count(committee(client, "admin"), TO_APPROVE) == 1
    assert kinds(world, "a1") == ["rating_published", "objection_answered"]

    # Returned with a reason: the branch's committee is told (counted as work); the 党委
    # member who returned it is not; the members no longer see the rating.
    step(world)
    ok(world.post("party_sec", f"/ratings/{rating}/return",
                  {"reason": "请补充民主测评情况说明"}))
    for who in ("sec_a", "vice_a"):
        home = committee(client, who)
        assert f'href="/committee/ratings/{rating}">{RETURNED} ›' in home, who
        assert re.search(r'>支部工作 <span class="nav-badge"[^>]*>1</span>', home), who
    above = committee(client, "party_sec")
    assert RETURNED not in above and count(above, TO_APPROVE) is None
    assert kinds(world, "a1") == []

    step(world)
    ok(world.post("sec_a", f"/ratings/{rating}/publish", NO_NOTICE))
    assert RETURNED not in committee(client, "sec_a")  # published anew: done
    ok(world.post("vice_a", f"/ratings/{rating}/submit"))
    step(world)
    ok(world.post("party_sec", f"/ratings/{rating}/approve"))
    for who in ("sec_a", "vice_a"):
        home = committee(client, who)
        assert f'href="/committee/ratings/{rating}">{APPROVED} ›' in home, who
        assert "nav-badge" not in home, who  # news, not work
    assert APPROVED not in committee(client, "party_sec")
    # Approved, the rating stays public: the members keep the 公示 and the answer.
    assert kinds(world, "a1") == ["rating_published", "objection_answered"]
    # The news ages out with the other notices (90 days).
    world.clock.advance(days=91)
    assert APPROVED not in committee(client, "sec_a")
    assert kinds(world, "a1") == []


def test_the_level_above_is_not_asked_to_approve_its_own_submission(
        world: World, client: TestClient) -> None:
    """The account that published and submitted a rating (here an administrator: the
    党委's committee may not take a branch's steps) may not approve it (own_submission):
    it waits for the committee above."""
    rating = branch_a_rating(world)
    for path in ("ballot/open", "ballot/close"):
        ok(world.post("admin", f"/ratings/{rating}/{path}"))
    ok(world.post("admin", f"/ratings/{rating}/publish", NO_NOTICE))
    ok(world.post("admin", f"/ratings/{rating}/submit"))
    assert count(committee(client, "admin"), TO_APPROVE) is None
    assert count(committee(client, "party_sec"), TO_APPROVE) == 1
    assert count(committee(client, "sec_a"), TO_APPROVE) is None
    step(world)
    ok(world.post("party_sec", f"/ratings/{rating}/approve"))
    # The branch's committee hears of it; the level above (the 党委 member, the
    # administrator) does not.
    assert APPROVED in committee(client, "sec_a")
    assert APPROVED not in committee(client, "party_sec")
    assert APPROVED not in committee(client, "admin")
