"""Ending sessions on the server (issue 14, finding 5).

POST /api/v1/auth/logout ends the token it is sent with; POST /api/v1/auth/logout-everywhere
(退出所有设备) every token and page session of the account. An ended token is refused at
once, not when it expires; the ids of ended sessions are kept only until that expiry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Account, RevokedSession
from tests.api.support import Headers, World, login, ok, refused
from tests.web.support import web_login

ENTRY = {"rule_code": "P01", "occurred_on": "2025-08-06"}


def logout(world: World, headers: Headers, everywhere: bool = False) -> Any:
    path = "/api/v1/auth/logout-everywhere" if everywhere else "/api/v1/auth/logout"
    return world.client.post(path, headers=headers)


def me(world: World, headers: Headers) -> Any:
    return world.client.get("/api/v1/me", headers=headers)


def self_report(world: World, headers: Headers) -> Any:
    return world.client.post("/api/v1/entries", headers=headers,
                             json=ENTRY | {"member_id": world.members["a1"]})


def test_logout_ends_this_token_and_no_other(world: World, db: Session) -> None:
    token, other_device = login(world.client, "a1"), login(world.client, "a1")
    ok(me(world, token))
    answer = logout(world, token)
    assert answer.status_code == 204 and answer.content == b""

    refused(me(world, token), 401, "invalid_token")
    refused(self_report(world, token), 401, "invalid_token")
    refused(logout(world, token), 401, "invalid_token")  # already out
    ok(me(world, other_device))
    ok(self_report(world, other_device), 201)


def test_logout_everywhere_ends_every_token_and_page_session(world: World, db: Session,
                                                             client: TestClient) -> None:
    token, other_device = login(world.client, "a1"), login(world.client, "a1")
    web_login(client, "a1")
    assert logout(world, token, everywhere=True).status_code == 204

    for headers in (token, other_device):
        refused(me(world, headers), 401, "invalid_token")
        refused(self_report(world, headers), 401, "invalid_token")
    page = client.get("/me", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    ok(me(world, login(world.client, "a1")))  # a new login works
    ok(world.get("a2", "/me"))  # other accounts keep theirs
    account = db.exec(select(Account).where(Account.username == "a1")).one()
    assert account.session_generation == 1


def test_ended_sessions_are_kept_only_until_they_expire(world: World, db: Session) -> None:
    first = login(world.client, "a1")
    assert logout(world, first).status_code == 204
    [kept] = db.exec(select(RevokedSession)).all()
    assert kept.expires_at == world.clock.now() + timedelta(hours=12)

    world.clock.advance(hours=12)  # the first token has expired on its own
    second = login(world.client, "a1")
    assert logout(world, second).status_code == 204
    [left] = db.exec(select(RevokedSession)).all()
    assert left.session_id != kept.session_id
    refused(me(world, first), 401, "invalid_token")  # expired: refused all the same


def test_the_logout_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/auth/logout", "/api/v1/auth/logout-everywhere"):
        operation = paths[path]["post"]
        assert "204" in operation["responses"] and "401" in operation["responses"]
        assert "refused" in operation["description"]
