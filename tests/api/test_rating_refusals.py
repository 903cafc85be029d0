"""The rating's steps refuse what appraisal.md §2 and §6 forbid, each with its code, and a
refusal changes nothing (the rating, its objections, its counts and the audit log are as
before).

Branch A's 2025 rating with every kind of line: sec_a, a1, a2 full and voters; vice_a
probationary (votes, not graded); a3 with rights suspended since 2025-06-01 (graded, does
not vote); a4 exempt (免评) in 2025 (neither). So voters = 4 (sec_a, vice_a, a1, a2) and the
graded lines are sec_a, a1, a2, a3 (n = 4, one excellent at most).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.models import RatingTally, RatingVoter
from tests.api.support import EARLY_REASON, NO_NOTICE, World, ok, refused
from tests.api.test_bad_input import finalize_year

EXEMPTION = {"reason_kind": "bedridden", "note": "长期卧床", "parent_consent_on": "2025-12-01",
             "meeting_on": "2025-12-10"}


def votes(world: World, **ballot: str) -> dict[str, Any]:
    return {"votes": {str(world.members[line]): grade for line, grade in ballot.items()}}


def prepare(world: World) -> int:
    """The rating described above, a draft with no ballot yet."""
    m = world.members
    ok(world.patch("sec_a", f"/members/{m['vice_a']}", {"standing": "probationary"}))
    ok(world.put("sec_a", f"/members/{m['a4']}/exemptions/2025", EXEMPTION))
    ok(world.post("sec_a", f"/members/{m['a3']}/suspensions",
                  {"kind": "party_probation", "starts_on": "2025-06-01", "note": "留党察看"}),
       201)
    finalize_year(world, world.branch_a)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}), 201)
    graded = {i["member_id"] for i in rating["items"] if i["grade"] not in
              ("probationary", "exempt")}
    assert graded == {m["sec_a"], m["a1"], m["a2"], m["a3"]}
    return int(rating["id"])


def publish_and_submit(world: World, rating: int, who: str) -> None:
    ok(world.post(who, f"/ratings/{rating}/publish", NO_NOTICE))
    ok(world.post(who, f"/ratings/{rating}/submit"))


# Each state: the steps from the one before it (STATES order), as (who, path, body).
def reach(world: World, state: str) -> int:
    """A fresh rating taken to `state`."""
    rating = prepare(world)
    r = f"/ratings/{rating}"
    if state == "draft":
        return rating
    ok(world.post("sec_a", f"{r}/ballot/open"))
    ok(world.post("a1", f"{r}/ballots", votes(world, a2="qualified", a3="excellent")), 201)
    if state == "open":
        return rating
    if state == "full":  # a1 online and three on paper: 4 of 4
        for _ in range(3):
            ok(world.post("sec_a", f"{r}/paper-ballots", votes(world, a1="qualified")), 201)
        return rating
    ok(world.post("sec_a", f"{r}/ballot/close"))
    if state == "closed":
        return rating
    if state == "submitted_by_admin":
        publish_and_submit(world, rating, "admin")
        return rating
    if state == "submitted_by_both":  # sec_a sits on the 党委's committee too
        ok(world.post("admin", f"/orgs/{world.party}/committee",
                      {"member_id": world.members["sec_a"]}), 201)
        publish_and_submit(world, rating, "sec_a")
        return rating
    ok(world.post("sec_a", f"{r}/publish", {"notice_days": 5}))
    if state == "published":
        return rating
    if state == "objection":
        ok(world.post("a1", f"{r}/objections", {"text": "我的测评结果有误"}), 201)
    world.clock.advance(days=6)
    if state == "objection":
        return rating
    ok(world.post("sec_a", f"{r}/submit"))
    if state == "submitted":
        return rating
    assert state == "approved", state
    ok(world.post("party_sec", f"{r}/approve"))
    return rating


class Case(NamedTuple):
    state: str
    who: str
    method: str
    path: str  # after /ratings/{id}; {a1} etc. are member ids
    body: Any
    status: int
    code: str | None


BALLOTS, PAPER = "/ballots", "/paper-ballots"
CASES = {
    # --- the ballot, while it is open (a1 has voted) ---
    "second_ballot": Case("open", "a1", "POST", BALLOTS, {"a2": "excellent"}, 409,
                          "already_voted"),
    "own_line": Case("open", "a2", "POST", BALLOTS, {"a2": "excellent"}, 422, "own_line"),
    "own_line_among_others": Case("open", "a2", "POST", BALLOTS,
                                  {"a1": "qualified", "a2": "excellent"}, 422, "own_line"),
    "probationary_line": Case("open", "a2", "POST", BALLOTS, {"vice_a": "qualified"}, 422,
                              "not_a_graded_line"),
    "exempt_line": Case("open", "a2", "POST", BALLOTS, {"a4": "qualified"}, 422,
                        "not_a_graded_line"),
    "line_of_another_branch": Case("open", "a2", "POST", BALLOTS, {"b1": "qualified"}, 422,
                                   "not_a_graded_line"),
    "unknown_grade": Case("open", "a2", "POST", BALLOTS, {"a1": "good"}, 422,
                          "validation_error"),
    "grade_exempt": Case("open", "a2", "POST", BALLOTS, {"a1": "exempt"}, 422,
                         "validation_error"),
    "grade_probationary": Case("open", "a2", "POST", BALLOTS, {"a1": "probationary"}, 422,
                               "validation_error"),
    "line_not_an_id": Case("open", "a2", "POST", BALLOTS, {"abc": "qualified"}, 422,
                           "validation_error"),
    "votes_not_a_map": Case("open", "a2", "POST", BALLOTS, ["qualified"], 422,
                            "validation_error"),
    "exempt_voter": Case("open", "a4", "POST", BALLOTS, {"a1": "qualified"}, 403,
                         "not_a_voter"),
    "suspended_voter": Case("open", "a3", "POST", BALLOTS, {"a1": "qualified"}, 403,
                            "not_a_voter"),
    "member_of_another_branch": Case("open", "b1", "POST", BALLOTS, {"a1": "qualified"},
                                     404, None),
    "committee_above_votes": Case("open", "party_sec", "POST", BALLOTS, {"a1": "qualified"},
                                  403, "not_a_voter"),
    "admin_votes": Case("open", "admin", "POST", BALLOTS, {"a1": "qualified"}, 403,
                        "not_a_voter"),
    "member_types_paper": Case("open", "a2", "POST", PAPER, {"a1": "qualified"}, 404, None),
    "paper_on_probationary_line": Case("open", "sec_a", "POST", PAPER,
                                       {"vice_a": "qualified"}, 422, "not_a_graded_line"),
    "paper_unknown_grade": Case("open", "sec_a", "POST", PAPER, {"a1": "top"}, 422,
                                "validation_error"),
    "publish_ballot_open": Case("open", "sec_a", "POST", "/publish", NO_NOTICE, 409,
                                "ballot_open"),
    "open_twice": Case("open", "sec_a", "POST", "/ballot/open", None, 409, "ballot_opened"),
    "member_opens": Case("draft", "a1", "POST", "/ballot/open", None, 404, None),
    # --- ballot full: 4 cast of 4 ---
    "online_past_voters": Case("full", "a2", "POST", BALLOTS, {"a1": "qualified"}, 409,
                               "ballot_full"),
    "paper_past_voters": Case("full", "sec_a", "POST", PAPER, {"a1": "qualified"}, 409,
                              "ballot_full"),
    # --- ballot not open ---
    "vote_before_open": Case("draft", "a1", "POST", BALLOTS, {"a2": "qualified"}, 409,
                             "ballot_not_open"),
    "paper_before_open": Case("draft", "sec_a", "POST", PAPER, {}, 409, "ballot_not_open"),
    "close_before_open": Case("draft", "sec_a", "POST", "/ballot/close", None, 409,
                              "ballot_not_open"),
    "vote_after_close": Case("closed", "a2", "POST", BALLOTS, {"a1": "qualified"}, 409,
                             "ballot_not_open"),
    "paper_after_close": Case("closed", "sec_a", "POST", PAPER, {}, 409, "ballot_not_open"),
    "reopen_the_ballot": Case("closed", "sec_a", "POST", "/ballot/open", None, 409,
                              "ballot_opened"),
    "vote_when_published": Case("published", "a2", "POST", BALLOTS, {"a1": "qualified"}, 409,
                                "ballot_not_open"),
    # --- publish ---
    "publish_without_ballot": Case("draft", "sec_a", "POST", "/publish", NO_NOTICE,
                                   409, "ballot_required"),
    "notice_too_long": Case("closed", "sec_a", "POST", "/publish", {"notice_days": 61}, 422,
                            "validation_error"),
    "publish_twice": Case("published", "sec_a", "POST", "/publish", NO_NOTICE, 409,
                          "rating_not_draft"),
    "member_publishes": Case("closed", "a1", "POST", "/publish", NO_NOTICE, 404,
                             None),
    # --- after publication: no grade change, no self-assessment ---
    "grade_when_published": Case("published", "sec_a", "PATCH", "/items/{a1}",
                                 {"grade": "qualified", "reason": "复核"}, 409,
                                 "rating_not_draft"),
    "grade_when_submitted": Case("submitted", "sec_a", "PATCH", "/items/{a1}",
                                 {"grade": "qualified", "reason": "复核"}, 409,
                                 "rating_not_draft"),
    "grade_when_approved": Case("approved", "sec_a", "PATCH", "/items/{a1}",
                                {"grade": "qualified", "reason": "复核"}, 409, "rating_final"),
    "self_assessment_when_published": Case("published", "a1", "PUT", "/self-assessment",
                                           {"text": "补充"}, 409, "rating_not_draft"),
    "self_assessment_when_approved": Case("approved", "a1", "PUT", "/self-assessment",
                                          {"text": "补充"}, 409, "rating_final"),
    # --- objections (the body names no line: an objection is on the objector's own line,
    # so someone else's line is out of reach; those without a line are refused) ---
    "objection_not_on_rating": Case("published", "party_sec", "POST", "/objections",
                                    {"text": "有误"}, 403, "not_on_rating"),
    "objection_by_admin": Case("published", "admin", "POST", "/objections", {"text": "有误"},
                               403, "not_on_rating"),
    "objection_other_branch": Case("published", "b1", "POST", "/objections",
                                   {"text": "有误"}, 404, None),
    "objection_without_text": Case("published", "a1", "POST", "/objections", {"text": "  "},
                                   422, "validation_error"),
    "objection_on_a_draft": Case("closed", "a1", "POST", "/objections", {"text": "有误"}, 404,
                                 None),
    "objection_after_notice": Case("objection", "a2", "POST", "/objections",
                                   {"text": "有误"}, 409, "notice_not_running"),
    "objection_when_submitted": Case("submitted", "a1", "POST", "/objections",
                                     {"text": "有误"}, 409, "notice_not_running"),
    # --- reopen ---
    "reopen_without_reason": Case("published", "sec_a", "POST", "/reopen", {}, 422,
                                  "validation_error"),
    "reopen_blank_reason": Case("published", "sec_a", "POST", "/reopen", {"reason": " "},
                                422, "validation_error"),
    "reopen_a_draft": Case("closed", "sec_a", "POST", "/reopen", {"reason": "复核"}, 409,
                           "rating_not_published"),
    "reopen_when_submitted": Case("submitted", "sec_a", "POST", "/reopen",
                                  {"reason": "复核"}, 409, "rating_not_published"),
    # --- the steps are the branch committee's own; the 党委 above approves or returns ---
    "above_opens_the_ballot": Case("draft", "party_sec", "POST", "/ballot/open", None, 403,
                                   "branch_committee_only"),
    "above_types_paper": Case("open", "party_sec", "POST", PAPER, {"a1": "qualified"}, 403,
                              "branch_committee_only"),
    "above_closes_the_ballot": Case("open", "party_sec", "POST", "/ballot/close", None, 403,
                                    "branch_committee_only"),
    "above_grades": Case("closed", "party_sec", "PATCH", "/items/{a1}",
                         {"grade": "qualified", "reason": "复核"}, 403,
                         "branch_committee_only"),
    "above_publishes": Case("closed", "party_sec", "POST", "/publish", NO_NOTICE,
                            403, "branch_committee_only"),
    "above_reopens": Case("published", "party_sec", "POST", "/reopen", {"reason": "复核"},
                          403, "branch_committee_only"),
    "above_submits": Case("objection", "party_sec", "POST", "/submit", None, 403,
                          "branch_committee_only"),
    "member_reopens": Case("published", "a1", "POST", "/reopen", {"reason": "复核"}, 403,
                           "committee_only"),
    # --- submit ---
    "submit_a_draft": Case("closed", "sec_a", "POST", "/submit", None, 409,
                           "rating_not_published"),
    "submit_while_notice_runs": Case("published", "sec_a", "POST", "/submit", None, 409,
                                     "notice_running"),
    "submit_with_open_objection": Case("objection", "sec_a", "POST", "/submit", None, 409,
                                       "objections_open"),
    "submit_twice": Case("submitted", "sec_a", "POST", "/submit", None, 409,
                         "rating_not_published"),
    # --- approve and return ---
    "approve_a_draft": Case("closed", "party_sec", "POST", "/approve", None, 409,
                            "rating_not_submitted"),
    "approve_when_published": Case("published", "party_sec", "POST", "/approve", None, 409,
                                   "rating_not_submitted"),
    "approve_by_branch_secretary": Case("submitted", "sec_a", "POST", "/approve", None, 403,
                                        "committee_above_only"),
    "approve_by_branch_committee": Case("submitted", "vice_a", "POST", "/approve", None, 403,
                                        "committee_above_only"),
    "approve_by_a_member": Case("submitted", "a1", "POST", "/approve", None, 403,
                                "committee_above_only"),
    "approve_by_other_branch": Case("submitted", "sec_b", "POST", "/approve", None, 404,
                                    None),
    "return_by_branch": Case("submitted", "sec_a", "POST", "/return", {"reason": "补充"}, 403,
                             "committee_above_only"),
    "return_without_reason": Case("submitted", "party_sec", "POST", "/return", {}, 422,
                                  "validation_error"),
    "approve_own_submission": Case("submitted_by_both", "sec_a", "POST", "/approve", None,
                                   403, "own_submission"),
    "return_own_submission": Case("submitted_by_both", "sec_a", "POST", "/return",
                                  {"reason": "补充"}, 403, "own_submission"),
    "admin_approves_own_submission": Case("submitted_by_admin", "admin", "POST", "/approve",
                                          None, 403, "own_submission"),
    "approve_twice": Case("approved", "party_sec", "POST", "/approve", None, 409,
                          "rating_not_submitted"),
    "return_when_approved": Case("approved", "admin", "POST", "/return", {"reason": "补充"},
                                 409, "rating_not_submitted"),
}


def state_of(world: World, db: Session, rating: int) -> dict[str, Any]:
    """Everything a refusal must leave as it was: the rating as the administrator sees it,
    its objections, its counts and voters as stored, and the audit log's length."""
    tally = RatingTally.__table__  # type: ignore[attr-defined]
    voters = RatingVoter.__table__  # type: ignore[attr-defined]
    stored = {name: sorted(tuple(r) for r in db.execute(
        sa.select(table).where(table.c.rating_id == rating)))
        for name, table in (("tally", tally), ("voters", voters))}
    db.commit()
    return {"rating": ok(world.get("admin", f"/ratings/{rating}")),
            "objections": ok(world.get("admin", f"/ratings/{rating}/objections")),
            "audit": ok(world.get("admin", "/audit", limit=1))["total"], **stored}


