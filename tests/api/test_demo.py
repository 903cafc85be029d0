"""`jifen demo`: loaded through the services, then read back through the real API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.clock import FixedClock
from app.demo import DEMO_PASSWORD, load_demo
from app.models import Account
from app.services.errors import WorkflowConflict
from tests.api.support import Headers, login, ok

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 2026 Q4; all of 2025 is past


def _get(client: TestClient, who: Headers, path: str, **params: Any) -> Any:
    return ok(client.get(f"/api/v1{path}", params=params, headers=who))


def test_demo_loads_a_realistic_world_through_the_services(
    client: TestClient, db: Session, clock: FixedClock
) -> None:
    logins = load_demo(db, NOW)
    db.commit()
    clock.at = NOW
    users = dict(logins.accounts)
    assert logins.password == DEMO_PASSWORD
    assert {"admin", "dangwei", "shuji1", "zhiwei1", "shuji2", "shuji3"} <= users.keys()
    assert all(u.isascii() for u in users)
    admin = login(client, "admin", logins.password)
    # Passwords are stamped when the demo is loaded, not at a date worked out from the year
    # (a guessable stamp and a known key made a token anyone could forge: issue 14).
    stamps = set(db.exec(select(Account.password_changed_at)).all())
    assert stamps == {NOW}

    orgs = _get(client, admin, "/orgs")["items"]
    assert [o["kind"] for o in orgs].count("committee") == 1
    branches = sorted(o["id"] for o in orgs if o["kind"] == "branch")
    assert len(branches) == 3
    assert 35 <= _get(client, admin, "/members", limit=500)["total"] <= 45

    for branch in branches:
        reviews = _get(client, admin, "/reviews", org_id=branch, year=2025)["items"]
        assert sorted((r["quarter"], r["status"]) for r in reviews) == [
            (q, "finalized") for q in (1, 2, 3, 4)]
    rated = {r["org_id"]: r for r in _get(client, admin, "/ratings", year=2025)["items"]}
    assert rated.keys() == {branches[0], branches[1]}
    assert rated[branches[1]]["status"] == "draft"

    # Branch 1: approved, one grade changed by the committee with a reason, within ⌊n/3⌋.
    rating = _get(client, admin, f"/ratings/{rated[branches[0]]['id']}")
    items = rating["items"]
    assert rating["status"] == "approved"
    changed = [i for i in items if i["grade"] != i["proposed_grade"]]
    assert changed and all(i["reason"] for i in changed)
    graded = [i for i in items if i["grade"] != "exempt"]
    assert 0 < [i["grade"] for i in items].count("excellent") <= len(graded) // 3
    [vetoed] = [i for i in items if i["vetoed"]]
    assert (vetoed["grade"], vetoed["stars"], vetoed["score"]) == ("unqualified", 0, 0)
    [exempt] = [i for i in items if i["grade"] == "exempt"]
    exemptions = _get(client, admin, f"/members/{exempt['member_id']}/exemptions")["items"]
    assert [(e["year"], e["note"]) for e in exemptions] == [(rating["year"], "年老体弱")]
    # Realistic scores: most members between 70 and 100+, a few lower.
    scores = [i["score"] for i in graded if not i["vetoed"]]
    assert sum(70 <= s <= 110 for s in scores) >= 0.75 * len(scores)

    # A member reads their own score; it matches the approved rating.
    vetoed_member = _get(client, admin, f"/members/{vetoed['member_id']}")
    someone = next(i for i in items if i["member_id"] not in (
        vetoed["member_id"], exempt["member_id"]) and i["grade"] == "qualified")
    username = _get(client, admin, f"/members/{someone['member_id']}")["username"]
    mine = login(client, username, logins.password)
    me = _get(client, mine, "/me")
    score = _get(client, mine, f"/members/{me['member_id']}/score", year=2025)
    assert me["member_id"] == someone["member_id"] and score["score"] == someone["score"]
    assert [q["status"] for q in score["quarters"]] == ["finalized"] * 4
    theirs = login(client, vetoed_member["username"], logins.password)
    assert _get(client, theirs, f"/members/{vetoed['member_id']}/score", year=2025)["vetoed"]

    # The approval queue: pending self-reports only in the current quarter.
    secretary = login(client, "shuji1", logins.password)
    assert _get(client, secretary, "/me")["roles"]
    pending = _get(client, admin, "/entries", status="pending", limit=500)["items"]
    assert pending and {(e["occurred_on"][:4], e["status"]) for e in pending} == {
        ("2026", "pending")}
    assert _get(client, admin, "/entries", status="pending", year=2026, quarter=4)["total"] \
        == len(pending)
    assert _get(client, admin, "/entries", status="revoked")["total"] == 1
    assert _get(client, admin, "/entries", status="rejected")["total"] >= 3

    with pytest.raises(WorkflowConflict) as refused:
        load_demo(db, NOW)
    assert refused.value.code == "demo_loaded"
