"""Bad input: the right status, an error a person can act on, never a 500, no partial write.

Each table below is a list of cases with ids. A refused write must leave everything as it
was: after each one the test looks through the API (as the administrator) at the members,
entries and review sheets, and at the end of its table also at the organisations,
committees, objections, ratings and the rule set. Because refusals change nothing, the
cases of one table share one world (pytest subtests, each named by its case id): a stray
write by any case shows at once, and the suite stays fast. Cases that need a world of
their own are parametrized one by one."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from sqlmodel import Session, select

from app.models import LoginAttempt
from app.schemas import MAX_ID
from app.settings import get_settings
from tests.api.support import NO_NOTICE, PASSWORD, World, approve_rating, login, ok, refused

SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()  # left out
NOT_THERE = 999_999  # an id nobody has
Case = Any  # a pytest.param of one of the tables


def refused_well(answer: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """docs/api.md's error body: a readable detail and a snake_case code (422s list what is
    wrong)."""
    body = refused(answer, status, code)
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    assert SNAKE.fullmatch(body["code"]), body
    if body["code"] == "validation_error":
        assert body["errors"], body
        assert all({"loc", "msg", "type"} <= set(e) for e in body["errors"]), body
    if status == 401:
        assert answer.headers.get("www-authenticate") == "Bearer", answer.headers
    return body


def not_500(answer: Any) -> str | None:
    """None if the answer is fine (a success, or an error in docs/api.md's shape), else why not."""
    if answer.status_code >= 500:
        return f"{answer.status_code}: {answer.text[:200]}"
    if answer.status_code >= 400:
        refused_well(answer, answer.status_code)
    return None


def state(world: World, *, full: bool = True) -> dict[str, Any]:
    """What a write could change, as the administrator sees it through the API: members,
    entries and review sheets; in full also organisations, committees, objections,
    ratings and the rule set."""

    def get(path: str, **params: Any) -> Any:
        return ok(world.get("admin", path, **params))

    reviews = get("/reviews", limit=500)
    seen = {
        "members": get("/members", limit=500),
        "entries": get("/entries", limit=500),
        "reviews": [get(f"/reviews/{r['id']}") for r in reviews["items"]],
    }
    if full:
        seen |= {
            "orgs": get("/orgs", limit=500),
            "committee": [get(f"/orgs/{o}/committee")
                          for o in (world.party, world.branch_a, world.branch_b)],
            "objections": [get(f"/reviews/{r['id']}/objections") for r in reviews["items"]
                           if r["status"] != "draft"],
            "ratings": [get(f"/ratings/{r['id']}")
                        for r in get("/ratings", limit=500)["items"]],
            "rules": get("/rules", year=2025),
        }
    return seen


@dataclass
class Scene:
    """The world plus one of each thing to act on (see build_scene)."""

    world: World
    ids: dict[str, int]

    def path(self, template: str) -> str:
        return template.format(**self.ids)

    def resolve(self, value: Any) -> Any:
        """'@name' stands for the id of that member or thing; MISSING fields are left out."""
        if isinstance(value, str) and value.startswith("@"):
            return self.ids[value[1:]]
        if isinstance(value, dict):
            return {(str(self.resolve(k)) if isinstance(k, str) and k.startswith("@") else k):
                    self.resolve(v) for k, v in value.items() if v is not MISSING}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def send(self, who: str | None, method: str, path: str, json: Any = MISSING,
             **kwargs: Any) -> Any:
        headers = {} if who is None else dict(self.world.as_(who))
        headers |= kwargs.pop("headers", {})
        if json is not MISSING:
            kwargs["json"] = self.resolve(json)
        return self.world.client.request(method, f"/api/v1{self.path(path)}",
                                         headers=headers, **kwargs)

    def refuse_all(self, subtests: Any, cases: list[Case]) -> None:
        """Run (who, method, path, body, status, code) cases; each must change nothing."""
        before = state(self.world)
        quick = state(self.world, full=False)
        for case in cases:
            who, method, path, body, status, code = case.values
            with subtests.test(case.id):
                refused_well(self.send(who, method, path, body), status, code)
                if method != "GET":
                    assert state(self.world, full=False) == quick
        with subtests.test("nothing was written"):
            assert state(self.world) == before


def build_scene(world: World) -> Scene:
    """2025 Q1 of branch A is published (notice running) with an open objection by a1;
    Q2 is a draft with a1's review score set to 4; Q3 is a draft with pending entries.
    Entries, all 2025-08-06 (Q3): `pending` (a1's self-report), `approved` (a2's, recorded
    by sec_a) and `own` (sec_a's entry about themself, so pending)."""
    m = world.members
    a = world.branch_a
    published = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 1}),
                   201)["id"]
    ok(world.post("sec_a", f"/reviews/{published}/publish", {"notice_days": 5}))
    objection = ok(world.post("a1", f"/reviews/{published}/objections",
                              {"text": "我一季度的评议分不对。"}), 201)["id"]
    draft = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 2}),
               201)["id"]
    ok(world.put("sec_a", f"/reviews/{draft}/scores", {"scores": {str(m["a1"]): 4}}))
    draft3 = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 3}),
                201)["id"]
    pending = world.entry("a1", "a1", "P01", "2025-08-06", note="参加集中学习")["id"]
    approved = world.entry("sec_a", "a2", "P01", "2025-08-06")["id"]
    own = world.entry("sec_a", "sec_a", "P02", "2025-08-06")["id"]
    ids = dict(m, A=a, B=world.branch_b, party=world.party, published=published,
               objection=objection, draft=draft, draft3=draft3, pending=pending,
               approved=approved, own=own, nothing=NOT_THERE)
    return Scene(world, ids)


@pytest.fixture
def scene(world: World) -> Scene:
    return build_scene(world)


def finalize_year(world: World, branch: int, year: int = 2025) -> list[int]:
    """Review, publish (no notice) and finalize all four quarters; the review ids."""
    ids = []
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{branch}/reviews",
                               {"year": year, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))
        ids.append(review)
    return ids


@pytest.fixture
def rated(world: World) -> Scene:
    """Branch A with 2025 finalized (an approved entry of a1 in Q1, a veto for a4) and a
    draft rating."""
    entry = world.entry("sec_a", "a1", "P01", "2025-02-03")["id"]
    world.entry("sec_a", "a4", "V01", "2025-03-01", note="受到党内警告处分")
    reviews = finalize_year(world, world.branch_a)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}),
                201)["id"]
    ids = dict(world.members, A=world.branch_a, B=world.branch_b, party=world.party,
               rating=rating, q1=reviews[0], q4=reviews[3], locked_entry=entry)
    return Scene(world, ids)


def case(who: str | None, method: str, path: str, body: Any, status: int,
         code: str | None, id: str | None = None) -> Case:
    return pytest.param(who, method, path, body, status, code,
                        id=id or f"{who} {method} {path}")


# --- entries -----------------------------------------------------------------------------

BASE_ENTRY = {"member_id": "@a1", "rule_code": "P01", "occurred_on": "2025-08-06"}


def entry(who: str, changes: dict[str, Any], status: int, code: str, id: str) -> Case:
    return case(who, "POST", "/entries", BASE_ENTRY | changes, status, code, id)


