"""Every refusal of a disposal case (appraisal.md §5) has its status and code, and changes
nothing: the case as the branch committee reads it, the member and the audit log are as
before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.case_scene import (
    INVESTIGATE,
    PREREVIEW,
    TODAY,
    VOTE,
    file_case,
    propose,
    reach,
    step,
    talk,
)
from tests.api.support import World, approve_rating, ok, refused
from tests.api.test_bad_input import finalize_year


def snapshot(world: World, case: int | None = None) -> tuple[Any, ...]:
    audit = ok(world.get("admin", "/audit", limit=1))["total"]
    member = ok(world.get("admin", f"/members/{world.members['a4']}"))
    listed = ok(world.get("admin", "/cases"))
    seen = ok(world.get("admin", f"/cases/{case}")) if case else None
    return audit, member, listed, seen


def people(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """talker_ids given by username."""
    if "talkers" in body:
        body = dict(body, talker_ids=[world.members.get(t, 10**9) for t in body.pop("talkers")])
    return body


TALK = {"kind": "talk", "held_on": TODAY, "summary": "谈话"}
# (state, who, body, status, code): a step refused at a case about a4 in `state`.
STEPS = {
    "talk_before_investigation": ("filed", "sec_a", TALK | {"talkers": ["a1", "a2"]}, 409,
                                  "wrong_step"),
    "investigation_twice": ("investigated", "sec_a", INVESTIGATE[1], 409, "wrong_step"),
    "proposal_before_talk": ("investigated", "sec_a", propose("expel")[1], 409, "wrong_step"),
    "vote_before_prereview": ("proposed", "sec_a", VOTE[1], 409, "wrong_step"),
    "decision_before_vote": ("prereviewed", "party_sec", {"kind": "decision",
                             "decision": "approve"}, 409, "wrong_step"),
    "followup_not_rectifying": ("voted", "sec_a", {"kind": "followup",
                                "result": "rectified"}, 409, "wrong_step"),
    "withdrawal_not_persuading": ("decided", "sec_a", {"kind": "withdrawal",
                                  "agreed": True}, 409, "wrong_step"),
    "defence_after_vote": ("voted", "a4", {"kind": "defence", "text": "申辩"}, 409,
                           "wrong_step"),
    "appeal_before_decision": ("voted", "a4", {"kind": "appeal", "text": "申诉"}, 409,
                               "wrong_step"),
    "answer_without_appeal": ("decided", "party_sec", {"kind": "appeal_answer",
                              "text": "答复"}, 409, "wrong_step"),
    "deadline_not_reached": ("decided", "sec_a", {"kind": "followup", "result": "rectified"},
                             409, "deadline_not_reached"),
    "no_quorum": ("prereviewed", "sec_a", VOTE[1] | {"present": 3, "for": 3, "against": 0},
                  409, "no_quorum"),
    "counts_do_not_add_up": ("prereviewed", "sec_a", VOTE[1] | {"present": 5, "for": 3,
                             "against": 1}, 422, "counts_mismatch"),
    "more_present_than_members": ("prereviewed", "sec_a", VOTE[1] | {
        "present": 7, "for": 7, "against": 0}, 422, "present_over_eligible"),
    "negative_count": ("prereviewed", "sec_a", VOTE[1] | {"abstain": -1}, 422,
                       "validation_error"),
    "vote_in_the_future": ("prereviewed", "sec_a", VOTE[1] | {"held_on": "2026-01-11"}, 422,
                           "future_date"),
    "talker_is_the_member": ("investigated", "sec_a", TALK | {"talkers": ["a1", "a4"]}, 422,
                             "talkers_invalid"),
    "talker_twice": ("investigated", "sec_a", TALK | {"talkers": ["a1", "a1"]}, 422,
                     "talkers_invalid"),
    "talker_of_another_branch": ("investigated", "sec_a", TALK | {"talkers": ["a1", "b1"]},
                                 422, "talkers_invalid"),
    "talker_unknown": ("investigated", "sec_a", TALK | {"talkers": ["a1", "nobody"]}, 422,
                       "talkers_invalid"),
    "one_talker": ("investigated", "sec_a", TALK | {"talkers": ["a1"]}, 422,
                   "validation_error"),
    "three_talkers": ("investigated", "sec_a", TALK | {"talkers": ["a1", "a2", "a3"]}, 422,
                      "validation_error"),
    "talk_before_investigation_date": ("investigated", "sec_a", TALK | {
        "talkers": ["a1", "a2"], "held_on": "2026-01-09"}, 422, "date_out_of_order"),
    "investigation_before_filing": ("filed", "sec_a", INVESTIGATE[1] | {
        "investigated_on": "2026-01-09"}, 422, "date_out_of_order"),
    "investigation_in_the_future": ("filed", "sec_a", INVESTIGATE[1] | {
        "investigated_on": "2026-01-11"}, 422, "future_date"),
    "investigation_date_not_a_date": ("filed", "sec_a", INVESTIGATE[1] | {
        "investigated_on": "2026-02-30"}, 422, "validation_error"),
    "talk_without_summary": ("investigated", "sec_a", TALK | {"talkers": ["a1", "a2"],
                             "summary": "  "}, 422, "validation_error"),
    "months_13": ("talked", "sec_a", propose("rectify", months=13)[1], 422,
                  "validation_error"),
    "months_0": ("talked", "sec_a", propose("rectify", months=0)[1], 422, "validation_error"),
    "months_with_expel": ("talked", "sec_a", propose("expel", months=6)[1], 422,
                          "months_not_rectify"),
    "unknown_measure": ("talked", "sec_a", propose("warn")[1], 422, "validation_error"),
    "return_without_note": ("proposed", "party_sec", {"kind": "prereview",
                            "decision": "return"}, 422, "return_note_required"),
    "decision_before_vote_date": ("voted", "party_sec", {"kind": "decision",
                                  "decision": "approve", "decided_on": "2026-01-09"}, 422,
                                  "date_out_of_order"),
    "unknown_kind": ("filed", "sec_a", {"kind": "warning", "text": "x"}, 422,
                     "validation_error"),
    "no_kind": ("filed", "sec_a", {"findings": "x"}, 422, "validation_error"),
    "file_as_a_step": ("filed", "sec_a", {"kind": "file", "note": "x"}, 422,
                       "validation_error"),
    "unknown_field": ("filed", "sec_a", INVESTIGATE[1] | {"extra": 1}, 422,
                      "validation_error"),
    "for_as_text": ("prereviewed", "sec_a", VOTE[1] | {"for": "4"}, 422, "validation_error"),
}


@pytest.mark.parametrize("name", list(STEPS))
def test_a_refused_step_changes_nothing(world: World, name: str) -> None:
    state, who, body, status, code = STEPS[name]
    case = reach(world, state)
    before = snapshot(world, case)
    refused(step(world, case, who, people(world, dict(body))), status, code)
    assert snapshot(world, case) == before


def test_a_refusal_names_the_step_in_good_english(world: World) -> None:
    """The step's kind stands after "the", never after "a" (not "a investigation step")."""
    case = reach(world, "investigated")
    said = refused(step(world, case, *INVESTIGATE), 409, "wrong_step")["detail"]
    assert said == f"Case {case} is investigated: the investigation step is not due now."