def resolved(world: World, case: Case) -> tuple[str, Any]:
    """The case's path and body with member names turned into ids."""
    m = world.members
    path = case.path.format(**m)
    body = case.body
    if case.path in (BALLOTS, PAPER) and isinstance(body, dict):
        body = {"votes": {str(m.get(k, k)): g for k, g in body.items()}}
    elif case.path in (BALLOTS, PAPER):
        body = {"votes": body}
    return path, body


STATES = sorted({case.state for case in CASES.values()})


@pytest.mark.parametrize("state", STATES)
def test_a_refused_step_says_why_and_changes_nothing(world: World, db: Session,
                                                     state: str) -> None:
    """Every case of CASES in this state, one after the other on the same rating (each
    refusal leaves it as it was for the next); the cases that failed named together."""
    rating = reach(world, state)
    failed = {}
    for name, case in CASES.items():
        if case.state != state:
            continue
        world.as_(case.who)  # logged in before: a login writes rows of its own
        path, body = resolved(world, case)
        before = state_of(world, db, rating)
        answer = world.client.request(case.method, f"/api/v1/ratings/{rating}{path}",
                                      json=body, headers=world.as_(case.who))
        try:
            refused(answer, case.status, case.code)
            assert state_of(world, db, rating) == before, "changed something"
        except AssertionError as error:
            failed[name] = str(error)[:300]
    assert failed == {}


