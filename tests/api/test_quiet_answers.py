"""No quiet wrong answers (issue 18): a list filtered by an organisation outside the caller's
view is 404, as that organisation's export is, not an empty list; a query parameter a route
does not take is 422 unknown_parameter naming it, not ignored (and nothing is written)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.support import World, ok, refused

FILTERED = ["/entries", "/members", "/reviews", "/ratings", "/cases"]


@pytest.mark.parametrize("path", FILTERED)
@pytest.mark.parametrize(("who", "org"), [
    ("b1", "branch_a"), ("sec_b", "branch_a"), ("a1", "branch_b"), ("sec_a", "branch_b"),
])
def test_a_list_of_an_organisation_outside_ones_view_is_404(world: World, path: str,
                                                            who: str, org: str) -> None:
    refused(world.get(who, path, org_id=getattr(world, org)), 404, "not_found")
    if who.startswith("sec"):  # as the export of that organisation is (a member may not export)
        refused(world.get(who, "/members/export", org_id=getattr(world, org)), 404,
                "not_found")


@pytest.mark.parametrize("path", ["/entries", "/cases"])
@pytest.mark.parametrize(("who", "member", "status"), [
    ("sec_a", "b1", 404), ("a1", "a2", 404), ("sec_b", "a1", 404),  # outside their view
    ("a1", "a1", 200), ("sec_a", "a2", 200), ("party_sec", "b1", 200),
])
def test_a_member_filter_outside_ones_view_is_404_too(world: World, path: str, who: str,
                                                      member: str, status: int) -> None:
    answer = world.get(who, path, member_id=world.members[member])
    if status == 404:
        refused(answer, 404, "not_found")
    else:
        assert isinstance(ok(answer)["items"], list)


@pytest.mark.parametrize("path", FILTERED)
def test_an_unknown_organisation_is_404(world: World, path: str) -> None:
    refused(world.get("admin", path, org_id=2**40), 404, "not_found")


@pytest.mark.parametrize("path", FILTERED)
@pytest.mark.parametrize(("who", "org"), [
    ("a1", "branch_a"), ("a1", "party"),  # one's branch and the organisations above it
    ("sec_b", "party"), ("sec_a", "branch_a"), ("admin", "branch_b"),
])
def test_a_list_of_an_organisation_in_view_answers(world: World, path: str, who: str,
                                                   org: str) -> None:
    assert isinstance(ok(world.get(who, path, org_id=getattr(world, org)))["items"], list)


def test_a_member_filtering_by_their_branch_still_sees_their_own(world: World) -> None:
    mine = world.entry("a1", "a1", "P01", "2025-02-14", quantity=1)
    world.entry("sec_a", "a2", "P01", "2025-02-14", quantity=1)
    items = ok(world.get("a1", "/entries", org_id=world.branch_a))["items"]
    assert [e["id"] for e in items] == [mine["id"]]


UNKNOWN: dict[str, tuple[str, str, dict[str, Any], list[str]]] = {
    "a typo of org_id": ("GET", "/entries", {"org": 5}, ["org"]),
    "two typos": ("GET", "/members", {"orgid": 1, "lmit": 5}, ["lmit", "orgid"]),
    "a filter the list lacks": ("GET", "/orgs", {"year": 2025}, ["year"]),
    "paging where there is none": ("GET", "/members/{a1}/suspensions", {"limit": 5},
                                   ["limit"]),
    "a sync read of the bulk scores": ("GET", "/orgs/{A}/scores",
                                       {"updated_since": "2026-01-01T00:00:00Z"},
                                       ["updated_since"]),
    "on one resource": ("GET", "/members/{a1}", {"fields": "name"}, ["fields"]),
    "on GET /me": ("GET", "/me", {"x": "1"}, ["x"]),
    "on a download": ("GET", "/reviews/1/export", {"fmt": "csv"}, ["fmt"]),
}


@pytest.mark.parametrize("name", list(UNKNOWN))
def test_an_unknown_query_parameter_is_422_naming_it(world: World, name: str) -> None:
    method, path, params, named = UNKNOWN[name]
    path = path.format(a1=world.members["a1"], A=world.branch_a)
    answer = world.client.request(method, f"/api/v1{path}", params=params,
                                  headers=world.as_("admin"))
    body = refused(answer, 422, "unknown_parameter")
    assert f"Unknown query parameter(s): {', '.join(named)}." in body["detail"]


def test_an_unknown_query_parameter_writes_nothing(world: World) -> None:
    before = ok(world.get("admin", "/entries"))["total"]
    body = {"member_id": world.members["a1"], "rule_code": "P01", "occurred_on": "2025-02-14",
            "quantity": 1}
    answer = world.client.post("/api/v1/entries", params={"dry_run": "true"}, json=body,
                               headers=world.as_("sec_a"))
    refused(answer, 422, "unknown_parameter")
    assert ok(world.get("admin", "/entries"))["total"] == before


def test_the_parameters_a_route_takes_still_work(world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    page = ok(world.get("sec_a", "/entries", org_id=world.branch_a, status="approved",
                        year=2025, quarter=1, member_id=world.members["a1"], limit=5,
                        offset=0))
    assert page["total"] == 1


def test_pages_are_not_affected(client: TestClient) -> None:
    """Only the JSON API refuses them: a page's link may carry anything (a campaign tag)."""
    assert client.get("/login", params={"utm_source": "wechat"}).status_code == 200


def test_every_operation_documents_unknown_parameter(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    missing = [f"{method.upper()} {path}" for path, operations in paths.items()
               if path.startswith("/api/v1/") for method, operation in operations.items()
               if "unknown_parameter" not in operation["responses"].get("422", {}).get(
                   "description", "")]
    assert missing == []
