"""ETag on every JSON read of /api/v1 (If-None-Match: 304), and If-Match on every PATCH/PUT:
412 `precondition_failed` and nothing changed when the resource changed since it was read,
checked under the change's own lock (issue 18, part 3; docs/api/retries.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.api import etags
from app.main import app
from app.services import (
    appraisal,
    members,
    ratings,
    reviews,
    rule_procedure,
    rules,
    standing,
)
from tests.api.appraisal_scene import EXEMPTION, rate_b
from tests.api.case_scene import file_case
from tests.api.support import World, ok, refused


@dataclass(frozen=True)
class Scene:
    """B's 2025 rating in draft (b1 wrote a self-assessment), A's 2025 Q1 review in draft,
    an entry of a1, a case about a4."""

    ids: dict[str, int]


@pytest.fixture
def scene(world: World) -> Scene:
    rating = rate_b(world)
    ok(world.put("b1", f"/ratings/{rating}/self-assessment", {"text": "认真学习"}))
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)["id"]
    entry = world.entry("sec_a", "a1", "P01", "2025-02-03")["id"]
    case = ok(file_case(world), 201)["id"]
    service = ok(world.post("admin", "/service-accounts", {
        "name": "city-platform", "org_id": world.party, "access": "read"}),
                 201)["service_account"]["id"]
    ids = dict(world.members) | {"rating": rating, "review": review, "entry": entry,
                                 "case": case, "service": service, "branch_a": world.branch_a,
                                 "branch_b": world.branch_b, "party": world.party}
    return Scene(ids)


# Every JSON read, as (caller, path, query): {name} is an id of the scene.
READS: list[tuple[str, str, dict[str, Any]]] = [
    ("a1", "/me", {}),
    ("admin", "/orgs", {}),
    ("admin", "/orgs/{branch_a}", {}),
    ("admin", "/orgs/{branch_a}/committee", {}),
    ("sec_a", "/members", {}),
    ("sec_a", "/members/{a1}", {}),
    ("sec_a", "/members/{a1}/suspensions", {}),
    ("sec_b", "/members/{b3}/exemptions/{year}", {"year": 2025}),
    ("sec_b", "/members/{b3}/exemptions", {}),
    ("a1", "/members/{a1}/score", {"year": 2025}),
    ("a1", "/rules", {}),
    ("a1", "/rules/{code}", {"code": "P01"}),
    ("a1", "/rules/{year}/procedure", {"year": 2026}),
    ("sec_a", "/entries", {}),
    ("sec_a", "/entries/{entry}", {}),
    ("sec_a", "/reviews", {}),
    ("sec_a", "/reviews/{review}", {}),
    ("sec_a", "/reviews/{review_id}/objections", {"review_id": "review"}),
    ("sec_b", "/ratings", {}),
    ("sec_b", "/ratings/{rating}", {}),
    ("b1", "/ratings/{rating}/self-assessment", {}),
    ("sec_b", "/ratings/{rating}/self-assessments", {}),
    ("b1", "/ratings/{rating}/ballot", {}),
    ("sec_b", "/ratings/{rating}/objections", {}),
    ("admin", "/audit", {}),
    ("a1", "/me/notices", {}),
    ("party_sec", "/orgs/{party}/appraisal", {"query": {"year": 2025}}),
    ("sec_a", "/cases", {}),
    ("sec_a", "/cases/{case}", {}),
    ("sec_a", "/orgs/{branch_a}/scores", {"query": {"year": 2025}}),
    ("admin", "/service-accounts", {}),
    ("admin", "/service-accounts/{service}", {}),
]


def _url(scene: Scene, template: str, given: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = given.get(name, name)
        return str(scene.ids.get(str(value), value))
    return "/api/v1" + re.sub(r"\{([a-z_0-9]+)\}", fill, template)


def _template(path: str) -> str:
    """The OpenAPI path of a READS path (its placeholders named as the routes name them)."""
    names = {"/members/{a1}": "/members/{member_id}", "/members/{b3}": "/members/{member_id}",
             "/orgs/{branch_a}": "/orgs/{org_id}", "/orgs/{party}": "/orgs/{org_id}",
             "/entries/{entry}": "/entries/{entry_id}", "/reviews/{review}": "/reviews/{review_id}",
             "/ratings/{rating}": "/ratings/{rating_id}", "/cases/{case}": "/cases/{case_id}",
             "/service-accounts/{service}": "/service-accounts/{account_id}"}
    for short, long in names.items():
        path = path.replace(short, long)
    return "/api/v1" + path


def _json_reads() -> set[str]:
    return {path for path, item in app.openapi()["paths"].items() if "get" in item and
            "application/json" in item["get"]["responses"].get("200", {}).get("content", {})}


def test_the_table_holds_every_json_read() -> None:
    assert _json_reads() == {_template(path) for _, path, _ in READS}


@pytest.mark.parametrize(("who", "path", "given"), READS, ids=[p for _, p, _ in READS])
def test_every_json_read_has_an_etag_and_answers_304_when_it_still_holds(
        world: World, scene: Scene, who: str, path: str, given: dict[str, Any]) -> None:
    url, query = _url(scene, path, given), given.get("query", {})
    first = world.client.get(url, params=query, headers=world.as_(who))
    body = ok(first)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = world.client.get(url, params=query, headers=world.as_(who))
    assert again.headers["etag"] == etag and again.json() == body
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = world.client.get(url, params=query,
                                     headers=world.as_(who) | {"If-None-Match": header})
        assert unchanged.status_code == 304, header
        assert unchanged.content == b"" and unchanged.headers["etag"] == etag
    other = world.client.get(url, params=query,
                             headers=world.as_(who) | {"If-None-Match": '"0123"'})
    assert other.status_code == 200 and other.json() == body


def test_the_etag_follows_the_representation(world: World) -> None:
    a1 = world.members["a1"]
    before = world.get("sec_a", f"/members/{a1}")
    ok(world.patch("sec_a", f"/members/{a1}", {"name": "王小明"}))
    after = world.get("sec_a", f"/members/{a1}")
    assert before.headers["etag"] != after.headers["etag"]
    stale = world.client.get(f"/api/v1/members/{a1}",
                             headers=world.as_("sec_a") | {"If-None-Match":
                                                           before.headers["etag"]})
    assert stale.status_code == 200 and stale.json()["name"] == "王小明"


def test_a_file_has_no_etag(world: World) -> None:
    answer = world.client.get("/api/v1/members/export", params={"format": "csv"},
                              headers=world.as_("admin"))
    assert answer.status_code == 200 and "etag" not in answer.headers


def test_head_has_the_etag_of_the_get(world: World) -> None:
    a1 = world.members["a1"]
    got = world.get("sec_a", f"/members/{a1}")
    head = world.client.head(f"/api/v1/members/{a1}", headers=world.as_("sec_a"))
    assert head.status_code == 200 and head.headers["etag"] == got.headers["etag"]


@dataclass(frozen=True)
class Change:
    """A PATCH/PUT, the GET whose ETag its If-Match names, and two different changes."""

    who: str
    method: str
    path: str
    read: str
    first: dict[str, Any]
    second: dict[str, Any]
    query: dict[str, Any] = field(default_factory=dict)


NOTE = EXEMPTION | {"reason_kind": "other"}
CHANGES = {
    "member": Change("sec_a", "PATCH", "/members/{a1}", "/members/{a1}",
                     {"name": "王一"}, {"name": "王二"}),
    "exemption": Change("sec_a", "PUT", "/members/{a1}/exemptions/2025",
                        "/members/{a1}/exemptions/2025",
                        NOTE | {"note": "外出务工一"}, NOTE | {"note": "外出务工二"}),
    "grade": Change("sec_b", "PATCH", "/ratings/{rating}/items/{b1}", "/ratings/{rating}",
                    {"grade": "qualified", "reason": "理由一"},
                    {"grade": "basically_qualified", "reason": "理由二"}),
    "self_assessment": Change("b1", "PUT", "/ratings/{rating}/self-assessment",
                              "/ratings/{rating}/self-assessment",
                              {"text": "自评一"}, {"text": "自评二"}),
    "scores": Change("sec_a", "PUT", "/reviews/{review}/scores", "/reviews/{review}",
                     {"scores": {"{a1}": 4}}, {"scores": {"{a1}": 3}}),
    "rule": Change("admin", "PUT", "/rules/P01", "/rules/P01",
                   {"name": "学习一"}, {"name": "学习二"}, {"year": 2026}),
    "procedure": Change("admin", "PUT", "/rules/2026/procedure", "/rules/2026/procedure",
                        {"rating_notice_days": 6}, {"rating_notice_days": 7}),
}


def test_the_table_holds_every_patch_and_put() -> None:
    changes = {(m, path) for path, item in app.openapi()["paths"].items()
               for m in item if m in ("patch", "put")}
    assert changes == {(c.method.lower(), _changed_template(c)) for c in CHANGES.values()}


def _changed_template(change: Change) -> str:
    path = change.path.replace("/items/{b1}", "/items/{member_id}") \
        .replace("/exemptions/2025", "/exemptions/{year}").replace("/rules/P01", "/rules/{code}") \
        .replace("/rules/2026/", "/rules/{year}/")
    return _template(path)


def _body(scene: Scene, body: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(body, ensure_ascii=False)
    for name, value in scene.ids.items():
        text = text.replace("{" + name + "}", str(value))
    filled: dict[str, Any] = json.loads(text)
    return filled


def _send(world: World, scene: Scene, change: Change, body: dict[str, Any],
          if_match: str | None = None) -> Any:
    headers = world.as_(change.who) | ({"If-Match": if_match} if if_match else {})
    return world.client.request(change.method, _url(scene, change.path, {}),
                                params=change.query, json=_body(scene, body), headers=headers)


def _read(world: World, scene: Scene, change: Change) -> Any:
    return world.client.get(_url(scene, change.read, {}), params=change.query,
                            headers=world.as_(change.who))


@pytest.mark.parametrize("name", CHANGES)
def test_if_match_on_every_change(world: World, scene: Scene, name: str) -> None:
    change = CHANGES[name]
    if name == "exemption":  # the resource exists before it is read
        ok(_send(world, scene, change, NOTE | {"note": "外出务工"}))
    read = _read(world, scene, change)
    ok(read)
    stale = read.headers["etag"]
    # Someone else changes it (no If-Match: as before this release).
    changed = _send(world, scene, change, change.first)
    ok(changed)
    now = _read(world, scene, change)
    assert changed.headers["etag"] == now.headers["etag"] != stale
    # The change sent with the ETag read before: 412, and nothing changed.
    refused(_send(world, scene, change, change.second, stale), 412, "precondition_failed")
    weak = _send(world, scene, change, change.second, "W/" + now.headers["etag"])
    refused(weak, 412, "precondition_failed")  # a weak tag never matches If-Match
    after = _read(world, scene, change)
    assert after.json() == now.json() and after.headers["etag"] == now.headers["etag"]
    # With the current ETag (among others) it is made, and answers its new ETag.
    made = _send(world, scene, change, change.second, f'"0000", {now.headers["etag"]}')
    ok(made)
    latest = _read(world, scene, change)
    assert made.headers["etag"] == latest.headers["etag"] != now.headers["etag"]
    assert latest.json() != now.json()
    # *: whatever it is now.
    ok(_send(world, scene, change, change.first, "*"))
    assert _read(world, scene, change).headers["etag"] == now.headers["etag"]


@pytest.mark.parametrize(("name", "who"), [("exemption", "sec_a"), ("self_assessment", "b2")])
def test_if_match_on_what_does_not_exist_yet_creates_nothing(
        world: World, scene: Scene, name: str, who: str) -> None:
    change = CHANGES[name]
    change = Change(who, change.method, change.path.replace("{a1}", "{a2}"),
                    change.read.replace("{a1}", "{a2}"), change.first, change.second)
    refused(_read(world, scene, change), 404)
    for if_match in ("*", '"0123"'):
        refused(_send(world, scene, change, change.first, if_match), 412,
                "precondition_failed")
    refused(_read(world, scene, change), 404)
    ok(_send(world, scene, change, change.first))  # without If-Match: created as before
    ok(_read(world, scene, change))


# Where each change takes its lock: the check must come after it.
LOCKS = {"member": [members], "exemption": [standing], "grade": [ratings],
         "self_assessment": [appraisal], "scores": [reviews], "rule": [rules],
         "procedure": [rule_procedure]}


@pytest.mark.parametrize("name", CHANGES)
def test_if_match_is_checked_under_the_changes_lock(world: World, scene: Scene, name: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    change = CHANGES[name]
    if name == "exemption":
        ok(_send(world, scene, change, NOTE | {"note": "外出务工"}))
    etag = _read(world, scene, change).headers["etag"]
    steps: list[str] = []
    for module in LOCKS[name]:
        for lock in ("lock_branch", "lock_rule_set"):
            if hasattr(module, lock):
                taken = getattr(module, lock)

                def locking(*args: Any, _taken: Any = taken, **kwargs: Any) -> Any:
                    steps.append("lock")
                    return _taken(*args, **kwargs)
                monkeypatch.setattr(module, lock, locking)
    checked = etags.etag_of_model

    def checking(model: Any) -> str:
        steps.append("check")
        return checked(model)
    monkeypatch.setattr(etags, "etag_of_model", checking)
    ok(_send(world, scene, change, change.first, etag))
    assert "check" in steps and steps.index("lock") < steps.index("check"), steps


def test_changes_without_if_match_are_as_before(world: World, scene: Scene) -> None:
    for change in CHANGES.values():
        ok(_send(world, scene, change, change.first))
        ok(_send(world, scene, change, change.second))


def test_openapi_documents_the_validators() -> None:
    missing = []
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            if not path.startswith("/api/v1/"):
                continue
            params = {p["name"] for p in op.get("parameters", [])}
            success = next(s for s in op["responses"] if s.startswith("2"))
            headers = set(op["responses"][success].get("headers", {}))
            if method == "get" and path in _json_reads() and not (
                    {"If-None-Match"} <= params and "ETag" in headers
                    and "304" in next(p["description"] for p in op["parameters"]
                                      if p["name"] == "If-None-Match")):
                missing.append(f"GET {path}")
            if method in ("patch", "put") and not (
                    {"If-Match"} <= params and "ETag" in headers
                    and "precondition_failed" in op["responses"]["412"]["description"]):
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing
