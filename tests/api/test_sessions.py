"""Ending sessions on the server (issue 14, finding 5) and the development key (finding 8).

POST /api/v1/auth/logout ends the token it is sent with; POST /api/v1/auth/logout-everywhere
(退出所有设备) every token and page session of the account. An ended token is refused at
once, not when it expires; the ids of ended sessions are kept only until that expiry.
Without JIFEN_SECRET_KEY a development install signs with a random key of its own, kept in
a file, so a token signed with the key once printed in the source opens nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import itsdangerous
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import app, create_app
from app.models import Account, RevokedSession
from app.settings import get_settings
from tests.api.support import Headers, World, login, ok, refused
from tests.web.support import web_login

ENTRY = {"rule_code": "P01", "occurred_on": "2025-08-06"}
# The key every development install signed with until it made its own (in the source).
OLD_DEVELOPMENT_KEY = "development-only-key-do-not-use-in-production-000"


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


# --- the development key ----------------------------------------------------------------------


@pytest.fixture
def development_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings as a development install without JIFEN_SECRET_KEY has them."""
    path = tmp_path / "jifen-secret.key"
    monkeypatch.delenv("JIFEN_SECRET_KEY", raising=False)
    monkeypatch.setenv("JIFEN_ENV", "development")
    monkeypatch.setenv("JIFEN_SECRET_KEY_FILE", str(path))
    get_settings.cache_clear()
    yield path
    monkeypatch.undo()
    get_settings.cache_clear()


def _admin_claims(db: Session, world: World) -> dict[str, Any]:
    admin = db.exec(select(Account).where(Account.username == "admin")).one()
    now = int(world.clock.now().timestamp())
    return {"sub": str(admin.id), "iat": now, "exp": now + 3600,
            "pwd": int(admin.password_changed_at.timestamp()),
            "gen": admin.session_generation, "jti": "forged-offline"}


def test_a_token_signed_with_the_published_key_opens_nothing(
        world: World, db: Session, development_key: Path) -> None:
    claims = _admin_claims(db, world)
    forged = jwt.encode(claims, OLD_DEVELOPMENT_KEY, algorithm="HS256")
    refused(me(world, {"Authorization": f"Bearer {forged}"}), 401, "invalid_token")
    # The same claims signed with the install's own key (kept in the file) do open it.
    assert get_settings().secret_key == development_key.read_text().strip()
    signed = jwt.encode(claims, development_key.read_text().strip(), algorithm="HS256")
    assert ok(me(world, {"Authorization": f"Bearer {signed}"}))["is_admin"] is True


def test_a_page_cookie_signed_with_the_published_key_opens_nothing(
        world: World, db: Session, development_key: Path) -> None:
    claims = _admin_claims(db, world)
    session = {"aid": int(claims["sub"]), "pwd": claims["pwd"], "gen": claims["gen"],
               "sid": "forged-offline", "at": claims["iat"], "csrf": "x"}
    # Starlette's session cookie: base64 JSON, signed with itsdangerous and the app's key.
    payload = base64.b64encode(json.dumps(session).encode())
    development = create_app()  # made as `jifen serve` makes it, with these settings
    development.dependency_overrides = dict(app.dependency_overrides)  # the test's database
    with TestClient(development, raise_server_exceptions=False) as browser:
        browser.cookies.set("jifen_session", itsdangerous.TimestampSigner(
            OLD_DEVELOPMENT_KEY).sign(payload).decode())
        page = browser.get("/admin", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        browser.cookies.clear()
        browser.cookies.set("jifen_session", itsdangerous.TimestampSigner(
            development_key.read_text().strip()).sign(payload).decode())
        assert browser.get("/admin", follow_redirects=False).status_code == 200
