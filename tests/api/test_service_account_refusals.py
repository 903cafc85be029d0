"""What a service account's key never does (docs/api/keys.md): it sees no disposal case (404,
empty lists) and files none, takes no step of a ballot, raises no objection, resubmits
nothing, resets no person's password, creates no member (by hand or by import); and no
route answers it with a 500."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from app.main import app
from app.models import Member
from tests.api.appraisal_scene import rate_b
from tests.api.case_scene import INVESTIGATE, file_case, reach
from tests.api.support import NO_NOTICE, PASSWORD, World, ok, refused
from tests.api.test_service_accounts import bearer, get, make, post

# --- no disposal case, no ballot, no member's own steps -----------------------------------------


def test_a_key_sees_no_disposal_case(world: World) -> None:
    case = reach(world, "investigated")
    for scope in (world.branch_a, world.party):
        _, key, _ = make(world, name=f"svc-{scope}", org=scope, access="read-write")
        refused(get(world, key, f"/cases/{case}"), 404, "not_found")
        nothing = {"items": [], "total": 0, "next": None, "resume": None}
        assert ok(get(world, key, "/cases")) == nothing
        assert ok(get(world, key, "/cases", member_id=world.members["a4"],
                      org_id=world.branch_a)) == nothing
        refused(post(world, key, f"/cases/{case}/steps", INVESTIGATE[1]), 404, "not_found")
        refused(post(world, key, "/cases", {"member_id": world.members["a3"],
                                            "ground": "lost_contact", "year": 2026}),
                403, "service_account")
    assert ok(world.get("sec_a", f"/cases/{case}"))["status"] == "investigated"  # unchanged
    ok(file_case(world, "a3"), 201)  # and nothing was filed for a3


def test_a_key_takes_no_step_of_a_ballot(world: World) -> None:
    rid = rate_b(world)
    _, key, _ = make(world, org=world.branch_b, access="read-write")
    m = world.members
    refused(post(world, key, f"/ratings/{rid}/ballot/open"), 403, "service_account")
    ok(world.post("sec_b", f"/ratings/{rid}/ballot/open"))
    votes = {"votes": {str(m["b1"]): "excellent"}}
    for path in ("ballots", "paper-ballots", "ballot/close"):
        refused(post(world, key, f"/ratings/{rid}/{path}", votes), 403, "service_account")
    # "My ballot" is a member's: the key has none, as for anyone not in the branch.
    refused(get(world, key, f"/ratings/{rid}/ballot"), 404, "not_found")
    # What a committee sees of the rating and its ballot, the key sees; nothing was cast.
    rating = ok(get(world, key, f"/ratings/{rid}"))
    assert rating["ballot"]["status"] == "open" and rating["ballot"]["voted"] == []
    # A member's own steps: the key is no member.
    refused(world.client.put(f"/api/v1/ratings/{rid}/self-assessment", headers=bearer(key),
                             json={"text": "自评"}), 403, "not_on_rating")


def test_a_key_raises_no_objection(world: World) -> None:
    _, key, _ = make(world, org=world.branch_a, access="read-write")
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 4}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    refused(post(world, key, f"/reviews/{review['id']}/objections", {"text": "有误"}), 403,
            "not_branch_member")
    assert ok(world.get("sec_a", f"/reviews/{review['id']}/objections")) == []


def test_a_key_resets_no_password(world: World) -> None:
    """Else it could log in as the member, and vote or read their case."""
    _, key, _ = make(world, org=world.branch_a, access="read-write")
    refused(post(world, key, f"/members/{world.members['a1']}/password-reset"), 403,
            "service_account")
    ok(world.client.post("/api/v1/auth/token", data={"username": "a1",
                                                     "password": PASSWORD}))  # unchanged


def test_a_key_makes_no_login_for_anyone(world: World, db: Session) -> None:
    """Whoever sets a member's password, or receives a generated one, can log in as them and
    vote in their ballot: a key creates no member, by hand or by import."""
    _, key, _ = make(world, org=world.branch_a, access="read-write")
    members = len(db.exec(select(Member)).all())
    refused(post(world, key, "/members", {
        "name": "测试", "org_id": world.branch_a, "category": "active",
        "joined_on": "2020-01-01", "username": "evil2", "password": "Xk39-qpLm-Zt82"}),
        403, "service_account")
    sheet = ("姓名*,所属支部*,类别*,入党日期*,用户名*,身份,初始密码\n"
             "测试,第一支部,在职,2020-01-01,evil3,,\n")
    for dry_run in ("true", "false"):
        refused(world.client.post(
            "/api/v1/members/import", data={"dry_run": dry_run}, headers=bearer(key),
            files={"file": ("members.csv", sheet.encode(), "text/csv")}), 403, "service_account")
    assert len(db.exec(select(Member)).all()) == members
    assert world.client.post("/api/v1/auth/token", data={
        "username": "evil2", "password": "Xk39-qpLm-Zt82"}).status_code == 401


def test_a_key_resubmits_nothing(world: World) -> None:
    _, key, _ = make(world, org=world.branch_a, access="read-write")
    entry = world.entry("a1", "a1", "P02", "2026-01-06")
    ok(world.post("sec_a", f"/entries/{entry['id']}/reject", {"reason": "材料不全"}))
    refused(post(world, key, f"/entries/{entry['id']}/resubmit", {}), 403, "not_own_entry")


def test_no_api_route_answers_a_key_with_a_500(world: World) -> None:
    """Every route of the API, with a read-write key of the 党委: a clean answer (a made-up
    body and ids may be refused, never a 500)."""
    _, key, _ = make(world, access="read-write")
    ids = {"org_id": world.party, "member_id": world.members["a1"], "year": 2025}
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/api/v1/"):
            continue
        filled = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
        for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
            answer = world.client.request(method, filled, headers=bearer(key), json={})
            assert answer.status_code < 500, (method, filled, answer.text)
