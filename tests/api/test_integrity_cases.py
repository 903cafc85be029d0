"""`jifen check` of disposal cases (appraisal.md §5): every case's steps in order and its
state what they lead to; every member who left by 除名 or 劝退 has the case that did it.
A row changed behind the app's back is found."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from app.services.integrity import run_checks
from tests.api.case_scene import AGREED_STEP, reach, step
from tests.api.support import World, ok


def problems(world: World, db: Session) -> list[tuple[str, int | None]]:
    report = run_checks(db, world.clock.now())
    assert report.checked["disposal cases"] >= 0
    return [(p.object_type, p.object_id) for p in report.problems if p.check == "cases"]


def test_cases_taken_by_the_app_are_in_order(world: World, db: Session) -> None:
    reach(world, "decided", "expel", member="a4")
    persuaded = reach(world, "decided", "persuade", member="a3")
    ok(step(world, persuaded, *AGREED_STEP))
    reach(world, "talked", member="vice_a")
    assert problems(world, db) == []


def test_a_tampered_case_is_found(world: World, db: Session) -> None:
    case = reach(world, "proposed")
    db.execute(sa.text("UPDATE disposal_case SET status = 'voted' WHERE id = :id"), {"id": case})
    assert problems(world, db) == [("case", case)]


def test_a_step_out_of_order_is_found(world: World, db: Session) -> None:
    case = reach(world, "talked")
    db.execute(sa.text("UPDATE case_step SET kind = 'vote' WHERE case_id = :id AND "
                       "kind = 'talk'"), {"id": case})
    assert problems(world, db) == [("case", case)]


def test_a_member_expelled_by_hand_is_found(world: World, db: Session) -> None:
    member = world.members["a1"]
    db.execute(sa.text("UPDATE member SET standing = 'left', left_kind = 'expelled', "
                       "left_on = '2026-01-10' WHERE id = :id"), {"id": member})
    assert problems(world, db) == [("member", member)]