def test_the_proposer_does_not_prereview(world: World) -> None:
    case = reach(world, "talked")
    ok(step(world, case, "admin", propose("expel")[1]))
    before = snapshot(world, case)
    refused(step(world, case, "admin", PREREVIEW[1]), 403, "own_proposal")
    assert snapshot(world, case) == before
    assert ok(step(world, case, *PREREVIEW))["status"] == "prereviewed"


def test_a_probationary_talker_is_refused(world: World) -> None:
    case = reach(world, "investigated")
    ok(world.patch("sec_a", f"/members/{world.members['a2']}", {"standing": "probationary"}))
    before = snapshot(world, case)
    refused(step(world, case, *talk(world, "a1", "a2")), 422, "talkers_invalid")
    assert snapshot(world, case) == before


# (member, ground, year, note, who, status, code): a filing refused.
FILINGS = {
    "probationary": ("vice_a", "lost_contact", 2026, "", "sec_a", 409, "probationary"),
    "no_rating": ("a4", "unqualified_rating", 2025, "", "sec_a", 409, "not_unqualified"),
    "other_without_note": ("a4", "other", 2026, " ", "sec_a", 422, "note_required"),
    "next_year": ("a4", "lost_contact", 2027, "", "sec_a", 422, "future_year"),
    "unknown_ground": ("a4", "lazy", 2026, "", "sec_a", 422, "validation_error"),
    "own_case": ("sec_a", "lost_contact", 2026, "", "sec_a", 403, "own_case"),
    "by_the_level_above": ("a4", "lost_contact", 2026, "", "party_sec", 403,
                           "branch_committee_only"),
    "by_a_member_about_themself": ("a4", "lost_contact", 2026, "", "a4", 403,
                                   "committee_only"),
    "by_another_member": ("a4", "lost_contact", 2026, "", "a1", 404, "not_found"),
    "by_another_branch": ("a4", "lost_contact", 2026, "", "sec_b", 404, "not_found"),
}


