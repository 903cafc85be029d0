"""What the schemathesis run (tests/fuzz) found, pinned down one by one.

Ids beyond the databases' integer range answered 404 on SQLite but 422
`value_out_of_range` on PostgreSQL (a database error turned into an answer), and a list
filtered by such an id was 200 on one and 422 on the other. Every id in a path, a query or
a body is now 1..MAX_ID (app.schemas.Id; 2**53-1, what JavaScript holds exactly; the ids are
BIGINT), so both databases refuse the same ids with the same 422 naming the field, and the
largest id, like any past 2**31, is simply unknown (404)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from app.main import app
from app.schemas import MAX_ID
from tests.api.support import PASSWORD, World, ok
from tests.api.test_bad_input import refused_well

LARGEST = MAX_ID
OUT_OF_RANGE = [0, -1, MAX_ID + 1, 2**63, 10**20, -(2**63) - 1]
PAST_INT4 = 2**31  # an id INTEGER could not hold: in range now, and unknown
LARGEST_OFFSET = 2**31 - 1  # app.api.deps: an offset is no id


def _path_ids() -> list[tuple[str, str, str]]:
    """(method, path, id parameter) for every id in a path of the API."""
    found = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            for name in re.findall(r"\{([a-z_]+_id)\}", path):
                found.append((method.upper(), path, name))
    return found


PATH_IDS = _path_ids()


def _fill(path: str, **values: Any) -> str:
    """The path with the given values, and 1 (an id in range) for its other ids (2025 for a
    year)."""
    return re.sub(r"\{([a-z_]+)\}",
                  lambda m: str(values.get(m[1], 2025 if m[1] == "year" else 1)), path)


def test_the_schema_bounds_every_id(subtests: Any) -> None:
    """Every id parameter and id field the API takes says 1..MAX_ID in the OpenAPI."""
    schema = app.openapi()
    assert len(PATH_IDS) > 20
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                if not parameter["name"].endswith("_id"):
                    continue
                with subtests.test(f"{method} {path} {parameter['name']}"):
                    bounds = parameter["schema"].get("anyOf", [parameter["schema"]])[0]
                    assert (bounds["minimum"], bounds["maximum"]) == (1, LARGEST), bounds
    for name, body in schema["components"]["schemas"].items():
        if name.endswith("Out") or "properties" not in body:
            continue
        for field, spec in body["properties"].items():
            if field.endswith("_id"):
                with subtests.test(f"{name}.{field}"):
                    bounds = spec.get("anyOf", [spec])[0]
                    assert (bounds["minimum"], bounds["maximum"]) == (1, LARGEST), bounds


@pytest.mark.parametrize(("method", "path", "name"), PATH_IDS,
                         ids=[f"{m} {p} {n}" for m, p, n in PATH_IDS])
def test_path_ids_out_of_range_are_422_on_every_database(
        world: World, method: str, path: str, name: str) -> None:
    for value in OUT_OF_RANGE:
        answer = world.client.request(method, _fill(path, **{name: value}),
                                      headers=world.as_("admin"))
        body = refused_well(answer, 422, "validation_error")
        assert name in body["detail"], body


def test_the_largest_id_is_unknown_not_refused(world: World, subtests: Any) -> None:
    for method, path, name in PATH_IDS:
        if method != "GET":
            continue
        with subtests.test(f"{method} {path}"):
            for value in (PAST_INT4, LARGEST):
                answer = world.client.get(_fill(path, **{name: value}),
                                          headers=world.as_("admin"))
                refused_well(answer, 404, "not_found")


def _draft_review(world: World) -> int:
    review: int = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                                {"year": 2025, "quarter": 1}), 201)["id"]
    return review


BODY_IDS: list[Any] = [
    # (method, path, body with "ID" where the id goes, field named in the detail)
    pytest.param("POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": "ID"},
                 "parent_id", id="org-parent"),
    pytest.param("POST", "/orgs/{A}/committee", {"member_id": "ID"}, "member_id",
                 id="committee-member"),
    pytest.param("POST", "/members", {"name": "x", "org_id": "ID", "category": "active",
                                      "joined_on": "2020-07-01", "username": "newbie",
                                      "password": PASSWORD}, "org_id", id="member-org"),
    pytest.param("POST", "/entries", {"member_id": "ID", "rule_code": "P01",
                                      "occurred_on": "2025-08-06"}, "member_id",
                 id="entry-member"),
    pytest.param("PUT", "/reviews/{review}/scores", {"scores": {"ID": 3}}, "scores",
                 id="review-score-key"),
]


def _with_id(body: Any, value: Any) -> Any:
    if isinstance(body, dict):
        return {(str(value) if k == "ID" else k): _with_id(v, value) for k, v in body.items()}
    return value if body == "ID" else body


@pytest.mark.parametrize(("method", "path", "body", "name"), BODY_IDS)
def test_body_ids_out_of_range_are_422_on_every_database(
        world: World, method: str, path: str, body: Any, name: str) -> None:
    url = "/api/v1" + path.format(A=world.branch_a, review=_draft_review(world))
    for value in OUT_OF_RANGE:
        answer = world.client.request(method, url, json=_with_id(body, value),
                                      headers=world.as_("admin"))
        refused = refused_well(answer, 422, "validation_error")
        assert name in refused["detail"], refused
    # The largest id is in range: refused by the service as unknown, the same on both.
    for value in (PAST_INT4, LARGEST):
        answer = world.client.request(method, url, json=_with_id(body, value),
                                      headers=world.as_("admin"))
        assert answer.status_code in (404, 422), answer.text
        assert refused_well(answer, answer.status_code)["code"] != "validation_error"


QUERY_IDS = [("/members", "org_id"), ("/entries", "member_id"), ("/entries", "org_id"),
             ("/reviews", "org_id"), ("/ratings", "org_id"), ("/audit", "actor_id"),
             ("/audit", "object_id")]


@pytest.mark.parametrize(("path", "name"), QUERY_IDS, ids=[f"{p}?{n}" for p, n in QUERY_IDS])
def test_query_ids_out_of_range_are_422_on_every_database(
        world: World, path: str, name: str) -> None:
    for value in OUT_OF_RANGE:
        answer = world.get("admin", path, **{name: value})
        assert name in refused_well(answer, 422, "validation_error")["detail"]
    for value in (PAST_INT4, LARGEST):
        answer = world.get("admin", path, **{name: value})
        if name in ("org_id", "member_id"):  # none such: 404, as its export (issue 18)
            assert refused_well(answer, 404)["code"] == "not_found"
        else:
            assert ok(answer) == {"items": [], "total": 0, "next": None, "resume": None}


@pytest.mark.parametrize("path", ["/orgs", "/members", "/entries", "/reviews", "/ratings",
                                  "/audit"])
def test_offsets_beyond_the_integer_range_are_422(world: World, path: str) -> None:
    for offset in (2**31, 2**63):
        answer = world.get("admin", path, offset=offset)
        assert "offset" in refused_well(answer, 422, "validation_error")["detail"]
    page = ok(world.get("admin", path, offset=LARGEST_OFFSET))
    assert page["items"] == []


# --- JSON's own types ----------------------------------------------------------------------
# Bodies took true for 1 and "5" for 5: {"parent_id": true} made an organisation under
# organisation 1, {"exempt": 0} cleared an exemption. Bodies are now strict (app.schemas.Body).

WRONG_TYPES: list[Any] = [
    # (who, method, path, body, field)
    pytest.param("admin", "POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": True},
                 "parent_id", id="org-parent-true"),
    pytest.param("admin", "POST", "/orgs/{A}/committee", {"member_id": "{a1}"}, "member_id",
                 id="committee-member-text"),
    pytest.param("admin", "POST", "/members", {"name": "x", "org_id": True, "category": "active",
                                               "joined_on": "2020-07-01", "username": "newbie",
                                               "password": PASSWORD}, "org_id",
                 id="member-org-true"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": True, "rule_code": "P01",
                                               "occurred_on": "2025-08-06"}, "member_id",
                 id="entry-member-true"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "P01",
                                               "occurred_on": "2025-08-06", "quantity": True},
                 "quantity", id="entry-quantity-true"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "B01",
                                               "occurred_on": "2025-08-06", "points": "3"},
                 "points", id="entry-points-text"),
    pytest.param("sec_a", "PATCH", "/members/{a2}", {"exempt": 0}, "exempt",
                 id="member-exempt-zero"),
    pytest.param("sec_a", "PATCH", "/members/{a2}", {"exempt": "true"}, "exempt",
                 id="member-exempt-text"),
    pytest.param("sec_a", "POST", "/orgs/{A}/reviews", {"year": "2025", "quarter": 2}, "year",
                 id="review-year-text"),
    pytest.param("sec_a", "POST", "/orgs/{A}/reviews", {"year": 2025, "quarter": True},
                 "quarter", id="review-quarter-true"),
    pytest.param("sec_a", "PUT", "/reviews/{review}/scores", {"scores": {"{a1}": True}},
                 "scores", id="score-true"),
    pytest.param("sec_a", "PUT", "/reviews/{review}/scores", {"scores": {"{a1}": 4.5}},
                 "scores", id="score-fraction"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "p01",
                                               "occurred_on": "2025-08-06"}, "rule_code",
                 id="entry-rule-code-lower-case"),
    pytest.param("admin", "PUT", "/rules/p01?year=2025", {"cap": 3}, "code",
                 id="rule-code-lower-case"),
    pytest.param("a1", "POST", "/me/notices/seen", {"up_to": 0}, "up_to",
                 id="seen-up-to-number"),
    # Digits in text were read as Unix time too (the review of issue 14): only ISO 8601.
    pytest.param("a1", "POST", "/me/notices/seen", {"up_to": "0"}, "up_to",
                 id="seen-up-to-digits"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "P01",
                                               "occurred_on": "1796083200"}, "occurred_on",
                 id="entry-date-unix-digits"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "P01",
                                               "occurred_on": "20250806"}, "occurred_on",
                 id="entry-date-without-dashes"),
    pytest.param("sec_a", "POST", "/entries", {"member_id": "{a1}", "rule_code": "P01",
                                               "occurred_on": "2025-08-06T00:00:00"},
                 "occurred_on", id="entry-date-with-a-time"),
    pytest.param("sec_a", "POST", "/reviews/{review}/publish", {"notice_days": "5"},
                 "notice_days", id="notice-days-text"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"cap": True}, "cap",
                 id="rule-cap-true"),
]


def _placed(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {_placed(k, ids): _placed(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return str(ids[value[1:-1]]) if value[1:-1] in ids else value
    return value


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), WRONG_TYPES)
def test_bodies_take_json_types_not_look_alikes(world: World, who: str, method: str, path: str,
                                               body: Any, field: str) -> None:
    ids = dict(world.members, A=world.branch_a, review=_draft_review(world))
    before = [ok(world.get("admin", p, limit=500)) for p in ("/orgs", "/members", "/entries")]
    answer = world.client.request(method, "/api/v1" + path.format(**ids),
                                  json=_placed(body, ids), headers=world.as_(who))
    assert field in refused_well(answer, 422, "validation_error")["detail"]
    assert [ok(world.get("admin", p, limit=500)) for p in ("/orgs", "/members", "/entries")] \
        == before
    assert ok(world.get("admin", f"/members/{world.members['a2']}"))["exempt"] is False


def test_dates_enums_and_score_keys_are_still_read_from_text(world: World) -> None:
    """The control: what JSON can only send as text is still accepted."""
    review = _draft_review(world)
    a1 = world.members["a1"]
    made = ok(world.post("sec_a", "/entries", {"member_id": a1, "rule_code": "P01",
                                               "occurred_on": "2025-08-06"}), 201)
    assert (made["occurred_on"], made["rule_code"]) == ("2025-08-06", "P01")
    sheet = ok(world.put("sec_a", f"/reviews/{review}/scores", {"scores": {str(a1): 4}}))
    assert {i["member_id"]: i["review_score"] for i in sheet["items"]}[a1] == 4
    seen = ok(world.post("a1", "/me/notices/seen", {"up_to": "2026-01-09T12:00:00Z"}))
    assert seen["seen_at"].startswith("2026-01-09T12:00")


def test_whole_numbers_written_with_a_point_are_whole_numbers(world: World) -> None:
    """JSON has one number type: 4.0 and 2.0 are the integers 4 and 2 (JSON Schema's integer
    takes them), as a client in JavaScript or a spreadsheet macro may send them."""
    review = _draft_review(world)
    a1 = world.members["a1"]
    sheet = ok(world.put("sec_a", f"/reviews/{review}/scores", {"scores": {str(a1): 4.0}}))
    assert {i["member_id"]: i["review_score"] for i in sheet["items"]}[a1] == 4
    made = ok(world.post("sec_a", "/entries", {"member_id": float(a1), "rule_code": "P02",
                                               "occurred_on": "2025-08-06", "quantity": 2.0}),
              201)
    assert (made["member_id"], made["quantity"], made["points"]) == (a1, 2, 2)
    changed = ok(world.patch("admin", f"/members/{a1}", {"category": "mobile"}))
    assert changed["category"] == "mobile"


# --- times are ISO 8601 ----------------------------------------------------------------------
# GET /audit?since=0.5 was read as a Unix time (200); the OpenAPI says date-time.


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["0", "0.5", "1767225600", "-1e3", "nan", "inf"])
def test_audit_times_are_iso_not_unix_numbers(world: World, name: str, value: str) -> None:
    body = refused_well(world.get("admin", "/audit", **{name: value}), 422, "validation_error")
    assert name in body["detail"] and "ISO 8601" in body["detail"], body


def test_audit_times_in_iso_are_still_read(world: World) -> None:
    everything = ok(world.get("admin", "/audit"))["total"]
    assert everything > 0
    page = ok(world.get("admin", "/audit", since="2026-01-10T00:00:00+08:00",
                        until="2026-01-10T12:00:00Z"))
    assert page["total"] == everything  # the world was built at 2026-01-10 02:00 UTC
    assert ok(world.get("admin", "/audit", since="2026-01-11T00:00:00+08:00"))["total"] == 0