def test_returned_then_published_again_starts_a_new_notice(world: World) -> None:
    """Returned by the 党委 after submission: a draft again, with the tally kept and the
    ballot closed for good; published again, a new notice of its own days runs from then,
    objections may be raised again, and submission waits for its end."""
    rating = reach(world, "submitted")
    r = f"/ratings/{rating}"
    tally = [i["tally"] for i in ok(world.get("sec_a", r))["items"]]
    returned = ok(world.post("party_sec", f"{r}/return", {"reason": "请补充测评情况"}))
    assert (returned["status"], returned["sent_back"], returned["sent_back_reason"],
            returned["notice_until"], returned["submitted_at"]) == (
        "draft", "returned", "请补充测评情况", None, None)
    assert returned["ballot"]["status"] == "closed"
    assert [i["tally"] for i in returned["items"]] == tally
    refused(world.post("sec_a", f"{r}/ballot/open"), 409, "ballot_opened")
    ok(world.patch("sec_a", f"{r}/items/{world.members['a2']}",
                   {"grade": "basically_qualified", "reason": "党委退回后复核"}))
    world.clock.advance(days=1)
    again = ok(world.post("sec_a", f"{r}/publish", {"notice_days": 3, "reason": EARLY_REASON}))
    assert again["notice_until"] == "2026-01-20T02:00:00Z"  # 10 Jan + 6 + 1 days, + 3
    refused(world.post("sec_a", f"{r}/submit"), 409, "notice_running")
    objection = ok(world.post("a2", f"{r}/objections", {"text": "不同意基本合格"}), 201)
    world.clock.advance(days=3)
    refused(world.post("sec_a", f"{r}/submit"), 409, "objections_open")
    ok(world.post("vice_a", f"/objections/{objection['id']}/resolve",
                  {"response": "经复核维持"}))
    ok(world.post("sec_a", f"{r}/submit"))
    approved = ok(world.post("admin", f"{r}/approve"))
    assert approved["status"] == "approved"
    assert [i["tally"] for i in approved["items"]] == tally


