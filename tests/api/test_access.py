"""Who may do what: an access matrix over docs/api.md's endpoints and seven callers.

Callers: anonymous; a1, a member of branch A; b1, a member of branch B; sec_b, committee of
branch B; sec_a, committee of branch A; party_sec, committee of the 党委 above both
branches (and a member of B); admin. The rule (docs/api.md): 401 without credentials, 404 for
anything outside the caller's scope (exactly as if it did not exist), 403 for what is in
scope but not allowed. A member's scope is themself and the published results of their
own branch; a committee's is its organisation and everything below.

Every (endpoint, caller) pair is its own test in a fresh world, with only what the
endpoint needs set up by its `prepare` step.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.api.support import NO_NOTICE, PASSWORD, World, approve_rating, ok, refused

CALLERS = ("anonymous", "a1", "b1", "sec_b", "sec_a", "party_sec", "admin")
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
Ids = dict[str, int]


def _pending_entry(w: World) -> Ids:
    return {"entry": w.entry("a1", "a1", "P01", "2025-05-06")["id"]}


def _approved_entry(w: World) -> Ids:
    return {"entry": w.entry("sec_a", "a1", "P01", "2025-05-06")["id"]}


def _draft_review(w: World) -> Ids:
    return {"review": ok(w.post("sec_a", f"/orgs/{w.branch_a}/reviews",
                                {"year": 2025, "quarter": 2}), 201)["id"]}


def _published_review(w: World) -> Ids:
    review = ok(w.post("sec_a", f"/orgs/{w.branch_a}/reviews", {"year": 2025, "quarter": 1}),
                201)["id"]
    ok(w.post("sec_a", f"/reviews/{review}/publish", {"notice_days": 5}))
    return {"review": review}


def _objection(w: World) -> Ids:
    ids = _published_review(w)
    ids["objection"] = ok(w.post("a1", f"/reviews/{ids['review']}/objections",
                                 {"text": "我的评议分有误"}), 201)["id"]
    return ids


def _finalized_year(w: World, year: int = 2025) -> Ids:
    for quarter in (1, 2, 3, 4):
        review = ok(w.post("sec_a", f"/orgs/{w.branch_a}/reviews",
                           {"year": year, "quarter": quarter}), 201)["id"]
        ok(w.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(w.post("sec_a", f"/reviews/{review}/finalize"))
    return {}


def _draft_rating(w: World) -> Ids:
    _finalized_year(w)
    return {"rating": ok(w.post("sec_a", f"/orgs/{w.branch_a}/ratings", {"year": 2025}),
                         201)["id"]}


def _closed_ballot(w: World) -> Ids:
    ids = _draft_rating(w)
    for step in ("ballot/open", "ballot/close"):
        ok(w.post("sec_a", f"/ratings/{ids['rating']}/{step}"))
    return ids


def _published_rating(w: World) -> Ids:
    ids = _closed_ballot(w)
    ok(w.post("sec_a", f"/ratings/{ids['rating']}/publish", NO_NOTICE))
    return ids


def _submitted_rating(w: World) -> Ids:
    ids = _published_rating(w)
    ok(w.post("vice_a", f"/ratings/{ids['rating']}/submit"))
    return ids


def _approved_rating(w: World) -> Ids:
    ids = _draft_rating(w)
    approve_rating(w, ids["rating"])
    return ids


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # {A}, {B}, {party}, member names and the ids `prepare` gives
    expect: tuple[int, ...]  # one status per caller, in the order of CALLERS
    body: Any = None
    prepare: Callable[[World], Ids] | None = None
    codes: dict[str, str] = field(default_factory=dict)  # caller → error code to check


#            anonymous  a1   b1  sec_b sec_a party_sec admin
MATRIX = [
    Endpoint("read-branch", "GET", "/orgs/{A}",
             (401, 200, 404, 404, 200, 200, 200)),
    Endpoint("read-parent-committee", "GET", "/orgs/{party}",
             (401, 200, 200, 200, 200, 200, 200)),
    Endpoint("create-org", "POST", "/orgs",
             (401, 403, 403, 403, 403, 403, 201),
             {"name": "第三支部", "parent_id": "{party}", "kind": "branch"},
             codes={"sec_a": "admin_only", "party_sec": "admin_only"}),
    Endpoint("grant-committee", "POST", "/orgs/{A}/committee",
             (401, 403, 404, 404, 403, 403, 201), {"member_id": "{a2}"},
             codes={"a1": "admin_only", "sec_a": "admin_only"}),
    Endpoint("list-committee", "GET", "/orgs/{A}/committee",
             (401, 200, 404, 404, 200, 200, 200)),
    Endpoint("create-member", "POST", "/members",
             (401, 403, 404, 404, 201, 201, 201),
             {"name": "新党员", "org_id": "{A}", "category": "mobile",
              "joined_on": "2021-07-01", "username": "newbie", "password": PASSWORD},
             codes={"a1": "committee_only"}),
    Endpoint("read-member", "GET", "/members/{a1}",
             (401, 200, 404, 404, 200, 200, 200)),
    Endpoint("update-member", "PATCH", "/members/{a1}",
             (401, 403, 404, 404, 200, 200, 200), {"name": "张三"},
             codes={"a1": "committee_only"}),
    Endpoint("reset-password", "POST", "/members/{a1}/password-reset",
             (401, 403, 404, 404, 200, 200, 200), codes={"a1": "committee_only"}),
    Endpoint("change-own-password", "POST", "/auth/password",
             (401, 200, 200, 200, 200, 200, 200),
             {"current_password": PASSWORD, "new_password": "plum-blossom-77"}),
    Endpoint("read-score", "GET", "/members/{a1}/score?year=2025",
             (401, 200, 404, 404, 200, 200, 200)),
    Endpoint("update-rule", "PUT", "/rules/P01?year=2025",
             (401, 403, 403, 403, 403, 403, 200), {"cap": 10},
             codes={"a1": "admin_only", "sec_a": "admin_only", "party_sec": "admin_only"}),
    Endpoint("record-entry", "POST", "/entries",
             (401, 201, 404, 404, 201, 201, 201),
             {"member_id": "{a1}", "rule_code": "P03", "occurred_on": "2025-05-06"}),
    Endpoint("read-entry", "GET", "/entries/{entry}",
             (401, 200, 404, 404, 200, 200, 200), prepare=_pending_entry),
    Endpoint("approve-entry", "POST", "/entries/{entry}/approve",
             (401, 403, 404, 404, 200, 200, 200), prepare=_pending_entry,
             codes={"a1": "committee_only"}),
    Endpoint("reject-entry", "POST", "/entries/{entry}/reject",
             (401, 403, 404, 404, 200, 200, 200), {"reason": "无签到记录"},
             prepare=_pending_entry, codes={"a1": "committee_only"}),
    Endpoint("revoke-entry", "POST", "/entries/{entry}/revoke",
             (401, 403, 404, 404, 200, 200, 200), {"reason": "重复登记"},
             prepare=_approved_entry, codes={"a1": "committee_only"}),
    Endpoint("create-review", "POST", "/orgs/{A}/reviews",
             (401, 403, 404, 404, 201, 201, 201), {"year": 2025, "quarter": 1},
             codes={"a1": "committee_only"}),
    Endpoint("read-draft-review", "GET", "/reviews/{review}",
             (401, 404, 404, 404, 200, 200, 200), prepare=_draft_review),
    Endpoint("read-published-review", "GET", "/reviews/{review}",
             (401, 200, 404, 404, 200, 200, 200), prepare=_published_review),
    Endpoint("set-draft-scores", "PUT", "/reviews/{review}/scores",
             (401, 404, 404, 404, 200, 200, 200), {"scores": {"{a1}": 4}},
             prepare=_draft_review),
    Endpoint("set-published-scores", "PUT", "/reviews/{review}/scores",
             (401, 403, 404, 404, 409, 409, 409), {"scores": {"{a1}": 4}},
             prepare=_published_review,
             codes={"a1": "committee_only", "sec_a": "review_not_draft"}),
    Endpoint("publish-review", "POST", "/reviews/{review}/publish",
             (401, 404, 404, 404, 200, 200, 200), {"notice_days": 5}, prepare=_draft_review),
    Endpoint("raise-objection", "POST", "/reviews/{review}/objections",
             (401, 201, 404, 404, 201, 403, 403), {"text": "我的评议分有误"},
             prepare=_published_review,
             codes={"party_sec": "not_branch_member", "admin": "not_branch_member"}),
    Endpoint("list-objections", "GET", "/reviews/{review}/objections",
             (401, 200, 404, 404, 200, 200, 200), prepare=_objection),
    Endpoint("resolve-objection", "POST", "/objections/{objection}/resolve",
             (401, 403, 404, 404, 200, 200, 200), {"response": "已核实，维持原分"},
             prepare=_objection, codes={"a1": "committee_only"}),
    Endpoint("create-rating", "POST", "/orgs/{A}/ratings",
             (401, 403, 404, 404, 201, 201, 201), {"year": 2025}, prepare=_finalized_year,
             codes={"a1": "committee_only"}),
    Endpoint("read-draft-rating", "GET", "/ratings/{rating}",
             (401, 404, 404, 404, 200, 200, 200), prepare=_draft_rating),
    Endpoint("read-approved-rating", "GET", "/ratings/{rating}",
             (401, 200, 404, 404, 200, 200, 200), prepare=_approved_rating),
    # The rating's steps are the branch committee's own (appraisal.md §4): the committee
    # above sees them and approves or returns, but does not grade, publish or submit.
    Endpoint("change-grade", "PATCH", "/ratings/{rating}/items/{a1}",
             (401, 404, 404, 404, 200, 403, 200), {"grade": "qualified", "reason": "带病坚持工作"},
             prepare=_draft_rating, codes={"party_sec": "branch_committee_only"}),
    Endpoint("open-ballot", "POST", "/ratings/{rating}/ballot/open",
             (401, 404, 404, 404, 200, 403, 200), prepare=_draft_rating,
             codes={"party_sec": "branch_committee_only"}),
    Endpoint("publish-rating", "POST", "/ratings/{rating}/publish",
             (401, 404, 404, 404, 200, 403, 200), NO_NOTICE,
             prepare=_closed_ballot, codes={"party_sec": "branch_committee_only"}),
    Endpoint("read-published-rating", "GET", "/ratings/{rating}",
             (401, 200, 404, 404, 200, 200, 200), prepare=_published_rating),
    Endpoint("submit-rating", "POST", "/ratings/{rating}/submit",
             (401, 403, 404, 404, 200, 403, 200), prepare=_published_rating,
             codes={"a1": "committee_only", "party_sec": "branch_committee_only"}),
    # The level above approves (appraisal.md §2.8): the nearest 党委's committee or an
    # administrator, not the branch's committee, which sees the rating and is refused.
    Endpoint("approve-rating", "POST", "/ratings/{rating}/approve",
             (401, 403, 404, 404, 403, 200, 200), prepare=_submitted_rating,
             codes={"a1": "committee_above_only", "sec_a": "committee_above_only"}),
]


def _fill(value: Any, ids: Ids) -> Any:
    """Put ids into "{name}" placeholders, in strings, dict keys and values."""
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if re.fullmatch(r"\{\w+\}", value) else filled
    if isinstance(value, dict):
        return {str(_fill(k, ids)): _fill(v, ids) for k, v in value.items()}
    return value


def _ids(world: World) -> Ids:
    return dict(world.members, A=world.branch_a, B=world.branch_b, party=world.party)


def call(world: World, who: str, method: str, path: str, body: Any = None) -> Any:
    headers = {} if who == "anonymous" else world.as_(who)
    kwargs = {} if body is None else {"json": body}
    return world.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)


@pytest.mark.parametrize(
    ("endpoint", "who", "status"),
    [pytest.param(e, who, status, id=f"{e.name}-{who}")
     for e in MATRIX for who, status in zip(CALLERS, e.expect, strict=True)])
def test_access_matrix(world: World, endpoint: Endpoint, who: str, status: int) -> None:
    ids = _ids(world) | (endpoint.prepare(world) if endpoint.prepare else {})
    answer = call(world, who, endpoint.method, endpoint.path.format(**ids),
                  _fill(endpoint.body, ids))
    if status < 400:
        ok(answer, status)
        return
    body = refused(answer, status, endpoint.codes.get(who))
    assert SNAKE.fullmatch(body["code"]), body
    if status == 404:
        assert "outside your scope" in body["detail"], body


def test_matrix_covers_every_caller_kind() -> None:
    """Each row has one expectation per caller, and the rules of docs/api.md hold across rows."""
    for e in MATRIX:
        row = dict(zip(CALLERS, e.expect, strict=True))
        assert row["anonymous"] == 401, e.name
        assert row["admin"] < 400 or e.name in ("raise-objection", "set-published-scores")
        # A committee above the branch may do whatever the branch's own committee may.
        assert row["party_sec"] == row["sec_a"] or e.name in (
            "raise-objection", "approve-rating", "change-grade", "open-ballot",
            "publish-rating", "submit-rating"), e.name
        # The other branch's committee sees A no better than a member of the other branch.
        if e.name != "read-parent-committee":
            assert row["sec_b"] == row["b1"] == 404 or e.name in (
                "create-org", "update-rule", "change-own-password")


# --- a member can never read another member's unpublished data --------------------------------


@pytest.fixture
def branch_life(world: World) -> Ids:
    """Q1 2025 published (with objections by a1 and a2), Q2 a draft with review scores,
    entries of a1 and a2 in every status, and a draft 2024 rating."""
    m = world.members
    ids = _ids(world)
    ids["published"] = _published_review(world)["review"]
    for who in ("a1", "a2"):
        ok(world.post(who, f"/reviews/{ids['published']}/objections", {"text": f"{who} 有异议"}),
           201)
    ids["draft"] = _draft_review(world)["review"]
    ok(world.put("sec_a", f"/reviews/{ids['draft']}/scores",
                 {"scores": {str(m["a1"]): 2, str(m["a2"]): 1}}))
    for member in ("a1", "a2"):
        world.entry(member, member, "P01", "2025-05-06")  # pending
        world.entry("sec_a", member, "P02", "2025-05-07")  # approved
        rejected = world.entry(member, member, "P03", "2025-05-08")["id"]
        ok(world.post("sec_a", f"/entries/{rejected}/reject", {"reason": "无记录"}))
        revoked = world.entry("sec_a", member, "P04", "2025-05-09")["id"]
        ok(world.post("sec_a", f"/entries/{revoked}/revoke", {"reason": "重复"}))
    world.entry("sec_b", "b1", "P05", "2025-05-06")
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2024, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))
    ids["rating"] = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2024}),
                       201)["id"]
    return ids


ENTRY_FILTERS = [
    pytest.param({}, id="no-filter"),
    pytest.param({"member_id": "a2"}, id="member_id=a2"),
    pytest.param({"org_id": "A"}, id="org_id=A"),
    pytest.param({"org_id": "party"}, id="org_id=party"),
    pytest.param({"status": "approved"}, id="status=approved"),
    pytest.param({"status": "pending", "year": 2025, "quarter": 2}, id="pending-2025-Q2"),
]


@pytest.mark.parametrize("filters", ENTRY_FILTERS)
def test_member_lists_only_own_entries(world: World, branch_life: Ids,
                                       filters: dict[str, Any]) -> None:
    params = {k: branch_life.get(v, v) if isinstance(v, str) and k.endswith("_id") else v
              for k, v in filters.items()}
    if filters.get("member_id") == "a2":
        # Another member's entries: 404 (outside a1's view), not an empty list.
        refused(world.get("a1", "/entries", **params), 404, "not_found")
        assert ok(world.get("sec_a", "/entries", **params))["total"] > 0
        return
    mine = ok(world.get("a1", "/entries", limit=500, **params))
    assert {e["member_id"] for e in mine["items"]} <= {branch_life["a1"]}
    assert mine["total"] == len(mine["items"])
    everyone = ok(world.get("sec_a", "/entries", limit=500, **params))
    expected = [e for e in everyone["items"] if e["member_id"] == branch_life["a1"]]
    assert mine["items"] == expected


def test_member_sees_own_entries_in_every_status(world: World, branch_life: Ids) -> None:
    mine = ok(world.get("a1", "/entries"))
    assert sorted(e["status"] for e in mine["items"]) == \
        ["approved", "pending", "rejected", "revoked"]


def test_other_branch_sees_nothing_of_branch_a(world: World, branch_life: Ids) -> None:
    for who in ("b1", "sec_b"):
        entries = ok(world.get(who, "/entries", limit=500))["items"]
        assert branch_life["a1"] not in {e["member_id"] for e in entries}
        # Filtered by the other branch: 404, as its export is, not an empty list (issue 18).
        for path in ("/entries", "/members", "/reviews", "/ratings", "/cases"):
            refused(world.get(who, path, org_id=branch_life["A"]), 404, "not_found")
        orgs = {o["id"] for o in ok(world.get(who, "/orgs"))["items"]}
        assert branch_life["A"] not in orgs and branch_life["B"] in orgs


def test_member_lists_only_themself(world: World, branch_life: Ids) -> None:
    for params in ({}, {"org_id": branch_life["A"]}, {"org_id": branch_life["party"]}):
        members = ok(world.get("a1", "/members", **params))
        assert [m["id"] for m in members["items"]] == [branch_life["a1"]]
        assert members["total"] == 1


def test_member_never_sees_a_draft_review(world: World, branch_life: Ids) -> None:
    refused(world.get("a1", f"/reviews/{branch_life['draft']}"), 404, "not_found")
    refused(world.get("a1", f"/reviews/{branch_life['draft']}/objections"), 404, "not_found")
    for params in ({}, {"org_id": branch_life["A"]}, {"year": 2025}):
        listed = ok(world.get("a1", "/reviews", **params))
        assert branch_life["draft"] not in {r["id"] for r in listed["items"]}
        assert {r["status"] for r in listed["items"]} <= {"published", "finalized"}
        assert listed["total"] == len(listed["items"])
    assert branch_life["published"] in {r["id"] for r in ok(world.get("a1", "/reviews"))["items"]}
    # The committee lists it.
    assert branch_life["draft"] in {r["id"] for r in ok(world.get("sec_a", "/reviews"))["items"]}


def test_member_score_leaves_out_draft_review_scores(world: World, branch_life: Ids) -> None:
    pending = ok(world.get("sec_a", "/entries", status="pending", year=2025, quarter=2))
    for e in pending["items"]:  # publishing waits for them
        ok(world.post("sec_a", f"/entries/{e['id']}/approve"))
    path = f"/members/{branch_life['a1']}/score"
    score = ok(world.get("a1", path, year=2025))
    q2 = next(q for q in score["quarters"] if q["quarter"] == 2)
    assert q2["review_score"] is None  # sec_a set 2 in the draft
    before = score["score"]
    ok(world.post("sec_a", f"/reviews/{branch_life['draft']}/publish", {"notice_days": 5}))
    score = ok(world.get("a1", path, year=2025))
    q2 = next(q for q in score["quarters"] if q["quarter"] == 2)
    assert q2["review_score"] == 2 and score["score"] == before + 2


def test_member_sees_only_own_objections(world: World, branch_life: Ids) -> None:
    path = f"/reviews/{branch_life['published']}/objections"
    for who in ("a1", "a2"):
        objections = ok(world.get(who, path))
        assert [o["member_id"] for o in objections] == [branch_life[who]]
    assert len(ok(world.get("a3", path))) == 0
    assert len(ok(world.get("sec_a", path))) == 2


def test_published_review_hides_committee_only_counts(world: World, branch_life: Ids) -> None:
    """Pending entries (unapproved data of other members) are counted for the committee only."""
    world.entry("a2", "a2", "P05", "2025-02-03")  # pending, in the published quarter
    path = f"/reviews/{branch_life['published']}"
    assert ok(world.get("sec_a", path))["pending_entries"] == 1
    assert ok(world.get("a1", path))["pending_entries"] == 0


def test_member_never_sees_a_draft_rating(world: World, branch_life: Ids) -> None:
    rating = branch_life["rating"]
    refused(world.get("a1", f"/ratings/{rating}"), 404, "not_found")
    assert ok(world.get("a1", "/ratings"))["total"] == 0
    assert ok(world.get("a1", "/ratings", org_id=branch_life["A"], year=2024))["total"] == 0
    score = ok(world.get("a1", f"/members/{branch_life['a1']}/score", year=2024))
    assert score["provisional"] is True and score["grade"] is None
    ok(world.patch("sec_a", f"/ratings/{rating}/items/{branch_life['a1']}",
                   {"grade": "basically_qualified", "reason": "试用"}))
    approve_rating(world, rating)
    assert ok(world.get("a1", "/ratings"))["total"] == 1
    approved = ok(world.get("a1", f"/ratings/{rating}"))
    assert approved["status"] == "approved"
    score = ok(world.get("a1", f"/members/{branch_life['a1']}/score", year=2024))
    assert score["provisional"] is False and score["grade"] == "basically_qualified"
    refused(world.get("b1", f"/ratings/{rating}"), 404, "not_found")


def test_entry_status_depends_on_who_records_it(world: World) -> None:
    body = {"member_id": world.members["a1"], "rule_code": "P01", "occurred_on": "2025-05-06"}
    reported = ok(world.post("a1", "/entries", body), 201)
    assert (reported["status"], reported["created_by"], reported["decided_by"]) == \
        ("pending", world.members["a1"], None)
    # Who acted is a member id (issue 18), null for the administrator, who has no member.
    for committee, member in (("sec_a", world.members["sec_a"]),
                              ("party_sec", world.members["party_sec"]), ("admin", None)):
        made = ok(world.post(committee, "/entries", body), 201)
        assert (made["status"], made["created_by"], made["decided_by"]) == \
            ("approved", member, member), committee
        assert made["decided_at"] is not None
    own = body | {"member_id": world.members["party_sec"]}
    assert ok(world.post("party_sec", "/entries", own), 201)["status"] == "pending"


# --- the OpenAPI schema documents every error answer -------------------------------------------

# Routes that docs/api.md or docs/scoring.md say can be refused by the workflow (409).
CONFLICTS = {
    ("post", "/api/v1/orgs/{org_id}/committee"), ("post", "/api/v1/members"),
    ("post", "/api/v1/members/{member_id}/password-reset"),
    ("put", "/api/v1/rules/{code}"), ("post", "/api/v1/entries"),
    ("post", "/api/v1/entries/{entry_id}/approve"), ("post", "/api/v1/entries/{entry_id}/reject"),
    ("post", "/api/v1/entries/{entry_id}/revoke"), ("post", "/api/v1/orgs/{org_id}/reviews"),
    ("put", "/api/v1/reviews/{review_id}/scores"), ("post", "/api/v1/reviews/{review_id}/publish"),
    ("post", "/api/v1/reviews/{review_id}/finalize"),
    ("post", "/api/v1/reviews/{review_id}/objections"),
    ("post", "/api/v1/objections/{objection_id}/resolve"),
    ("post", "/api/v1/orgs/{org_id}/ratings"),
    ("patch", "/api/v1/ratings/{rating_id}/items/{member_id}"),
    ("post", "/api/v1/ratings/{rating_id}/approve"),
}


def _operations(client: Any) -> list[tuple[str, str, dict[str, Any]]]:
    schema = client.get("/openapi.json").json()
    return [(method, path, op) for path, item in schema["paths"].items()
            for method, op in item.items() if path.startswith("/api/v1/")]


def test_openapi_documents_each_error_status(client: Any) -> None:
    missing = []
    operations = _operations(client)
    assert len(operations) >= 30
    for method, path, op in operations:
        can_return = set()
        if (method, path) != ("post", "/api/v1/auth/token"):
            can_return |= {"401"}
            if method != "get":
                can_return |= {"403"}
        else:
            can_return |= {"401", "429"}
        if op.get("parameters") or op.get("requestBody"):
            can_return.add("422")
        if "{" in path:
            can_return.add("404")
        if (method, path) in CONFLICTS:
            can_return.add("409")
        documented = {s for s in op["responses"] if s[0] in "45"}
        if can_return - documented:
            missing.append(f"{method.upper()} {path}: {sorted(can_return - documented)}")
    assert not missing, missing


def test_openapi_error_responses_are_error_out(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    schemas = schema["components"]["schemas"]

    def extends_error_out(ref: str | None) -> bool:
        """ErrorOut or a schema that extends it: required string detail and code."""
        prefix = "#/components/schemas/"
        if not ref or not ref.startswith(prefix) or ref[len(prefix):] not in schemas:
            return False
        found = schemas[ref[len(prefix):]]
        return set(found.get("required", ())) >= {"detail", "code"} and all(
            found["properties"][name].get("type") == "string" for name in ("detail", "code"))

    assert extends_error_out("#/components/schemas/ErrorOut")
    wrong = []
    for method, path, op in _operations(client):
        assert any(s.startswith("2") for s in op["responses"]), (method, path)
        for status, response in op["responses"].items():
            if status[0] not in "45":
                continue
            ref = response.get("content", {}).get("application/problem+json", {}) \
                .get("schema", {}).get("$ref")
            if not extends_error_out(ref) or not response.get("description"):
                wrong.append(f"{method.upper()} {path} {status}: {ref}")
    assert not wrong, wrong


def test_authenticated_operations_declare_bearer_security(client: Any) -> None:
    schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    bearer = [name for name, s in schemes.items() if s.get("scheme", "").lower() == "bearer"]
    assert bearer
    for method, path, op in _operations(client):
        if (method, path) == ("post", "/api/v1/auth/token"):
            continue
        assert any(set(req) & set(bearer) for req in op.get("security", [])), (method, path)