ENTRY_CASES = {
    "rule-codes": [
        entry("sec_a", {"rule_code": "X99"}, 422, "unknown_rule", "unknown"),
        entry("sec_a", {"rule_code": "P11"}, 422, "unknown_rule", "P11"),
        entry("a1", {"rule_code": "Z01"}, 422, "unknown_rule", "unknown-self-report"),
        entry("sec_a", {"rule_code": ""}, 422, "validation_error", "empty"),
        entry("sec_a", {"rule_code": "   "}, 422, "validation_error", "blank"),
        entry("sec_a", {"rule_code": "P01-TOO-LONG"}, 422, "validation_error", "too-long"),
        entry("sec_a", {"rule_code": 1}, 422, "validation_error", "number"),
        entry("sec_a", {"rule_code": MISSING}, 422, "validation_error", "missing"),
    ],
    "dates": [
        entry("sec_a", {"occurred_on": "2026-01-11"}, 422, "future_date", "tomorrow"),
        entry("a1", {"occurred_on": "2026-01-11"}, 422, "future_date", "tomorrow-self"),
        entry("sec_a", {"occurred_on": "2099-12-31"}, 422, "future_date", "far-future"),
        entry("sec_a", {"occurred_on": "2009-12-31"}, 422, "before_joined", "before-joining"),
        entry("sec_a", {"occurred_on": "2025-02-30"}, 422, "validation_error", "impossible"),
        entry("sec_a", {"occurred_on": "06/08/2025"}, 422, "validation_error", "format"),
        entry("sec_a", {"occurred_on": "yesterday"}, 422, "validation_error", "words"),
        entry("sec_a", {"occurred_on": True}, 422, "validation_error", "boolean"),
        entry("sec_a", {"occurred_on": MISSING}, 422, "validation_error", "missing"),
    ],
    "quantity": [
        entry("sec_a", {"quantity": 0}, 422, "validation_error", "0"),
        entry("sec_a", {"quantity": 101}, 422, "validation_error", "101"),
        entry("a1", {"quantity": 101}, 422, "validation_error", "101-self-report"),
        entry("sec_a", {"quantity": -1}, 422, "validation_error", "-1"),
        entry("sec_a", {"quantity": 1.5}, 422, "validation_error", "1.5"),
        entry("sec_a", {"quantity": "abc"}, 422, "validation_error", "abc"),
        entry("sec_a", {"quantity": [2]}, 422, "validation_error", "list"),
    ],
    "chosen-points": [
        entry("sec_a", {"rule_code": "B01", "points": 0}, 422, "points_out_of_range",
              "B01-0"),
        entry("sec_a", {"rule_code": "B01", "points": 6}, 422, "points_out_of_range",
              "B01-6"),
        entry("a1", {"rule_code": "B01", "points": 6}, 422, "points_out_of_range",
              "B01-6-self-report"),
        entry("sec_a", {"rule_code": "B01"}, 422, "points_required", "B01-missing"),
        entry("sec_a", {"rule_code": "B01", "points": None}, 422, "points_required",
              "B01-null"),
        entry("sec_a", {"rule_code": "B01", "points": 3, "quantity": 2}, 422,
              "quantity_not_allowed", "B01-with-quantity"),
        entry("sec_a", {"rule_code": "D01", "points": 11}, 422, "points_out_of_range",
              "D01-11"),
        entry("sec_a", {"rule_code": "D01", "points": 0}, 422, "points_out_of_range",
              "D01-0"),
        entry("sec_a", {"rule_code": "D01"}, 422, "points_required", "D01-missing"),
        entry("sec_a", {"rule_code": "D01", "points": -3}, 422, "validation_error",
              "D01-negative"),
        entry("sec_a", {"rule_code": "D01", "points": 2.5}, 422, "validation_error",
              "D01-fraction"),
        entry("sec_a", {"rule_code": "B01", "points": "five"}, 422, "validation_error",
              "B01-text"),
        entry("sec_a", {"rule_code": "D01", "points": 101}, 422, "validation_error",
              "D01-101"),
    ],
    "points-for-fixed-items": [
        entry("sec_a", {"points": 2}, 422, "points_not_allowed", "P01"),
        entry("a1", {"points": 8}, 422, "points_not_allowed", "P01-self-report"),
        entry("sec_a", {"rule_code": "N06", "points": 10}, 422, "points_not_allowed", "N06"),
        entry("sec_a", {"rule_code": "V01", "points": 1}, 422, "veto_has_no_points",
              "veto-points"),
        entry("sec_a", {"rule_code": "V02", "quantity": 2}, 422, "veto_has_no_points",
              "veto-quantity"),
    ],
    "fields-and-types": [
        entry("sec_a", {"status": "approved"}, 422, "validation_error", "field-status"),
        entry("a1", {"status": "approved"}, 422, "validation_error", "self-approve"),
        entry("sec_a", {"id": 1}, 422, "validation_error", "field-id"),
        entry("sec_a", {"memberId": "@a1"}, 422, "validation_error", "misspelt-field"),
        entry("sec_a", {"member_id": "abc"}, 422, "validation_error", "member-id-text"),
        entry("sec_a", {"member_id": 1.5}, 422, "validation_error", "member-id-fraction"),
        entry("sec_a", {"member_id": None}, 422, "validation_error", "member-id-null"),
        entry("sec_a", {"member_id": MISSING}, 422, "validation_error", "member-id-missing"),
        entry("sec_a", {"note": ["a"]}, 422, "validation_error", "note-list"),
        entry("sec_a", {"note": "长" * 1001}, 422, "validation_error", "note-too-long"),
        entry("sec_a", {"evidence": "x" * 501}, 422, "validation_error", "evidence-too-long"),
    ],
    "ids-and-scope": [
        entry("sec_a", {"member_id": NOT_THERE}, 404, "not_found", "member-unknown"),
        entry("sec_a", {"member_id": "@b1"}, 404, "not_found", "member-other-branch"),
        entry("sec_b", {}, 404, "not_found", "other-branchs-committee"),
        entry("a1", {"member_id": "@a2"}, 404, "not_found", "member-for-another"),
        entry("b1", {}, 404, "not_found", "member-of-other-branch"),
    ],
    "self-report-kinds": [
        entry("a1", {"rule_code": "N01"}, 403, "self_report_kind", "N01"),
        entry("a1", {"rule_code": "N10"}, 403, "self_report_kind", "N10"),
        entry("a1", {"rule_code": "D01", "points": 2}, 403, "self_report_kind", "D01"),
        entry("a1", {"rule_code": "V01"}, 403, "self_report_kind", "V01"),
    ],
}


def test_the_base_entry_is_valid(scene: Scene) -> None:
    """The control for the table: without the changes, the same body is accepted."""
    for who, status in (("sec_a", "approved"), ("a1", "pending")):
        made = ok(scene.send(who, "POST", "/entries", BASE_ENTRY), 201)
        assert made["status"] == status and made["points"] == 2


@pytest.mark.parametrize("theme", ENTRY_CASES)
def test_bad_entries_are_refused_and_nothing_is_written(
        scene: Scene, subtests: Any, theme: str) -> None:
    scene.refuse_all(subtests, ENTRY_CASES[theme])


def test_item_not_applicable_to_the_members_category(scene: Scene) -> None:
    world = scene.world
    world.add_member("r1", world.branch_a, category="retired")
    rule = ok(world.put("admin", "/rules/P07", {"categories": ["active"]}, year=2025))
    assert rule["categories"] == ["active"]
    body = {"member_id": world.members["r1"], "rule_code": "P07", "occurred_on": "2025-08-06",
            "quantity": 3}
    before = state(world)
    answer = refused_well(world.post("sec_a", "/entries", body), 422, "category_not_applicable")
    assert "P07" in answer["detail"] and "retired" in answer["detail"]
    refused_well(world.post("r1", "/entries", body), 422, "category_not_applicable")
    refused_well(world.post("admin", "/entries", body), 422, "category_not_applicable")
    assert state(world) == before
    # The item still applies to active members, and other items to the retired one.
    ok(world.post("sec_a", "/entries", body | {"member_id": world.members["a1"]}), 201)
    ok(world.post("sec_a", "/entries", body | {"rule_code": "P08", "quantity": 1}), 201)


# --- review scores -------------------------------------------------------------------------


def scores(body: Any, code: str, id: str) -> Case:
    return case("sec_a", "PUT", "/reviews/{draft}/scores", body, 422, code, id)


