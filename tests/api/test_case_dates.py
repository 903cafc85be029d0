"""The dates of a disposal case's steps (appraisal.md §5, review 16 #4): the filing and 调查核实
take the day they happened (today unless given), so a secretary typing a case in after the
meetings can record the talk held between them; each dated step is not before the dated
step before it, and a refusal names that step and its date."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from tests.api.case_scene import INVESTIGATE, TODAY, reach, step, talk
from tests.api.support import World, ok, refused


def file_on(world: World, filed_on: str | None, member: str = "a4") -> dict[str, object]:
    body = {"member_id": world.members[member], "ground": "lost_contact", "year": 2026,
            "note": "失联半年"}
    return world.post("sec_a", "/cases", body | ({"filed_on": filed_on} if filed_on else {}))


def test_a_case_typed_in_after_the_meetings_keeps_the_days_they_were_held(
        world: World) -> None:
    world.clock.advance(days=10)  # typed in on 2026-01-20
    refused(file_on(world, "2026-01-21"), 422, "future_date")
    case = ok(file_on(world, "2026-01-12"), 201)
    assert case["steps"][0]["filed_on"] == "2026-01-12"
    number = case["id"]
    said = refused(step(world, number, "sec_a", INVESTIGATE[1] | {
        "investigated_on": "2026-01-11"}), 422, "date_out_of_order")
    assert "before the filing (2026-01-12)" in said["detail"]
    refused(step(world, number, "sec_a", INVESTIGATE[1] | {"investigated_on": "2026-01-21"}),
            422, "future_date")
    seen = ok(step(world, number, "sec_a", INVESTIGATE[1] | {"investigated_on": "2026-01-13"}))
    assert [s.get("investigated_on") for s in seen["steps"]] == [None, "2026-01-13"]
    said = refused(step(world, number, "sec_a", talk(world)[1] | {"held_on": "2026-01-12"}),
                   422, "date_out_of_order")
    assert "before the investigation (2026-01-13)" in said["detail"]
    seen = ok(step(world, number, "sec_a", talk(world)[1] | {"held_on": "2026-01-14"}))
    assert seen["status"] == "talked" and seen["steps"][2]["held_on"] == "2026-01-14"


def test_the_filing_and_the_investigation_are_dated_today_unless_given(world: World) -> None:
    case = reach(world, "investigated")
    steps = ok(world.get("admin", f"/cases/{case}"))["steps"]
    assert (steps[0]["filed_on"], steps[1]["investigated_on"]) == (TODAY, TODAY)
    said = refused(step(world, case, "sec_a", talk(world)[1] | {"held_on": "2026-01-09"}), 422,
                   "date_out_of_order")
    assert "before the investigation (2026-01-10)" in said["detail"]


def test_steps_recorded_before_they_took_a_date_read_the_day_recorded(world: World,
                                                                     db: Session) -> None:
    """A filing and an investigation without a date entered (recorded before they took
    one): each reads the Beijing day it was recorded; the investigation's is the day it was
    typed in, so the talk is compared with the filing, as it was then."""
    case = ok(file_on(world, None), 201)["id"]
    world.clock.advance(days=5)
    ok(step(world, case, *INVESTIGATE))
    db.execute(sa.text('UPDATE case_step SET "on" = NULL WHERE case_id = :case'),
               {"case": case})
    steps = ok(world.get("admin", f"/cases/{case}"))["steps"]
    assert (steps[0]["filed_on"], steps[1]["investigated_on"]) == (TODAY, "2026-01-15")
    said = refused(step(world, case, "sec_a", talk(world)[1] | {"held_on": "2026-01-09"}), 422,
                   "date_out_of_order")
    assert "before the filing (2026-01-10)" in said["detail"]
    assert ok(step(world, case, "sec_a", talk(world)[1] | {"held_on": "2026-01-12"})
              )["status"] == "talked"