def test_reopened_after_an_objection_the_grade_changes_and_a_new_notice_runs(
        world: World) -> None:
    rating = reach(world, "published")
    r, a1 = f"/ratings/{rating}", world.members["a1"]
    objection = ok(world.post("a1", f"{r}/objections", {"text": "我应为优秀"}), 201)
    refused(world.patch("sec_a", f"{r}/items/{a1}",
                        {"grade": "excellent", "reason": "异议成立"}), 409, "rating_not_draft")
    reopened = ok(world.post("sec_a", f"{r}/reopen", {"reason": "异议成立，复核"}))
    assert (reopened["status"], reopened["sent_back"], reopened["notice_until"]) == (
        "draft", "reopened", None)
    assert reopened["ballot"]["status"] == "closed"
    ok(world.patch("sec_a", f"{r}/items/{a1}", {"grade": "excellent", "reason": "异议成立"}))
    world.clock.advance(hours=2)
    again = ok(world.post("sec_a", f"{r}/publish", {"notice_days": 5}))
    assert again["notice_until"] == "2026-01-15T04:00:00Z"  # from the new publication
    # The objection raised in the first notice is answered now.
    ok(world.post("sec_a", f"/objections/{objection['id']}/resolve", {"response": "已改正"}))
    world.clock.advance(days=5)
    ok(world.post("sec_a", f"{r}/submit"))
    final = ok(world.post("party_sec", f"{r}/approve"))
    assert {i["member_id"]: i["grade"] for i in final["items"]}[a1] == "excellent"