SCORE_CASES = [
    scores({"scores": {"@a1": 6}}, "review_score_out_of_range", "score-6"),
    scores({"scores": {"@a1": -1}}, "review_score_out_of_range", "score-negative"),
    scores({"scores": {"@a1": 100}}, "review_score_out_of_range", "score-100"),
    scores({"scores": {"@a1": "x"}}, "validation_error", "score-text"),
    scores({"scores": {"@a1": 2.5}}, "validation_error", "score-fraction"),
    scores({"scores": {"@a1": [3]}}, "validation_error", "score-list"),
    scores({"scores": {"@a2": 3, "@a3": 6}}, "review_score_out_of_range",
           "one-good-one-out-of-range"),
    scores({"scores": {"@a2": 3, "@a3": "x"}}, "validation_error", "one-good-one-text"),
    scores({"scores": {"@b1": 3}}, "unknown_member", "member-of-other-branch"),
    scores({"scores": {"@party_sec": 3}}, "unknown_member", "party-secretary"),
    scores({"scores": {"@a2": 3, "@b1": 3}}, "unknown_member", "one-good-one-outside"),
    scores({"scores": {str(NOT_THERE): 3}}, "unknown_member", "member-unknown"),
    scores({"scores": {"abc": 3}}, "validation_error", "member-id-text"),
    scores({}, "validation_error", "scores-missing"),
    scores({"scores": None}, "validation_error", "scores-null"),
    scores({"scores": [3, 4]}, "validation_error", "scores-list"),
    scores({"scores": 5}, "validation_error", "scores-number"),
    scores({"scores": {"@a1": 3}, "publish": True}, "validation_error", "unknown-field"),
]


def test_bad_review_scores_change_nothing(scene: Scene, subtests: Any) -> None:
    scene.refuse_all(subtests, SCORE_CASES)
    sheet = ok(scene.send("sec_a", "GET", "/reviews/{draft}"))
    given = {line["member_id"]: line["review_score"] for line in sheet["items"]}
    assert given[scene.ids["a1"]] == 4
    assert given[scene.ids["a2"]] is None and given[scene.ids["a3"]] is None


def test_outsider_is_named_in_the_refusal(scene: Scene) -> None:
    answer = refused_well(scene.send("sec_a", "PUT", "/reviews/{draft}/scores",
                                     {"scores": {"@a2": 3, "@b1": 3}}), 422, "unknown_member")
    assert str(scene.ids["b1"]) in answer["detail"]
    assert str(scene.ids["a2"]) not in answer["detail"]


# --- reasons and texts that must say something ---------------------------------------------

BLANKS: list[Case] = [
    pytest.param("", id="empty"),
    pytest.param("   ", id="spaces"),
    pytest.param("\t\n ", id="tabs-newlines"),
    pytest.param("\u3000\u3000", id="ideographic-spaces"),
    pytest.param(None, id="null"),
    pytest.param(MISSING, id="missing"),
]

NEEDS_TEXT: list[Case] = [
    # (who, method, path, body, the field that needs text, code)
    pytest.param("sec_a", "POST", "/entries/{pending}/reject", {}, "reason", "validation_error",
                 id="rejection"),
    pytest.param("sec_a", "POST", "/entries/{approved}/revoke", {}, "reason", "validation_error",
                 id="revocation"),
    pytest.param("sec_a", "PATCH", "/members/{a1}", {"exempt": True}, "exempt_reason",
                 "exempt_reason_required", id="exemption"),
    pytest.param("a2", "POST", "/reviews/{published}/objections", {}, "text",
                 "validation_error", id="objection"),
    pytest.param("sec_a", "POST", "/objections/{objection}/resolve", {}, "response",
                 "validation_error", id="objection-response"),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "field", "code"), NEEDS_TEXT)
def test_blank_reasons_are_refused(scene: Scene, subtests: Any, who: str, method: str,
                                   path: str, body: dict[str, Any], field: str,
                                   code: str) -> None:
    cases = [case(who, method, path, body | {field: blank.values[0]}, 422, code, blank.id)
             for blank in BLANKS]
    scene.refuse_all(subtests, cases)
    answer = refused_well(scene.send(who, method, path, body | {field: " "}), 422, code)
    assert field in answer["detail"]


def test_blank_grade_override_reason_is_refused(rated: Scene, subtests: Any) -> None:
    path = "/ratings/{rating}/items/{a1}"
    rated.refuse_all(subtests, [
        case("sec_a", "PATCH", path, {"grade": "basically_qualified", "reason": blank.values[0]},
             422, "validation_error", blank.id) for blank in BLANKS])
    answer = refused_well(rated.send("sec_a", "PATCH", path,
                                     {"grade": "basically_qualified", "reason": "  "}), 422)
    assert "reason" in answer["detail"]


# --- bodies that are not JSON objects; unknown fields ----------------------------------------

ENDPOINTS: list[Case] = [
    # (who, method, path, a valid body, the status it gets)
    pytest.param("admin", "POST", "/orgs", {"name": "第三支部", "parent_id": "@party",
                                            "kind": "branch"}, 201, id="create-org"),
    pytest.param("admin", "POST", "/orgs/{A}/committee", {"member_id": "@a3"}, 201,
                 id="grant-committee"),
    pytest.param("sec_a", "POST", "/members", {
        "name": "新党员", "org_id": "@A", "category": "rural", "joined_on": "2020-07-01",
        "username": "newbie", "password": PASSWORD}, 201, id="create-member"),
    pytest.param("sec_a", "PATCH", "/members/{a1}", {"name": "张三"}, 200, id="update-member"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"cap": 10}, 200, id="update-rule"),
    pytest.param("sec_a", "POST", "/entries", BASE_ENTRY, 201, id="create-entry"),
    pytest.param("sec_a", "POST", "/entries/{pending}/reject", {"reason": "无签到记录"}, 200,
                 id="reject-entry"),
    pytest.param("sec_a", "POST", "/entries/{approved}/revoke", {"reason": "重复登记"}, 200,
                 id="revoke-entry"),
    pytest.param("sec_a", "POST", "/orgs/{A}/reviews", {"year": 2025, "quarter": 4}, 201,
                 id="create-review"),
    pytest.param("sec_a", "PUT", "/reviews/{draft}/scores", {"scores": {"@a2": 3}}, 200,
                 id="set-scores"),
    pytest.param("sec_a", "POST", "/reviews/{draft}/publish",
                 {"notice_days": 3, "reason": "支委会决定"}, 200,
                 id="publish-review"),
    pytest.param("a2", "POST", "/reviews/{published}/objections", {"text": "有异议"}, 201,
                 id="raise-objection"),
    pytest.param("sec_a", "POST", "/objections/{objection}/resolve", {"response": "已核实"},
                 200, id="resolve-objection"),
    # Valid, and refused by the workflow: 2025 is not finalized.
    pytest.param("sec_a", "POST", "/orgs/{A}/ratings", {"year": 2025}, 409,
                 id="create-rating"),
]

RAW_BODIES = [
    # (id, content type, bytes, whether it is fine where the body is optional)
    ("not-json", "application/json", b"reason=hello&year=2025", False),
    ("broken-json", "application/json", b'{"reason": "x", ', False),
    ("json-array", "application/json", b'[{"reason": "x"}]', False),
    ("json-string", "application/json", b'"hello"', False),
    ("json-number", "application/json", b"42", False),
    ("json-true", "application/json", b"true", False),
    ("json-null", "application/json", b"null", True),
    ("empty", "application/json", b"", True),
    ("not-utf-8", "application/json", b'{"reason": "\xff\xfe"}', False),
    ("form-encoded", "application/x-www-form-urlencoded", b"reason=hello", False),
    ("text-plain", "text/plain", b"hello", False),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), ENDPOINTS)
def test_body_must_be_a_json_object_without_unknown_fields(
        scene: Scene, subtests: Any, who: str, method: str, path: str, body: dict[str, Any],
        status: int) -> None:
    before, quick = state(scene.world), state(scene.world, full=False)
    optional = path.endswith("/publish")  # docs/api.md: notice_days defaults to 5
    for name, content_type, raw, fine_if_optional in RAW_BODIES:
        if optional and fine_if_optional:
            continue
        with subtests.test(name):
            answer = scene.send(who, method, path, content=raw,
                                headers={"Content-Type": content_type})
            refused_well(answer, 422, "validation_error")
            assert "body" in answer.json()["detail"]
            assert state(scene.world, full=False) == quick
    with subtests.test("unknown-field"):
        answer = refused_well(scene.send(who, method, path, body | {"comment": "typo"}), 422,
                              "validation_error")
        assert "comment" in answer["detail"]
    assert state(scene.world) == before
    # The control: the same body without the unknown field gets through.
    answer = scene.send(who, method, path, body)
    assert answer.status_code == status, answer.text


