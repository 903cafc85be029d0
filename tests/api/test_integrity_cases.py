"""`jifen check` of disposal cases (appraisal.md §5): every case's steps in order and its
state what they lead to; each step still what the rules let it say and what its audit row
recorded; every member who left by 除名 or 劝退 has the case that did it. A row changed,
added or deleted behind the app's back is found, and named by case and step in words."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.services.integrity import format_report, run_checks
from tests.api.case_scene import (
    AGREED_STEP,
    DECIDE,
    INVESTIGATE,
    PREREVIEW,
    VOTE,
    file_case,
    propose,
    reach,
    step,
    talk,
)
from tests.api.support import World, ok


def problems(world: World, db: Session) -> list[tuple[str, int | None]]:
    return [(p.object_type, p.object_id) for p in case_problems(world, db)]


def case_problems(world: World, db: Session) -> list[Any]:
    report = run_checks(db, world.clock.now())
    assert report.checked["disposal cases"] >= 0
    return [p for p in report.problems if p.check == "cases"]


def expelled_after_a_defence(world: World) -> int:
    """A case about a4 through every kind of step the branch and the 党委 take, with a4's
    defence before the vote; a4 is expelled."""
    case: int = ok(file_case(world), 201)["id"]
    for who, body in [INVESTIGATE, talk(world),
                      ("a4", {"kind": "defence", "text": "我有正当理由"}),
                      propose("expel"), PREREVIEW, VOTE, DECIDE]:
        ok(step(world, case, who, body))
    return case


def step_id(db: Session, case: int, kind: str) -> int:
    return int(db.execute(sa.text("SELECT id FROM case_step WHERE case_id = :case AND "
                                  "kind = :kind"), {"case": case, "kind": kind}).scalar_one())


def test_cases_taken_by_the_app_are_in_order(world: World, db: Session) -> None:
    reach(world, "decided", "expel", member="a4")
    persuaded = reach(world, "decided", "persuade", member="a3")
    ok(step(world, persuaded, *AGREED_STEP))
    reach(world, "talked", member="vice_a")
    assert problems(world, db) == []


def test_a_case_with_a_defence_and_dates_entered_is_in_order(world: World,
                                                            db: Session) -> None:
    """Every kind of step, the filing and 调查核实 dated by hand before the talk."""
    world.clock.advance(days=5)
    case: int = ok(world.post("sec_a", "/cases", {
        "member_id": world.members["a4"], "ground": "lost_contact", "year": 2026,
        "note": "失联半年", "filed_on": "2026-01-08"}), 201)["id"]
    ok(step(world, case, "sec_a", {**INVESTIGATE[1], "investigated_on": "2026-01-09"}))
    # The branch meeting votes after the 党委's prereview, recorded today (2026-01-15).
    vote = ("sec_a", {**VOTE[1], "held_on": "2026-01-15"})
    for who, body in [talk(world), ("a4", {"kind": "defence", "text": "我有正当理由"}),
                      propose("expel"), PREREVIEW, vote, DECIDE]:
        ok(step(world, case, who, body))
    assert problems(world, db) == []


def test_a_tampered_case_is_found_and_told_in_words(world: World, db: Session) -> None:
    case = reach(world, "proposed")
    db.execute(sa.text("UPDATE disposal_case SET status = 'voted' WHERE id = :id"), {"id": case})
    [found] = case_problems(world, db)
    assert (found.object_type, found.object_id) == ("case", case)
    assert found.message == (
        f"case {case} is stored as voted, outcome none, measure rectify, no appeal open, but "
        "its steps lead to proposed, outcome none, measure rectify, no appeal open.")


def test_a_step_out_of_order_is_found(world: World, db: Session) -> None:
    case = reach(world, "talked")
    talk_id = step_id(db, case, "talk")
    db.execute(sa.text("UPDATE case_step SET kind = 'vote' WHERE id = :id"), {"id": talk_id})
    messages = [p.message for p in case_problems(world, db)]
    assert set(problems(world, db)) == {("case", case)}
    assert messages[0] == (f"case {case}, step {talk_id} (vote): it is not allowed after the "
                           "steps before it (the case was then investigated, outcome none, "
                           "measure none, no appeal open).")
    assert any(f"step {talk_id} (vote) is not what audit row" in m and
               "kind vote (recorded talk)" in m for m in messages)


# (what was done behind the app's back, the step it was done to, what the check says of it)
TAMPERED: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "no_quorum": ("UPDATE case_step SET present = 2, votes_for = 1, against = 1 "
                  "WHERE id = :step", "vote",
                  ("2 present of 6 members with a vote is no quorum",
                   "it is stored as passed, but 1 for of 6 members with a vote is not more "
                   "than half", "present 2 (recorded 5)", "votes_for 1 (recorded 4)")),
    "counts_do_not_add_up": ("UPDATE case_step SET votes_for = 3, against = 6 WHERE id = :step",
                             "vote",
                             ("3 for + 6 against + 0 abstaining is not the 5 present",
                              "it is stored as passed, but 3 for of 6 members",
                              "against 6 (recorded 1)")),
    "more_present_than_eligible": ("UPDATE case_step SET present = 7, votes_for = 6 "
                                   "WHERE id = :step", "vote",
                                   ("7 present is more than the 6 members with a vote",)),
    "talker_is_the_member": ("UPDATE case_step SET talker1_id = (SELECT member_id FROM "
                             "disposal_case WHERE id = case_step.case_id) WHERE id = :step",
                             "talk", ("whom the case is about, is one of its talkers",
                                      "talker1_id")),
    "one_talker_twice": ("UPDATE case_step SET talker2_id = talker1_id WHERE id = :step",
                         "talk", ("its two talkers are one member, member",)),
    "talk_before_the_investigation": ("UPDATE case_step SET \"on\" = '2026-01-05' "
                                      "WHERE id = :step", "talk",
                                      ("it is dated 2026-01-05, before step",
                                       "(investigation) of 2026-01-10",
                                       "on 2026-01-05 (recorded 2026-01-10)")),
    "vote_after_the_day_recorded": ("UPDATE case_step SET \"on\" = '2026-02-01' "
                                    "WHERE id = :step", "vote",
                                    ("it is dated 2026-02-01, after the day it was recorded "
                                     "(2026-01-10)", "(decision): it is dated 2026-01-10, "
                                     "before step")),
    "defence_rewritten": ("UPDATE case_step SET text = '另写的申辩' WHERE id = :step",
                          "defence", ("text 另写的申辩 (recorded 我有正当理由)",
                                      "it was changed behind the app's back")),
    "defence_deleted": ("DELETE FROM case_step WHERE id = :step", "defence",
                        ("(defence), recorded by audit row",
                         "is no longer in the database: it was deleted")),
    "defence_added": ("INSERT INTO case_step (case_id, kind, by_account, by_member, on_behalf, "
                      "at, text) SELECT case_id, kind, by_account, by_member, on_behalf, at, "
                      "'再一次申辩' FROM case_step WHERE id = :step", "defence",
                      ("the audit log has no row recording it",)),
    "vote_not_passed": ("UPDATE case_step SET passed = false WHERE id = :step", "vote",
                        ("it is stored as not passed, but 4 for of 6 members with a vote is "
                         "more than half", "(decision): it is not allowed after the steps "
                         "before it (the case was then closed, outcome not_adopted")),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERED))
def test_a_step_changed_added_or_deleted_behind_the_apps_back_is_found(
        world: World, db: Session, tampering: str) -> None:
    sql, kind, says = TAMPERED[tampering]
    case = expelled_after_a_defence(world)
    assert problems(world, db) == []
    tampered = step_id(db, case, kind)
    db.execute(sa.text(sql), {"step": tampered})
    if sql.startswith("INSERT"):
        tampered = int(db.execute(sa.text("SELECT max(id) FROM case_step")).scalar_one())
    found = case_problems(world, db)
    assert found and {(p.object_type, p.object_id) for p in found} == {("case", case)}
    messages = [p.message for p in found]
    assert all(m.startswith(f"case {case}, step ") for m in messages), messages
    assert any(f"step {tampered} ({kind})" in m for m in messages), messages
    for words in says:
        assert any(words in m for m in messages), (words, messages)
    shown = format_report(run_checks(db, world.clock.now()))
    assert "<" not in shown and "StepKind" not in shown and "CaseStatus" not in shown, shown


def test_a_member_expelled_by_hand_is_found(world: World, db: Session) -> None:
    member = world.members["a1"]
    db.execute(sa.text("UPDATE member SET standing = 'left', left_kind = 'expelled', "
                       "left_on = '2026-01-10' WHERE id = :id"), {"id": member})
    [found] = case_problems(world, db)
    assert (found.object_type, found.object_id) == ("member", member)
    assert found.message.startswith(f"member {member} (")
    assert "left as expelled without the closed case (outcome expelled)" in found.message


# The case's own row changed behind the app's back where its steps say otherwise:
# (the case, the SQL, what the check says).
ROW_TAMPERED = {
    "deadline": ("rectifying", "UPDATE disposal_case SET deadline = '2026-02-10' WHERE id = "
                 ":case", "stored with 6 months to correct, deadline 2026-02-10, but its "
                 "steps give 6 months, deadline 2026-07-10"),
    "months": ("proposed", "UPDATE disposal_case SET months = 1 WHERE id = :case",
               "stored with 1 months to correct, deadline None, but its steps give 6 months"),
    "left_on": ("expelled", "UPDATE member SET left_on = '2026-06-01' WHERE id = (SELECT "
                "member_id FROM disposal_case WHERE id = :case)",
                "stored as having left on 2026-06-01, but case"),
}


@pytest.mark.parametrize("tampering", sorted(ROW_TAMPERED))
def test_a_deadline_a_term_or_a_leaving_day_changed_by_hand_is_found(
        world: World, db: Session, tampering: str) -> None:
    state, sql, says = ROW_TAMPERED[tampering]
    if state == "expelled":
        case = reach(world, "decided", "expel")
    else:
        case = reach(world, "decided" if state == "rectifying" else "proposed", "rectify")
    assert problems(world, db) == []
    db.execute(sa.text(sql), {"case": case})
    messages = [p.message for p in case_problems(world, db)]
    assert any(says in m for m in messages), messages