@pytest.mark.parametrize("name", list(FILINGS))
def test_a_refused_filing_changes_nothing(world: World, name: str) -> None:
    member, ground, year, note, who, status, code = FILINGS[name]
    ok(world.patch("sec_a", f"/members/{world.members['vice_a']}",
                   {"standing": "probationary"}))
    before = snapshot(world)
    refused(file_case(world, member, ground, who, year, note), status, code)
    assert snapshot(world) == before


def test_a_second_open_case_and_a_member_who_left_are_refused(world: World) -> None:
    first = reach(world, "proposed")
    before = snapshot(world, first)
    refused(file_case(world, "a4", "other", note="另一件"), 409, "case_open")
    assert snapshot(world, first) == before
    ok(step(world, first, *PREREVIEW))
    ok(step(world, first, "sec_a", VOTE[1] | {"present": 4, "for": 2, "against": 2}))
    assert ok(file_case(world, "a4", "other", note="再次处置"), 201)["status"] == "filed"
    ok(world.post("party_sec", f"/members/{world.members['a3']}/leave",
                  {"kind": "transferred", "on": TODAY, "note": ""}))
    refused(file_case(world, "a3"), 409, "member_left")


def test_leaving_by_hand_cannot_be_an_expulsion(world: World) -> None:
    before = snapshot(world)
    for kind in ("expelled", "persuaded"):
        refused(world.post("party_sec", f"/members/{world.members['a4']}/leave",
                           {"kind": kind, "on": TODAY, "note": ""}), 422, "validation_error")
    assert snapshot(world) == before


def test_unqualified_rating_needs_that_grade_and_not_from_a_veto(world: World) -> None:
    """2025 approved: a4 vetoed (V01: unqualified, already disciplined), a3 unqualified by
    the score (no entries: the four reviews' points only, below 60), a1 set to qualified by
    the committee."""
    world.entry("sec_a", "a4", "V01", "2025-03-01", note="受到党内警告处分")
    finalize_year(world, world.branch_a)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}), 201)
    lines = {i["member_id"]: i for i in rating["items"]}
    assert (lines[world.members["a3"]]["grade"], lines[world.members["a4"]]["vetoed"]) == \
        ("unqualified", True)
    ok(world.patch("sec_a", f"/ratings/{rating['id']}/items/{world.members['a1']}",
                   {"grade": "qualified", "reason": "表现合格"}))
    before = snapshot(world)
    refused(file_case(world, "a3", "unqualified_rating", year=2025), 409, "not_unqualified")
    assert snapshot(world) == before  # the rating is not approved yet
    approve_rating(world, rating["id"])
    before = snapshot(world)
    refused(file_case(world, "a4", "unqualified_rating", year=2025), 409,
            "already_disciplined")
    refused(file_case(world, "a1", "unqualified_rating", year=2025), 409, "not_unqualified")
    assert snapshot(world) == before
    filed = ok(file_case(world, "a3", "unqualified_rating", year=2025), 201)
    assert (filed["ground"], filed["year"], filed["status"]) == \
        ("unqualified_rating", 2025, "filed")


@pytest.mark.parametrize("filed_on", ["1900-01-01", "0001-01-01", "2025-12-31"])
def test_a_case_is_not_filed_before_its_year_or_the_member_joined(world: World,
                                                                  filed_on: str) -> None:
    """A case of 2026 is filed in 2026 at the earliest: a filing dated years back would let
    its steps, and a 限期改正's deadline, be dated into the past."""
    answer = world.post("sec_a", "/cases", {"member_id": world.members["a4"], "ground": "other",
                                            "year": 2026, "note": "说明", "filed_on": filed_on})
    refused(answer, 422, "filed_too_early")
    assert ok(world.get("admin", "/cases"))["total"] == 0