WRONG_VALUES: list[Case] = [
    # (who, method, path, body, what the detail must name)
    pytest.param("admin", "POST", "/orgs", {"name": "x", "parent_id": "@party",
                                            "kind": "district"}, "kind", id="org-kind"),
    pytest.param("admin", "POST", "/orgs", {"name": 5, "kind": "branch"}, "name",
                 id="org-name-number"),
    pytest.param("admin", "POST", "/orgs", {"name": "  ", "kind": "branch"}, "name",
                 id="org-name-blank"),
    pytest.param("admin", "POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": "top"},
                 "parent_id", id="org-parent-text"),
    pytest.param("admin", "POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": "@A"},
                 "branch", id="org-under-a-branch"),
    pytest.param("admin", "POST", "/orgs", {"name": "x", "kind": "branch",
                                            "parent_id": NOT_THERE}, "parent_id",
                 id="org-unknown-parent"),
    pytest.param("admin", "POST", "/orgs/{A}/committee", {"member_id": "sec_a"}, "member_id",
                 id="grant-username-for-id"),
    pytest.param("admin", "POST", "/orgs/{A}/committee", {"member_id": NOT_THERE},
                 "member_id", id="grant-unknown-member"),
    pytest.param("sec_a", "POST", "/members", {
        "name": "x", "org_id": "@A", "category": "student", "joined_on": "2020-07-01",
        "username": "newbie", "password": PASSWORD}, "category", id="member-category"),
    pytest.param("sec_a", "POST", "/members", {
        "name": "x", "org_id": "@A", "category": "active", "joined_on": "2020-13-01",
        "username": "newbie", "password": PASSWORD}, "joined_on", id="member-joined-on"),
    pytest.param("sec_a", "POST", "/members", {
        "name": "x", "org_id": "@A", "category": "active", "joined_on": "2026-01-11",
        "username": "newbie", "password": PASSWORD}, "joined_on", id="member-joins-tomorrow"),
    pytest.param("sec_a", "POST", "/members", {
        "name": "x", "org_id": "@A", "category": "active", "joined_on": "2020-07-01",
        "username": "new bie!", "password": PASSWORD}, "username", id="member-username"),
    pytest.param("sec_a", "POST", "/members", {
        "name": "x", "org_id": "@A", "category": "active", "joined_on": "2020-07-01",
        "username": "newbie", "password": "short"}, "password", id="member-password-short"),
    pytest.param("admin", "POST", "/members", {
        "name": "x", "org_id": "@party", "category": "active", "joined_on": "2020-07-01",
        "username": "newbie", "password": PASSWORD}, "branch", id="member-of-a-committee"),
    pytest.param("sec_a", "PATCH", "/members/{a1}", {"exempt": "maybe"}, "exempt",
                 id="member-exempt-text"),
    pytest.param("sec_a", "PATCH", "/members/{a1}", {"category": "Active"}, "category",
                 id="member-category-case"),
    pytest.param("sec_a", "PATCH", "/members/{a1}", {"name": ""}, "name",
                 id="member-name-empty"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"points": 0}, "points",
                 id="rule-points-0"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"cap": -1}, "cap",
                 id="rule-cap-negative"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"categories": []}, "categories",
                 id="rule-no-categories"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"categories": ["urban"]},
                 "categories", id="rule-unknown-category"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"name": None}, "name",
                 id="rule-name-null"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"categories": None}, "categories",
                 id="rule-categories-null"),
    pytest.param("admin", "PUT", "/rules/P01?year=2025", {"points": None}, "points",
                 id="rule-points-null"),
    pytest.param("admin", "PUT", "/rules/B01?year=2025", {"points": 3}, "B01",
                 id="rule-points-for-chosen-item"),
    pytest.param("admin", "PUT", "/rules/V01?year=2025", {"cap": 3}, "cap",
                 id="rule-cap-for-veto"),
    pytest.param("sec_a", "POST", "/orgs/{A}/reviews", {"year": 2025, "quarter": 5},
                 "quarter", id="review-quarter-5"),
    pytest.param("sec_a", "POST", "/orgs/{A}/reviews", {"year": "2025年", "quarter": 4},
                 "year", id="review-year-text"),
    pytest.param("sec_a", "POST", "/orgs/{A}/reviews", {"year": 2026, "quarter": 2},
                 "2026 Q2", id="review-quarter-not-started"),
    pytest.param("party_sec", "POST", "/orgs/{party}/reviews", {"year": 2025, "quarter": 4},
                 "branch", id="review-of-a-committee"),
    pytest.param("sec_a", "POST", "/reviews/{draft}/publish", {"notice_days": -1},
                 "notice_days", id="notice-negative"),
    pytest.param("sec_a", "POST", "/reviews/{draft}/publish", {"notice_days": 61},
                 "notice_days", id="notice-too-long"),
    pytest.param("sec_a", "POST", "/reviews/{draft}/publish", {"notice_days": "five"},
                 "notice_days", id="notice-text"),
    pytest.param("sec_a", "POST", "/orgs/{A}/ratings", {"year": "last"}, "year",
                 id="rating-year-text"),
    pytest.param("party_sec", "POST", "/orgs/{party}/ratings", {"year": 2025}, "branch",
                 id="rating-of-a-committee"),
]


def test_invalid_values_are_422_and_say_what_is_wrong(scene: Scene, subtests: Any) -> None:
    before, quick = state(scene.world), state(scene.world, full=False)
    for param in WRONG_VALUES:
        who, method, path, body, named = param.values
        with subtests.test(param.id):
            answer = refused_well(scene.send(who, method, path, body), 422)
            assert named in answer["detail"], answer
            assert state(scene.world, full=False) == quick
    assert state(scene.world) == before


# --- ids: unknown, not ids at all, outside the caller's scope ----------------------------------


def unknown(method: str, path: str, body: Any = MISSING, code: str = "not_found") -> Case:
    return case("admin", method, path, body, 404, code, f"{method} {path}")


UNKNOWN_IDS = [  # the administrator asks, so nothing is outside the scope
    unknown("GET", "/orgs/{nothing}"),
    unknown("GET", "/orgs/{nothing}/committee"),
    unknown("POST", "/orgs/{nothing}/committee", {"member_id": "@a1"}),
    unknown("DELETE", "/orgs/{A}/committee/{nothing}"),
    unknown("GET", "/members/{nothing}"),
    unknown("PATCH", "/members/{nothing}", {"name": "x"}),
    unknown("GET", "/members/{nothing}/score?year=2025"),
    unknown("POST", "/members", {"name": "x", "org_id": "@nothing", "category": "active",
                                 "joined_on": "2020-07-01", "username": "newbie",
                                 "password": PASSWORD}),
    unknown("PUT", "/rules/Z99?year=2025", {"cap": 1}, "unknown_rule"),
    unknown("POST", "/entries", BASE_ENTRY | {"member_id": "@nothing"}),
    unknown("GET", "/entries/{nothing}"),
    unknown("POST", "/entries/{nothing}/approve"),
    unknown("POST", "/entries/{nothing}/reject", {"reason": "x"}),
    unknown("POST", "/entries/{nothing}/revoke", {"reason": "x"}),
    unknown("POST", "/orgs/{nothing}/reviews", {"year": 2025, "quarter": 1}),
    unknown("GET", "/reviews/{nothing}"),
    unknown("PUT", "/reviews/{nothing}/scores", {"scores": {}}),
    unknown("POST", "/reviews/{nothing}/publish", {"notice_days": 1}),
    unknown("POST", "/reviews/{nothing}/reopen"),
    unknown("POST", "/reviews/{nothing}/finalize"),
    unknown("POST", "/reviews/{nothing}/objections", {"text": "x"}),
    unknown("GET", "/reviews/{nothing}/objections"),
    unknown("POST", "/objections/{nothing}/resolve", {"response": "x"}),
    unknown("POST", "/orgs/{nothing}/ratings", {"year": 2025}),
    unknown("GET", "/ratings/{nothing}"),
    unknown("PATCH", "/ratings/{nothing}/items/{a1}", {"grade": "qualified", "reason": "x"}),
    unknown("POST", "/ratings/{nothing}/approve"),
]


