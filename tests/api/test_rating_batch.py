"""A town's committee drafts the ratings of all its ready branches in one call.

Branch A plays the year of test_year_workflow (its RECORDS and review scores) without
the self-reports and the exemption: vice_a has 66 − 4 (the self-reported P01) = 62, a1
92 − 2 (B01 5 + 3 = 8 without the self-reported 4, under the cap of 10) = 90, and a4 is
rated. n = 6, so ⌊6/3⌋ = 2 may be excellent: a2 (92) and a1 (90); sec_a 90 but one
entry deducted 10 → basically qualified; vice_a 62 < 70 → basically qualified; a4 22 and
the vetoed a3 → unqualified. Branch B has only its first quarter finalized.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.support import NO_NOTICE, World, approve_rating, ok, refused
from tests.api.test_year_workflow import run_quarter

EXPECTED = {
    "sec_a": (90, 4, "basically_qualified"), "vice_a": (62, 1, "basically_qualified"),
    "a1": (90, 4, "excellent"), "a2": (92, 4, "excellent"),
    "a3": (0, 0, "unqualified"), "a4": (22, 0, "unqualified"),
}


@pytest.fixture
def year(world: World) -> World:
    for quarter in (1, 2, 3, 4):
        run_quarter(world, quarter)
    review = ok(world.post("sec_b", f"/orgs/{world.branch_b}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_b", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_b", f"/reviews/{review['id']}/finalize"))
    return world


def batch(world: World, who: str, org: int, year: int = 2025) -> Any:
    return world.post(who, f"/orgs/{org}/ratings/batch", {"year": year})


def test_the_town_rates_every_ready_branch_and_lists_the_rest(year: World) -> None:
    w = year
    made = ok(batch(w, "party_sec", w.party))
    assert [c["org_id"] for c in made["created"]] == [w.branch_a]
    assert made["skipped"] == [{
        "org_id": w.branch_b, "name": "第二支部", "code": "quarters_not_finalized",
        "detail": "All four quarters must be finalized first; not yet: Q2, Q3, Q4."}]
    rating = ok(w.get("sec_a", f"/ratings/{made['created'][0]['id']}"))
    assert (rating["status"], rating["year"], rating["rated"], rating["excellent_limit"]) == \
        ("draft", 2025, 6, 2)
    assert {i["name"]: (i["score"], i["stars"], i["proposed_grade"])
            for i in rating["items"]} == EXPECTED
    assert all(i["grade"] == i["proposed_grade"] for i in rating["items"])

    # Once made, it is the branch's own: listed, refused a second time, approved by A.
    again = ok(batch(w, "party_sec", w.party))
    assert again["created"] == []
    assert [(s["org_id"], s["code"]) for s in again["skipped"]] == [
        (w.branch_a, "rating_exists"), (w.branch_b, "quarters_not_finalized")]
    refused(w.post("sec_a", f"/orgs/{w.branch_a}/ratings", {"year": 2025}), 409,
            "rating_exists")
    assert approve_rating(w, rating["id"])["status"] == "approved"

    audited = ok(w.get("admin", "/audit", action="rating.create"))["items"]
    assert [(a["object_type"], a["object_id"]) for a in audited] == [("rating", rating["id"])]


def test_a_branch_committee_batches_only_its_own_branch(year: World) -> None:
    w = year
    made = ok(batch(w, "sec_a", w.branch_a))
    assert [c["org_id"] for c in made["created"]] == [w.branch_a] and made["skipped"] == []
    b = ok(batch(w, "sec_b", w.branch_b))
    assert b["created"] == [] and [s["code"] for s in b["skipped"]] == ["quarters_not_finalized"]


@pytest.mark.parametrize(
    ("who", "org", "status", "code"),
    [
        ("sec_b", "party", 403, "committee_only"),  # a branch committee, not the town's
        ("sec_a", "branch_b", 404, None),  # another branch: not even seen
        ("a1", "branch_a", 403, "committee_only"),
        ("party_sec", 999_999, 404, None),
    ],
)
def test_refused(year: World, who: str, org: str | int, status: int, code: str | None) -> None:
    org_id = org if isinstance(org, int) else getattr(year, org)
    refused(batch(year, who, org_id), status, code)
    assert ok(year.get("admin", "/audit", action="rating.create"))["items"] == []


def test_a_year_without_rules_or_quarters_makes_nothing(year: World) -> None:
    made = ok(batch(year, "admin", year.party, year=2024))
    assert made["created"] == []
    assert {s["code"] for s in made["skipped"]} == {"quarters_not_finalized"}
    refused(batch(year, "admin", year.party, year=1800), 422)