def test_a_general_branch_between_cannot_approve_only_the_party_committee(
        world: World) -> None:
    """党委 → 总支 → 第三支部: the 总支's committee sees the branch's rating but neither takes it
    through its steps nor approves it; the 党委's committee approves."""
    general = ok(world.post("admin", "/orgs", {"name": "机关总支", "parent_id": world.party,
                                               "kind": "general_branch"}), 201)["id"]
    branch = ok(world.post("admin", "/orgs", {"name": "第三支部", "parent_id": general,
                                              "kind": "branch"}), 201)["id"]
    for name in ("sec_c", "c1", "zz_sec"):
        world.add_member(name, branch)
    for name, org in (("sec_c", branch), ("zz_sec", general)):
        ok(world.post("admin", f"/orgs/{org}/committee", {"member_id": world.members[name]}),
           201)
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_c", f"/orgs/{branch}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_c", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_c", f"/reviews/{review}/finalize"))
    rating = ok(world.post("sec_c", f"/orgs/{branch}/ratings", {"year": 2025}), 201)["id"]
    r = f"/ratings/{rating}"
    ok(world.post("sec_c", f"{r}/ballot/open"))
    ok(world.post("c1", f"{r}/ballots", votes(world, sec_c="excellent")), 201)
    ok(world.post("sec_c", f"{r}/ballot/close"))
    refused(world.post("zz_sec", f"{r}/publish", NO_NOTICE), 403,
            "branch_committee_only")
    publish_and_submit(world, rating, "sec_c")
    for who, code in (("sec_c", "committee_above_only"), ("zz_sec", "committee_above_only"),
                      ("sec_a", None)):  # another branch's committee: not even seen
        status = 404 if code is None else 403
        for step, body in (("approve", None), ("return", {"reason": "补充"})):
            refused(world.post(who, f"{r}/{step}", body), status, code)
    assert ok(world.get("zz_sec", r))["status"] == "submitted"  # the 总支 sees it
    assert ok(world.post("party_sec", f"{r}/approve"))["status"] == "approved"