def test_unknown_ids_are_404(scene: Scene, subtests: Any) -> None:
    scene.refuse_all(subtests, UNKNOWN_IDS)


NOT_IDS = ["abc", "1.5", "1e3", "%20", "0x10", "一"]
HUGE_IDS = [MAX_ID + 1, 2**63, 10**20, -(2**63) - 1]  # beyond any id (app.schemas.MAX_ID)
BIG_IDS = [2**31, MAX_ID]  # ids INTEGER could not hold, in range: nobody has them yet


def test_ids_that_are_not_whole_numbers_are_422(scene: Scene, subtests: Any) -> None:
    for path in ("/orgs/{}", "/members/{}", "/members/{}/score", "/entries/{}",
                 "/reviews/{}", "/reviews/{}/objections", "/ratings/{}"):
        for value in NOT_IDS:
            with subtests.test(path.format(value)):
                answer = refused_well(scene.send("admin", "GET", path.format(value)), 422,
                                      "validation_error")
                assert "_id" in answer["detail"]
        for big in HUGE_IDS:
            with subtests.test(path.format(big)):
                # Beyond MAX_ID: refused the same on every database, naming the parameter.
                answer = refused_well(scene.send("admin", "GET", path.format(big)), 422,
                                      "validation_error")
                assert "_id" in answer["detail"]
        for big in BIG_IDS:
            with subtests.test(path.format(big)):
                refused_well(scene.send("admin", "GET", path.format(big)), 404, "not_found")


def test_huge_ids_in_bodies_and_queries_are_no_500(scene: Scene, subtests: Any) -> None:
    before = state(scene.world)
    for big in BIG_IDS + HUGE_IDS:
        for method, path, body in (
            ("POST", "/entries", BASE_ENTRY | {"member_id": big}),
            ("POST", "/members", {"name": "x", "org_id": big, "category": "active",
                                  "joined_on": "2020-07-01", "username": "newbie",
                                  "password": PASSWORD}),
            ("POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": big}),
            ("POST", "/orgs/{A}/committee", {"member_id": big}),
            ("PUT", "/reviews/{draft}/scores", {"scores": {str(big): 3}}),
            ("POST", f"/entries/{big}/approve", MISSING),
            ("PATCH", f"/ratings/{big}/items/{big}", {"grade": "qualified", "reason": "x"}),
        ):
            with subtests.test(f"{method} {path} {big}"):
                answer = scene.send("admin", method, path, body)
                assert answer.status_code in (404, 422), answer.text
                refused_well(answer, answer.status_code)
        for path in ("/entries", "/members", "/reviews", "/ratings"):
            for name in ("member_id", "org_id", "offset"):
                with subtests.test(f"GET {path}?{name}={big}"):
                    answer = scene.send("admin", "GET", path, params={name: big})
                    assert not_500(answer) is None
    assert state(scene.world) == before


def scope(who: str, method: str, path: str, body: Any = MISSING) -> Case:
    return case(who, method, path, body, 404, "not_found")


OUT_OF_SCOPE = {  # it exists, but not for this caller: 404, exactly as if it did not
    "committee-of-another-branch": [
        scope("sec_b", "GET", "/entries/{pending}"),
        scope("sec_b", "POST", "/entries/{pending}/approve"),
        scope("sec_b", "POST", "/entries/{pending}/reject", {"reason": "不属实"}),
        scope("sec_b", "POST", "/entries/{approved}/revoke", {"reason": "不属实"}),
        scope("sec_b", "POST", "/entries", BASE_ENTRY),
        scope("sec_b", "GET", "/members/{a1}"),
        scope("sec_b", "PATCH", "/members/{a1}", {"name": "x"}),
        scope("sec_b", "GET", "/members/{a1}/score?year=2025"),
        scope("sec_b", "POST", "/members", {"name": "x", "org_id": "@A", "category": "active",
                                            "joined_on": "2020-07-01", "username": "newbie",
                                            "password": PASSWORD}),
        scope("sec_b", "GET", "/orgs/{A}"),
        scope("sec_b", "POST", "/orgs/{A}/committee", {"member_id": "@a2"}),
        scope("sec_b", "POST", "/orgs/{A}/reviews", {"year": 2025, "quarter": 4}),
        scope("sec_b", "GET", "/reviews/{draft}"),
        scope("sec_b", "GET", "/reviews/{published}"),
        scope("sec_b", "PUT", "/reviews/{draft}/scores", {"scores": {"@a1": 1}}),
        scope("sec_b", "POST", "/reviews/{draft}/publish", NO_NOTICE),
        scope("sec_b", "POST", "/reviews/{published}/reopen"),
        scope("sec_b", "POST", "/reviews/{published}/finalize"),
        scope("sec_b", "GET", "/reviews/{published}/objections"),
        scope("sec_b", "POST", "/objections/{objection}/resolve", {"response": "x"}),
        scope("sec_b", "POST", "/orgs/{A}/ratings", {"year": 2025}),
    ],
    "member-about-another-member": [
        scope("a1", "GET", "/members/{a2}"),
        scope("a1", "GET", "/members/{a2}/score?year=2025"),
        scope("a1", "GET", "/entries/{approved}"),
        scope("a1", "POST", "/entries", BASE_ENTRY | {"member_id": "@a2"}),
        scope("a1", "PATCH", "/members/{a2}", {"name": "x"}),
        scope("a1", "POST", "/entries/{approved}/revoke", {"reason": "x"}),
        scope("a2", "POST", "/entries/{pending}/approve"),
        scope("a2", "POST", "/objections/{objection}/resolve", {"response": "x"}),
    ],
    "member-and-unpublished-results": [
        scope("a1", "GET", "/reviews/{draft}"),
        scope("a1", "PUT", "/reviews/{draft}/scores", {"scores": {"@a1": 5}}),
        scope("a1", "POST", "/reviews/{draft}/objections", {"text": "x"}),
        scope("a1", "GET", "/reviews/{draft}/objections"),
    ],
    "member-of-another-branch": [
        scope("a1", "GET", "/orgs/{B}"),
        scope("b1", "POST", "/reviews/{published}/objections", {"text": "x"}),
        scope("b1", "GET", "/reviews/{published}"),
        scope("b1", "GET", "/members/{a1}/score?year=2025"),
        scope("b1", "POST", "/entries/{pending}/approve"),
    ],
}


@pytest.mark.parametrize("who", OUT_OF_SCOPE)
def test_out_of_scope_is_404(scene: Scene, subtests: Any, who: str) -> None:
    scene.refuse_all(subtests, OUT_OF_SCOPE[who])
    answer = scene.send(*OUT_OF_SCOPE[who][0].values[:4])
    assert "outside your scope" in answer.json()["detail"]


# --- in scope, not allowed: 403 ----------------------------------------------------------------

