"""The bulk read of every member's score (GET /api/v1/orgs/{id}/scores, issue 18): each item is
the member's own GET /members/{id}/score answer with their name and branch; paged by an
opaque cursor; the committees' and administrators' only; a bounded number of statements per
page, whatever its size."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from app.services.sync import encode_position
from tests.api.appraisal_scene import rate_b
from tests.api.support import World, approve_rating, ok, refused
from tests.api.test_statement_counts import statements
from tests.api.test_year_workflow import run_quarter


def read_all(world: World, who: str, org: int, limit: int = 2, **params: Any
             ) -> list[dict[str, Any]]:
    """Every page, following `next`."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = ok(world.get(who, f"/orgs/{org}/scores", limit=limit,
                            **params, **({"after": after} if after else {})))
        assert len(page["items"]) <= limit
        assert page["total"] >= len(items) + len(page["items"])
        items += page["items"]
        after = page["next"]
        if after is None:
            assert len(items) == page["total"]
            return items


@pytest.fixture
def year(world: World) -> None:
    """Branch A: three quarters of 2025 run (entries, reviews); branch B: 2025 rated and
    approved (grades; b3 exempt)."""
    for quarter in (1, 2, 3):
        run_quarter(world, quarter)
    approve_rating(world, rate_b(world), branch="sec_b")


@pytest.mark.parametrize(("who", "org", "members"), [
    ("admin", "party", ["sec_a", "vice_a", "a1", "a2", "a3", "a4", "sec_b", "b1", "party_sec",
                        "b2", "b3"]),
    ("party_sec", "party", ["sec_a", "vice_a", "a1", "a2", "a3", "a4", "sec_b", "b1",
                            "party_sec", "b2", "b3"]),
    # A branch committee reading the 党委 gets its own branch's members only.
    ("sec_a", "party", ["sec_a", "vice_a", "a1", "a2", "a3", "a4"]),
    ("sec_b", "branch_b", ["sec_b", "b1", "party_sec", "b2", "b3"]),
])
def test_each_item_is_the_members_own_score(world: World, year: None, who: str, org: str,
                                            members: list[str]) -> None:
    org_id = getattr(world, org)
    for year_ in (2025, 2026):
        items = read_all(world, who, org_id, year=year_)
        assert [i["member_id"] for i in items] == sorted(world.members[m] for m in members)
        for item in items:
            own = ok(world.get("admin", f"/members/{item['member_id']}/score", year=year_))
            member = ok(world.get("admin", f"/members/{item['member_id']}"))
            assert item == own | {"org_id": member["org_id"], "name": member["name"]}
    # Not all alike: the year's scores, stars, grades and quarters' states differ.
    items = read_all(world, who, org_id, year=2025, limit=500)
    assert len({(i["score"], i["grade"], i["provisional"]) for i in items}) > 1


def test_the_default_year_is_this_year(world: World, year: None) -> None:
    page = ok(world.get("admin", f"/orgs/{world.branch_a}/scores"))
    assert {i["year"] for i in page["items"]} == {2026}


@pytest.mark.parametrize(("who", "org", "status", "code"), [
    ("a1", "branch_a", 403, "committee_only"),      # a member reads their own /score
    ("a1", "party", 403, "committee_only"),
    ("sec_b", "branch_a", 404, "not_found"),        # outside the caller's view
    ("b1", "branch_a", 404, "not_found"),
])
def test_who_may_not_read_them(world: World, who: str, org: str, status: int,
                               code: str) -> None:
    refused(world.get(who, f"/orgs/{getattr(world, org)}/scores"), status, code)


def test_a_cursor_serves_its_own_read_only(world: World) -> None:
    page = ok(world.get("admin", f"/orgs/{world.party}/scores", limit=2, year=2025))
    assert page["next"] is not None
    # The next page of the same read; the same cursor for another year or organisation: 422.
    ok(world.get("admin", f"/orgs/{world.party}/scores", limit=2, year=2025,
                 after=page["next"]))
    refused(world.get("admin", f"/orgs/{world.party}/scores", year=2026, after=page["next"]),
            422, "invalid_cursor")
    refused(world.get("admin", f"/orgs/{world.branch_a}/scores", year=2025,
                      after=page["next"]), 422, "invalid_cursor")
    for bad in ("", "x", encode_position(f"scores.{world.party}.2025", 0)[:-2] + "!!"):
        refused(world.get("admin", f"/orgs/{world.party}/scores", year=2025, after=bad), 422,
                "invalid_cursor")
    refused(world.get("admin", f"/orgs/{world.party}/scores", limit=501), 422,
            "validation_error")


def test_statements_per_page_do_not_grow_with_the_page(world: World, year: None,
                                                      db: Session) -> None:
    path = f"/orgs/{world.party}/scores"
    ok(world.get("admin", path, year=2025))  # the process has the year's rules
    counts = {limit: statements(db, lambda n=limit: ok(world.get("admin", path, year=2025,
                                                                  limit=n)))
              for limit in (1, 3, 11)}
    # The caller (2), the organisation, the count, the page, the rules, the entries' sums,
    # the review scores, the quarters' states, the approved grades: never one per member.
    assert counts[1] == counts[3] == counts[11] <= 10, counts
    # A branch committee reading above its branch: one more, whether it manages any.
    one = statements(db, lambda: ok(world.get("sec_a", path, year=2025, limit=11)))
    assert one <= counts[11] + 2, (one, counts)
