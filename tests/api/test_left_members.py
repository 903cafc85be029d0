"""A member who has left (appraisal.md §1, review 16 #9) keeps every record, but nothing of
theirs happens after the day they left: an entry dated on or after it is refused (409
`member_left`, through the API and as an imported row), and their password is not reset,
since their logins stay stopped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.case_scene import reach
from tests.api.support import World, ok, refused
from tests.api.test_entry_import import sheet_csv, upload


def leave(world: World, member: str, on: str = "2026-01-08") -> None:
    ok(world.post("party_sec", f"/members/{world.members[member]}/leave",
                  {"kind": "transferred", "on": on, "note": "转往外县"}))


def entry(world: World, member: str, occurred_on: str, who: str = "sec_a") -> Any:
    return world.post(who, "/entries", {"member_id": world.members[member], "rule_code": "P01",
                                        "occurred_on": occurred_on, "quantity": 1})


@pytest.mark.parametrize(("occurred_on", "status"), [
    ("2026-01-07", 201),  # before they left: still recorded, as anything of their time
    ("2026-01-08", 409),  # the day they left
    ("2026-01-10", 409),
])
def test_an_entry_dated_on_or_after_the_day_a_member_left_is_refused(
        world: World, occurred_on: str, status: int) -> None:
    leave(world, "a3")
    if status == 201:
        assert ok(entry(world, "a3", occurred_on), 201)["status"] == "approved"
        return
    said = refused(entry(world, "a3", occurred_on), 409, "member_left")
    assert "left the membership on 2026-01-08" in said["detail"]
    refused(entry(world, "a3", occurred_on, who="admin"), 409, "member_left")


def test_an_expelled_member_gets_no_entry_from_the_day_of_the_decision(world: World) -> None:
    reach(world, "decided", "expel")  # a4, decided today, 2026-01-10
    said = refused(entry(world, "a4", "2026-01-10"), 409, "member_left")
    assert "left the membership on 2026-01-10" in said["detail"]
    ok(entry(world, "a4", "2026-01-09"), 201)


def test_an_imported_row_for_a_member_who_left_is_a_row_error(world: World) -> None:
    leave(world, "a3")
    data = sheet_csv(["a3", "", "", "2026-01-07", "P01", "1", "", "before"],
                     ["a3", "", "", "2026-01-09", "P01", "1", "", "after"],
                     ["a2", "", "", "2026-01-09", "P01", "1", "", "someone else"])
    preview = ok(upload(world, "sec_a", data, dry_run=True, year=2026))
    assert [(e["row"], e["column"], e["code"], e["value"]) for e in preview["errors"]] == \
        [(3, "occurred_on", "member_left", "2026-01-09")]
    assert "left the membership on 2026-01-08" in preview["errors"][0]["message"]
    body = refused(upload(world, "sec_a", data, year=2026), 422, "import_invalid")
    assert [e["code"] for e in body["errors"]] == ["member_left"]


@pytest.mark.parametrize("who", ["sec_a", "party_sec", "admin"])
def test_a_member_who_left_has_no_password_to_reset(world: World, who: str) -> None:
    leave(world, "a3")
    path = f"/members/{world.members['a3']}/password-reset"
    said = refused(world.post(who, path, {"password": "another-horse-7"}), 409, "member_left")
    assert "left the membership on 2026-01-08" in said["detail"]
    refused(world.post(who, path), 409, "member_left")
    ok(world.post(who, f"/members/{world.members['a2']}/password-reset"))