FORBIDDEN = [
    case("a1", "POST", "/entries/{pending}/approve", MISSING, 403, "committee_only"),
    case("a1", "POST", "/entries/{pending}/reject", {"reason": "算了"}, 403, "committee_only"),
    case("a1", "PATCH", "/members/{a1}", {"exempt": True, "exempt_reason": "年老"}, 403,
         "committee_only"),
    case("a1", "POST", "/members", {"name": "x", "org_id": "@A", "category": "active",
                                    "joined_on": "2020-07-01", "username": "newbie",
                                    "password": PASSWORD}, 403, "committee_only"),
    case("a1", "POST", "/orgs/{A}/reviews", {"year": 2025, "quarter": 4}, 403,
         "committee_only"),
    case("a1", "PUT", "/reviews/{published}/scores", {"scores": {"@a1": 5}}, 403,
         "committee_only"),
    case("a1", "POST", "/reviews/{published}/finalize", MISSING, 403, "committee_only"),
    case("a1", "POST", "/objections/{objection}/resolve", {"response": "自己解决"}, 403,
         "committee_only"),
    case("a1", "POST", "/orgs/{A}/ratings", {"year": 2025}, 403, "committee_only"),
    case("a1", "PUT", "/rules/P01?year=2025", {"cap": 100}, 403, "admin_only"),
    case("a1", "POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": "@party"}, 403,
         "admin_only"),
    case("a1", "POST", "/orgs/{A}/committee", {"member_id": "@a1"}, 403, "admin_only"),
    case("sec_a", "POST", "/orgs/{A}/committee", {"member_id": "@a2"}, 403, "admin_only"),
    case("sec_a", "PUT", "/rules/P01?year=2025", {"cap": 100}, 403, "admin_only"),
    case("party_sec", "POST", "/orgs", {"name": "x", "kind": "branch", "parent_id": "@party"},
         403, "admin_only"),
    case("sec_a", "POST", "/members", {"name": "x", "org_id": "@party", "category": "active",
                                       "joined_on": "2020-07-01", "username": "newbie",
                                       "password": PASSWORD}, 403, "committee_only"),
    case("sec_a", "POST", "/entries/{own}/approve", MISSING, 403, "own_entry"),
    case("sec_a", "POST", "/entries/{own}/reject", {"reason": "写错了"}, 403, "own_entry"),
    case("a1", "POST", "/entries", BASE_ENTRY | {"rule_code": "N01"}, 403, "self_report_kind"),
    case("party_sec", "POST", "/reviews/{published}/objections", {"text": "x"}, 403,
         "not_branch_member"),
    case("admin", "POST", "/reviews/{published}/objections", {"text": "x"}, 403,
         "not_branch_member"),
]


def test_not_allowed_is_403(scene: Scene, subtests: Any) -> None:
    scene.refuse_all(subtests, FORBIDDEN)


def test_own_entry_is_decided_by_another_committee_member(scene: Scene) -> None:
    """The control for own_entry: vice_a may approve what sec_a may not."""
    assert ok(scene.send("vice_a", "POST", "/entries/{own}/approve"))["status"] == "approved"
    assert ok(scene.send("party_sec", "POST", "/entries/{pending}/approve"))["status"] \
        == "approved"


# --- refused by the workflow: 409 ------------------------------------------------------------

CONFLICTS = [
    case("sec_a", "POST", "/entries/{approved}/approve", MISSING, 409, "not_pending"),
    case("sec_a", "POST", "/entries/{approved}/reject", {"reason": "x"}, 409, "not_pending"),
    case("sec_a", "POST", "/entries/{pending}/revoke", {"reason": "x"}, 409, "not_approved"),
    case("sec_a", "PUT", "/reviews/{published}/scores", {"scores": {"@a1": 1}}, 409,
         "review_not_draft"),
    case("sec_a", "POST", "/reviews/{published}/publish", {"notice_days": 1}, 409,
         "review_not_draft"),
    case("sec_a", "POST", "/reviews/{draft3}/publish", {"notice_days": 1}, 409,
         "pending_entries"),
    case("sec_a", "POST", "/reviews/{draft}/finalize", MISSING, 409, "review_not_published"),
    case("sec_a", "POST", "/reviews/{draft}/reopen", MISSING, 409, "review_not_published"),
    case("sec_a", "POST", "/reviews/{published}/finalize", MISSING, 409, "objections_open"),
    case("sec_a", "POST", "/orgs/{A}/reviews", {"year": 2025, "quarter": 1}, 409,
         "review_exists"),
    case("sec_a", "POST", "/orgs/{A}/ratings", {"year": 2025}, 409, "quarters_not_finalized"),
    case("sec_a", "POST", "/members", {"name": "x", "org_id": "@A", "category": "active",
                                       "joined_on": "2020-07-01", "username": "a1",
                                       "password": PASSWORD}, 409, "username_taken"),
    case("admin", "POST", "/orgs/{A}/committee", {"member_id": "@sec_a"}, 409, "grant_exists"),
]


def test_workflow_refusals_are_409(scene: Scene, subtests: Any) -> None:
    scene.refuse_all(subtests, CONFLICTS)


def test_finalizing_waits_for_the_notice_period(scene: Scene) -> None:
    ok(scene.send("sec_a", "POST", "/objections/{objection}/resolve", {"response": "已核实"}))
    before = state(scene.world)
    answer = refused_well(scene.send("sec_a", "POST", "/reviews/{published}/finalize"), 409,
                          "notice_running")
    assert "2026-01-15" in answer["detail"]
    assert state(scene.world) == before
    scene.world.clock.advance(days=5)
    scene.world.admin = login(scene.world.client, "admin")
    scene.world.headers.clear()
    ok(scene.send("sec_a", "POST", "/reviews/{published}/finalize"))


LOCKED = [  # once 2025 is finalized for branch A, and its rating is in draft
    case("sec_a", "POST", "/entries", BASE_ENTRY | {"occurred_on": "2025-02-03"}, 409,
         "quarter_locked"),
    case("a1", "POST", "/entries", BASE_ENTRY | {"occurred_on": "2025-11-30"}, 409,
         "quarter_locked"),
    case("sec_a", "POST", "/entries/{locked_entry}/revoke", {"reason": "记错了"}, 409,
         "quarter_locked"),
    case("sec_a", "PUT", "/reviews/{q4}/scores", {"scores": {"@a1": 0}}, 409,
         "review_not_draft"),
    case("sec_a", "POST", "/reviews/{q4}/reopen", MISSING, 409, "review_not_published"),
    case("sec_a", "POST", "/reviews/{q4}/finalize", MISSING, 409, "review_not_published"),
    case("a1", "POST", "/reviews/{q4}/objections", {"text": "x"}, 409, "review_not_published"),
    case("admin", "PUT", "/rules/P01?year=2025", {"cap": 20}, 409, "rules_frozen"),
    case("sec_a", "POST", "/orgs/{A}/ratings", {"year": 2025}, 409, "rating_exists"),
    case("sec_a", "PATCH", "/ratings/{rating}/items/{b1}",
         {"grade": "qualified", "reason": "x"}, 404, "not_found"),
    case("sec_a", "PATCH", "/ratings/{rating}/items/{a1}", {"grade": "best", "reason": "x"},
         422, "validation_error"),
    case("sec_a", "PATCH", "/ratings/{rating}/items/{a1}",
         {"grade": "qualified", "reason": "x", "stars": 5}, 422, "validation_error"),
    case("sec_a", "PATCH", "/ratings/{rating}/items/{a4}",
         {"grade": "qualified", "reason": "x"}, 409, "vetoed_member"),
    case("sec_a", "PATCH", "/ratings/{rating}/items/{a1}", {"grade": "exempt", "reason": "x"},
         409, "exempt_not_marked"),
    case("a1", "GET", "/ratings/{rating}", MISSING, 404, "not_found"),
    case("a1", "PATCH", "/ratings/{rating}/items/{a1}", {"grade": "excellent", "reason": "x"},
         404, "not_found"),
]


def test_after_the_year_is_finalized(rated: Scene, subtests: Any) -> None:
    rated.refuse_all(subtests, LOCKED)


def test_at_most_a_third_may_be_excellent(rated: Scene) -> None:
    """Six rated members: two may be made excellent (with reasons), not a third."""
    grade = {"grade": "excellent", "reason": "群众公认"}
    ok(rated.send("sec_a", "PATCH", "/ratings/{rating}/items/{a1}", grade))
    ok(rated.send("sec_a", "PATCH", "/ratings/{rating}/items/{a2}", grade))
    before = state(rated.world)
    refused_well(rated.send("sec_a", "PATCH", "/ratings/{rating}/items/{a3}", grade), 409,
                 "excellent_cap")
    assert state(rated.world) == before


