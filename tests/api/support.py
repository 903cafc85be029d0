"""A small world built through the real API: a 党委, two branches, committees, members."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock
from app.services.accounts import create_admin

PASSWORD = "correct-horse-9"
Headers = dict[str, str]
# A reason for a step taken early (app/services/early_steps.py): the tests often publish
# with no notice, or publish and finalize a quarter not over yet, as a branch may with one.
EARLY_REASON = "支委会决定提前办理（测试）"
NO_NOTICE = {"notice_days": 0, "reason": EARLY_REASON}


def login(client: TestClient, username: str, password: str = PASSWORD) -> Headers:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def ok(answer: Any, status: int = 200) -> Any:
    """The JSON of an answer that must have the given status."""
    assert answer.status_code == status, f"{answer.status_code}: {answer.text}"
    return answer.json()


def refused(answer: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """An error answer in docs/api.md's shape (RFC 9457 problem details, docs/api/schema.md),
    with the given status (and code)."""
    assert answer.status_code == status, f"{answer.status_code}: {answer.text}"
    assert answer.headers["content-type"] == "application/problem+json", answer.headers
    body: dict[str, Any] = answer.json()
    assert body["detail"], body
    assert isinstance(body["code"], str) and body["code"], body
    assert body["status"] == status and body["instance"] == answer.request.url.path, body
    assert body["type"] in ("about:blank", f"https://jifen.example/problems/{body['code']}")
    assert body["title"], body
    if code is not None:
        assert body["code"] == code, body
    return body


@dataclass
class World:
    client: TestClient
    clock: FixedClock
    admin: Headers
    party: int
    branch_a: int
    branch_b: int
    members: dict[str, int] = field(default_factory=dict)
    headers: dict[str, tuple[Headers, datetime]] = field(default_factory=dict)

    def for_test(self, client: TestClient, clock: FixedClock) -> World:
        """This world, built once (tests/conftest.py), for a test's client and clock."""
        return replace(self, client=client, clock=clock, members=dict(self.members),
                       headers=dict(self.headers))

    def as_(self, who: str) -> Headers:
        """A logged-in caller; logs in again when the clock has moved past the token's life."""
        cached = self.headers.get(who)
        if cached is None or self.clock.now() - cached[1] > timedelta(hours=6):
            headers = login(self.client, who)
            if who == "admin":
                self.admin = headers
            self.headers[who] = cached = (headers, self.clock.now())
        return cached[0]

    def post(self, who: str, path: str, json: Any = None) -> Any:
        return self.client.post(f"/api/v1{path}", json=json, headers=self.as_(who))

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params=params, headers=self.as_(who))

    def put(self, who: str, path: str, json: Any = None, **params: Any) -> Any:
        return self.client.put(f"/api/v1{path}", json=json, params=params,
                               headers=self.as_(who))

    def patch(self, who: str, path: str, json: Any = None) -> Any:
        return self.client.patch(f"/api/v1{path}", json=json, headers=self.as_(who))

    def add_member(self, username: str, branch: int, category: str = "active",
                   joined_on: str = "2010-07-01", name: str | None = None) -> int:
        body = {"name": name or username, "org_id": branch, "category": category,
                "joined_on": joined_on, "username": username, "password": PASSWORD}
        member_id: int = ok(self.post("admin", "/members", body), 201)["id"]
        self.members[username] = member_id
        return member_id

    def entry(self, who: str, member: str, code: str, on: str, status: int = 201,
              **extra: Any) -> Any:
        body = {"member_id": self.members[member], "rule_code": code, "occurred_on": on,
                **extra}
        return ok(self.post(who, "/entries", body), status)


def build_world(client: TestClient, db: Session, clock: FixedClock) -> World:
    """党委 (committee) → 支部A, 支部B. Committees: sec_a and vice_a on A, sec_b on B,
    party_sec on the 党委. Members: a1..a4 in A, b1 in B."""
    create_admin(db, "admin", PASSWORD, clock.now())
    db.commit()
    admin = login(client, "admin")
    world = World(client=client, clock=clock, admin=admin, party=0, branch_a=0, branch_b=0)
    world.headers["admin"] = (admin, clock.now())
    world.party = ok(world.post("admin", "/orgs", {"name": "某镇党委", "kind": "committee"}),
                     201)["id"]
    for attr, name in (("branch_a", "第一支部"), ("branch_b", "第二支部")):
        body = {"name": name, "parent_id": world.party, "kind": "branch"}
        setattr(world, attr, ok(world.post("admin", "/orgs", body), 201)["id"])
    for username in ("sec_a", "vice_a", "a1", "a2", "a3", "a4"):
        world.add_member(username, world.branch_a)
    world.add_member("sec_b", world.branch_b)
    world.add_member("b1", world.branch_b)
    world.add_member("party_sec", world.branch_b)
    for username, org in (("sec_a", world.branch_a), ("vice_a", world.branch_a),
                          ("sec_b", world.branch_b), ("party_sec", world.party)):
        ok(world.post("admin", f"/orgs/{org}/committee",
                      {"member_id": world.members[username]}), 201)
    return world


def approve_rating(world: World, rating_id: int, branch: str = "sec_a",
                   above: str = "party_sec") -> dict[str, Any]:
    """Take a draft rating through its steps to approved (appraisal.md §2): the ballot
    opened and closed, published with no notice, submitted by the branch committee, and
    approved by the committee of the 党委 above."""
    for step in ("ballot/open", "ballot/close"):
        ok(world.post(branch, f"/ratings/{rating_id}/{step}"))
    ok(world.post(branch, f"/ratings/{rating_id}/publish", NO_NOTICE))
    ok(world.post(branch, f"/ratings/{rating_id}/submit"))
    approved: dict[str, Any] = ok(world.post(above, f"/ratings/{rating_id}/approve"))
    return approved


def statements_sent(db: Session, call: Callable[[], Any]) -> list[str]:
    """The statements `call` sends to the database of `db`, in order."""
    sent: list[str] = []
    engine = db.get_bind().engine

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return sent
