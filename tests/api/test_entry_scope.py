"""Who sees which entries, in the list and in its sync read (issue 20 reads them by the
entry's own branch, org_id, instead of joining member and organisation): each caller's set
worked out from who they are, compared with both reads, with and without ?org_id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import World, ok, refused
from tests.api.test_sync import SINCE_EVER, ids, poll, settle

# Entries recorded below: (recorded by, about).
ENTRIES = [("sec_a", "a1"), ("sec_a", "a2"), ("vice_a", "sec_a"), ("sec_b", "b1"),
           ("sec_b", "party_sec"), ("party_sec", "sec_b")]
A = {"sec_a", "vice_a", "a1", "a2", "a3", "a4"}
B = {"sec_b", "b1", "party_sec"}
# Who sees entries about whom: their own, and every member of the branches they manage.
SEES = {
    "admin": A | B,
    "party_sec": A | B,  # the 党委's committee, a member of B
    "sec_a": A, "vice_a": A, "sec_b": B,
    "a1": {"a1"}, "a2": {"a2"}, "a3": set(), "b1": {"b1"},
    # On B's committee while a member of A: own entries and B's, not the rest of A's.
    "a4": {"a4"} | B,
}


@pytest.fixture
def recorded(world: World) -> dict[int, str]:
    ok(world.post("admin", f"/orgs/{world.branch_b}/committee",
                  {"member_id": world.members["a4"]}), 201)
    about: dict[int, str] = {}
    for who, member in [*ENTRIES, ("sec_a", "a4")]:
        about[world.entry(who, member, "P02", "2026-01-05")["id"]] = member
    settle(world)
    return about


def _expected(recorded: dict[int, str], members: set[str]) -> list[int]:
    return sorted(i for i, member in recorded.items() if member in members)


@pytest.mark.parametrize("who", list(SEES))
def test_each_caller_lists_and_polls_the_entries_they_may_see(
        world: World, recorded: dict[int, str], who: str) -> None:
    expected = _expected(recorded, SEES[who])
    listed = ok(world.get(who, "/entries", limit=500))
    assert sorted(ids(listed["items"])) == expected and listed["total"] == len(expected)
    polled, _ = poll(world, who, "/entries", limit=2, updated_since=SINCE_EVER)
    assert sorted(ids(polled)) == expected


@pytest.mark.parametrize(("who", "branch", "members"), [
    ("admin", "branch_a", A), ("admin", "party", A | B), ("party_sec", "branch_b", B),
    ("a4", "branch_b", B), ("sec_a", "branch_a", A),
])
def test_an_organisation_filter_keeps_to_its_subtree(
        world: World, recorded: dict[int, str], who: str, branch: str,
        members: set[str]) -> None:
    org = getattr(world, branch)
    expected = _expected(recorded, members)
    listed: Any = ok(world.get(who, "/entries", org_id=org, limit=500))
    assert sorted(ids(listed["items"])) == expected and listed["total"] == len(expected)
    polled, _ = poll(world, who, "/entries", org_id=org, updated_since=SINCE_EVER)
    assert sorted(ids(polled)) == expected


def test_an_organisation_outside_the_callers_view_is_404(
        world: World, recorded: dict[int, str]) -> None:
    refused(world.get("sec_b", "/entries", org_id=world.branch_a), 404, "not_found")