def test_an_approved_rating_is_final(rated: Scene, subtests: Any) -> None:
    approve_rating(rated.world, rated.ids["rating"])
    rated.refuse_all(subtests, [
        case("sec_a", "PATCH", "/ratings/{rating}/items/{a1}",
             {"grade": "qualified", "reason": "x"}, 409, "rating_final"),
        case("party_sec", "POST", "/ratings/{rating}/approve", MISSING, 409,
             "rating_not_submitted"),
        case("sec_a", "POST", "/ratings/{rating}/approve", MISSING, 403,
             "committee_above_only"),
        case("sec_a", "POST", "/ratings/{rating}/reopen", {"reason": "x"}, 409,
             "rating_not_published"),
        case("a1", "PATCH", "/ratings/{rating}/items/{a1}",
             {"grade": "excellent", "reason": "x"}, 403, "committee_only"),
        case("a1", "POST", "/ratings/{rating}/approve", MISSING, 403, "committee_above_only"),
    ])


# --- credentials -------------------------------------------------------------------------------


def _forged(world: World, **changes: Any) -> str:
    """a1's token re-signed with the real key, with some claims changed or left out."""
    good = world.as_("a1")["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(good, options={"verify_signature": False}) | changes
    return jwt.encode({k: v for k, v in claims.items() if v is not MISSING},
                      get_settings().secret_key, algorithm="HS256")


BAD_CREDENTIALS: list[Case] = [
    # (Authorization header, or a function of the world giving it; code)
    pytest.param(None, "not_authenticated", id="no-header"),
    pytest.param("", "not_authenticated", id="empty-header"),
    pytest.param("Bearer", "not_authenticated", id="scheme-only"),
    pytest.param("Basic YTE6Y29ycmVjdC1ob3JzZS05", "not_authenticated", id="basic-scheme"),
    pytest.param("Bearer garbage", "invalid_token", id="garbage"),
    pytest.param("Bearer a.b.c", "invalid_token", id="three-dots"),
    pytest.param(lambda w: "Bearer " + jwt.encode({"sub": "1", "exp": 2**40, "pwd": 0},
                                                  "k" * 40, algorithm="HS256"),
                 "invalid_token", id="wrong-key"),
    pytest.param(lambda w: "Bearer " + jwt.encode({"sub": "1", "exp": 2**40, "pwd": 0}, None,
                                                  algorithm="none"),
                 "invalid_token", id="unsigned"),
    pytest.param(lambda w: "Bearer " + _forged(w, sub=str(NOT_THERE)), "invalid_token",
                 id="unknown-account"),
    pytest.param(lambda w: "Bearer " + _forged(w, sub="a1"), "invalid_token",
                 id="subject-not-a-number"),
    pytest.param(lambda w: "Bearer " + _forged(w, exp=MISSING), "invalid_token",
                 id="no-expiry"),
    pytest.param(lambda w: "Bearer " + _forged(w, pwd=MISSING), "invalid_token",
                 id="no-password-stamp"),
    pytest.param(lambda w: "Bearer " + _forged(w, pwd=1), "invalid_token",
                 id="old-password-stamp"),
    pytest.param(lambda w: "Bearer " + _forged(w, jti=MISSING), "invalid_token",
                 id="no-session-id"),
    pytest.param(lambda w: "Bearer " + _forged(w, jti=12345), "invalid_token",
                 id="session-id-not-text"),
    pytest.param(lambda w: "Bearer " + _forged(w, jti="x" * 33), "invalid_token",
                 id="session-id-too-long"),
    pytest.param(lambda w: "Bearer " + _forged(w, gen=MISSING), "invalid_token",
                 id="no-session-generation"),
    pytest.param(lambda w: "Bearer " + _forged(w, gen=1), "invalid_token",
                 id="other-session-generation"),
    pytest.param(lambda w: "Bearer " + _forged(w, gen="many"), "invalid_token",
                 id="session-generation-not-a-number"),
    pytest.param(lambda w: "Bearer " + _forged(w, exp=int(w.clock.now().timestamp())),
                 "invalid_token", id="expired"),
]


def test_bad_credentials_are_401(scene: Scene, subtests: Any) -> None:
    requests = [("GET", "/me", MISSING), ("GET", "/entries", MISSING),
                ("GET", "/members/{a1}/score", MISSING), ("POST", "/entries", BASE_ENTRY),
                ("POST", "/entries/{pending}/approve", MISSING),
                ("POST", "/orgs", {"name": "x", "kind": "committee"})]
    before, quick = state(scene.world), state(scene.world, full=False)
    for param in BAD_CREDENTIALS:
        header, code = param.values
        value = header(scene.world) if callable(header) else header
        headers = {} if value is None else {"Authorization": value}
        for method, path, body in requests:
            with subtests.test(f"{param.id} {method} {path}"):
                answer = scene.send(None, method, path, body, headers=headers)
                refused_well(answer, 401, code)
        with subtests.test(f"{param.id} wrote nothing"):
            assert state(scene.world, full=False) == quick
    assert state(scene.world) == before


def test_a_session_cookie_is_no_api_credential(scene: Scene) -> None:
    scene.world.client.cookies.set("session", "anything")
    try:
        refused_well(scene.send(None, "POST", "/entries", BASE_ENTRY), 401, "not_authenticated")
    finally:
        scene.world.client.cookies.clear()


def test_token_expires_after_twelve_hours(world: World) -> None:
    old = login(world.client, "a1")
    world.clock.advance(hours=11, minutes=59)
    ok(world.client.get("/api/v1/me", headers=old))
    world.clock.advance(hours=1, minutes=1)  # 13 h after logging in
    answer = refused_well(world.client.get("/api/v1/me", headers=old), 401, "invalid_token")
    assert "log in again" in answer["detail"]
    body = {"member_id": world.members["a1"], "rule_code": "P01", "occurred_on": "2025-08-06"}
    refused_well(world.client.post("/api/v1/entries", json=body, headers=old), 401,
                 "invalid_token")
    fresh = login(world.client, "a1")
    ok(world.client.get("/api/v1/me", headers=fresh))
    world.admin = login(world.client, "admin")
    assert ok(world.get("admin", "/entries"))["total"] == 0


# --- login throttling ------------------------------------------------------------------------


def _login(world: World, username: str, password: str) -> Any:
    return world.client.post("/api/v1/auth/token",
                             data={"username": username, "password": password})


def test_sixth_login_after_five_failures_is_429_even_with_the_right_password(
        world: World) -> None:
    for _ in range(5):
        refused_well(_login(world, "a1", "wrong-password"), 401, "bad_credentials")
    answer = refused_well(_login(world, "a1", PASSWORD), 429, "too_many_attempts")
    assert "15 minutes" in answer["detail"]
    refused_well(_login(world, "a1", "wrong-password"), 429, "too_many_attempts")
    # Other usernames are unaffected, and tokens issued before still work.
    ok(_login(world, "a2", PASSWORD))
    ok(_login(world, "sec_a", PASSWORD))
    ok(world.get("admin", "/me"))
    world.clock.advance(minutes=14, seconds=59)
    refused_well(_login(world, "a1", PASSWORD), 429, "too_many_attempts")
    world.clock.advance(seconds=1)  # 15 minutes after the failures
    assert ok(_login(world, "a1", PASSWORD))["token_type"] == "bearer"


def test_throttling_counts_failures_within_fifteen_minutes_only(world: World) -> None:
    for _ in range(4):
        refused_well(_login(world, "a1", "wrong-password"), 401, "bad_credentials")
    world.clock.advance(minutes=10)
    refused_well(_login(world, "a1", "wrong-password"), 401, "bad_credentials")
    refused_well(_login(world, "a1", PASSWORD), 429, "too_many_attempts")
    world.clock.advance(minutes=5)  # the first four are now 15 minutes old
    ok(_login(world, "a1", PASSWORD))


def test_unknown_usernames_are_throttled_the_same_way(world: World) -> None:
    for _ in range(5):
        refused_well(_login(world, "nobody", "whatever"), 401, "bad_credentials")
    refused_well(_login(world, "nobody", "whatever"), 429, "too_many_attempts")
    ok(_login(world, "a1", PASSWORD))


def test_login_attempts_past_the_retention_go_when_the_username_logs_in(
        world: World, db: Session) -> None:
    def attempts(username: str) -> int:
        return len(db.exec(select(LoginAttempt).where(LoginAttempt.username == username)).all())

    for _ in range(3):
        refused_well(_login(world, "a1", "wrong-password"), 401, "bad_credentials")
        refused_well(_login(world, "a2", "wrong-password"), 401, "bad_credentials")
    world.clock.advance(days=89)
    ok(_login(world, "a1", PASSWORD))
    assert (attempts("a1"), attempts("a2")) == (4, 3)  # 89 days: kept
    world.clock.advance(days=2)
    ok(_login(world, "a1", PASSWORD))
    # 91 days: a1's three failures are gone (its logins of 2 days ago and now stay);
    # a2 has not logged in since, so its rows wait for its next login.
    assert (attempts("a1"), attempts("a2")) == (2, 3)


@pytest.mark.parametrize(("data", "json"), [
    pytest.param({"username": "a1"}, None, id="password-missing"),
    pytest.param({"password": PASSWORD}, None, id="username-missing"),
    pytest.param(None, {"username": "a1", "password": PASSWORD}, id="json-instead-of-form"),
    pytest.param({"username": "a" * 65, "password": PASSWORD}, None, id="username-too-long"),
    pytest.param({"username": "a1", "password": "p" * 129}, None, id="password-too-long"),
])
def test_malformed_login_is_422(world: World, data: Any, json: Any) -> None:
    refused_well(world.client.post("/api/v1/auth/token", data=data, json=json), 422,
                 "validation_error")


# --- lists, paging and years -----------------------------------------------------------------

LISTS = ["/orgs", "/members", "/entries", "/reviews", "/ratings"]
BAD_QUERIES: list[Case] = [
    # (list, query parameters, what the detail must name)
    *[pytest.param(path, params, next(iter(params)), id=f"{path}?{name}")
      for path in LISTS for name, params in (
          ("limit=0", {"limit": 0}), ("limit=501", {"limit": 501}),
          ("limit=-5", {"limit": -5}), ("limit=ten", {"limit": "ten"}),
          ("offset=-1", {"offset": -1}), ("offset=1.5", {"offset": 1.5}))],
    *[pytest.param(path, {"year": year}, "year", id=f"{path}?year={year}")
      for path in ("/entries", "/reviews", "/ratings", "/rules", "/members/{a1}/score")
      for year in (1999, 2101, 0)],
    pytest.param("/entries", {"quarter": 0}, "quarter", id="/entries?quarter=0"),
    pytest.param("/entries", {"quarter": 5}, "quarter", id="/entries?quarter=5"),
    pytest.param("/entries", {"status": "deleted"}, "status", id="/entries?status=deleted"),
    pytest.param("/entries", {"member_id": "a1"}, "member_id", id="/entries?member_id=a1"),
    pytest.param("/members", {"org_id": "第一支部"}, "org_id", id="/members?org_id=text"),
]


def test_bad_list_queries_are_422(scene: Scene, subtests: Any) -> None:
    for param in BAD_QUERIES:
        path, params, named = param.values
        with subtests.test(param.id):
            answer = refused_well(scene.send("sec_a", "GET", path, params=params), 422,
                                  "validation_error")
            assert named in answer["detail"]


def test_paging_at_its_limits_is_fine(scene: Scene) -> None:
    for path in LISTS:
        for params in ({"limit": 1}, {"limit": 500}, {"offset": 0}, {"offset": 10_000}):
            page = ok(scene.send("admin", "GET", path, params=params))
            assert set(page) == {"items", "total", "next", "resume"}
            assert page["next"] is None and page["resume"] is None  # no sync read asked
            assert len(page["items"]) <= params.get("limit", 50)


YEAR_WRITES: list[tuple[str, str, dict[str, Any], str]] = [
    ("PUT", "/rules/P01?year={year}", {"cap": 9}, "admin"),
    ("POST", "/orgs/{A}/reviews", {"year": "{year}", "quarter": 1}, "sec_a"),
    ("POST", "/orgs/{A}/ratings", {"year": "{year}"}, "sec_a"),
]


def test_years_out_of_range_are_422_for_writes(scene: Scene, subtests: Any) -> None:
    cases = []
    for method, path, body, who in YEAR_WRITES:
        for year in (1999, 2101, 0, -2025):
            filled = {k: year if v == "{year}" else v for k, v in body.items()}
            cases.append(case(who, method, path.replace("{year}", str(year)), filled, 422,
                              "validation_error", f"{method} {path.format(A='A', year=year)}"))
    scene.refuse_all(subtests, cases)


# --- nothing a client sends is a 500 ---------------------------------------------------------

GARBAGE: list[Any] = [None, "", "\u3000", -1, 0, 1.5, 2**31, 2**53, 2**63, "x" * 5000, [], {}, True,
                      "a\x00b", "2025-02-30", "2026-01-11", "' OR 1=1 --", "🙂"]


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), ENDPOINTS)
def test_no_field_value_causes_a_500(scene: Scene, who: str, method: str, path: str,
                                     body: dict[str, Any], status: int) -> None:
    """Each field of a valid body spoilt with each kind of garbage, by two callers."""
    failures = []
    for caller in dict.fromkeys((who, "a1")):
        for field in body:
            for value in GARBAGE:
                answer = scene.send(caller, method, path, body | {field: value})
                if (why := not_500(answer)) is not None:
                    failures.append(f"{caller} {field}={value!r:.30}: {why}")
    assert not failures, failures


def _operations_by_tag() -> dict[str, list[tuple[str, str, list[str]]]]:
    from app.main import app

    tags: dict[str, list[tuple[str, str, list[str]]]] = {}
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            tags.setdefault(operation["tags"][0], []).append((method.upper(), path, query))
    return tags


OPERATIONS = _operations_by_tag()


@pytest.mark.parametrize("tag", OPERATIONS)
def test_no_path_or_query_value_causes_a_500(scene: Scene, tag: str) -> None:
    failures = []
    for method, path, query in OPERATIONS[tag]:
        for who in ("admin", "a1", None):
            headers = {} if who is None else dict(scene.world.as_(who))
            for value in ("999999", "-1", "abc", str(2**31), str(2**53), str(2**63), "%00",
                          "null"):
                url = re.sub(r"\{[a-z_]+\}", value, path)
                for body in ([MISSING] if method == "GET" else [{}, "x"]):
                    kwargs: dict[str, Any] = {"params": dict.fromkeys(query, value)}
                    if body is not MISSING:
                        kwargs["json"] = body
                    answer = scene.world.client.request(method, url, headers=headers, **kwargs)
                    if (why := not_500(answer)) is not None:
                        failures.append(f"{who} {method} {url} {body!r}: {why}")
    assert not failures, failures


@pytest.mark.parametrize(("path", "field", "sent"), [
    ("/entries", "occurred_on", "x"),
    ("/entries", "occurred_on", 20260105),
    ("/entries", "occurred_on", "2026-01-05T08:00"),
])
def test_a_date_refused_says_what_was_sent(world: World, path: str, field: str,
                                           sent: object) -> None:
    """The message names the value as sent, never its template's placeholder."""
    body = {"member_id": world.members["a1"], "rule_code": "P01", "occurred_on": "2026-01-05",
            field: sent}
    answer = world.post("sec_a", path, body)
    assert answer.status_code == 422
    said = json.dumps(answer.json(), ensure_ascii=False)
    assert "{value" not in said and repr(sent) in said.replace('\\"', '"')
