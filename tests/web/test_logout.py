"""Logging out ends the session on the server (issue 14, finding 5): a copy of the session
cookie kept from before /logout, or from another device before 退出所有设备, is refused
by every page, the member's kept score page included, and by every form."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.main import app
from app.models import AuditLog, Entry
from tests.api.support import World, login, refused
from tests.web.support import csrf_of, form_post, web_login

COOKIE = "jifen_session"
SELF_REPORT = {"rule_code": "P01", "occurred_on": "2026-01-05", "quantity": "2",
               "note": "参加1月集中学习"}


def self_report(client: TestClient, token: str) -> Any:
    return client.post("/me/report", data={**SELF_REPORT, "csrf_token": token},
                       files=[("photo", ("", b"", "application/octet-stream"))],
                       follow_redirects=False)


def to_login(answer: Any) -> bool:
    """Sent to the login page: a redirect (303), or HX-Redirect for HTMX."""
    location = answer.headers.get("location", "")
    return bool(answer.status_code == 303 and location.startswith("/login")) or \
        answer.headers.get("HX-Redirect") == "/login"


def use_cookie(client: TestClient, value: str) -> None:
    """Send this session cookie from now on (as a copy kept from earlier would be sent)."""
    client.cookies.clear()
    client.cookies.set(COOKIE, value)


def entries_of(db: Session, world: World, member: str) -> list[Entry]:
    return list(db.exec(select(Entry).where(Entry.member_id == world.members[member])).all())


def test_a_cookie_saved_before_logout_opens_nothing_afterwards(world: World, client: TestClient,
                                                               db: Session) -> None:
    token = web_login(client, "a1")
    kept_pages = app.state.page_cache
    assert client.get("/me").status_code == 200
    hits = kept_pages.hits
    assert client.get("/me").status_code == 200
    assert kept_pages.hits == hits + 1  # answered from the kept pages
    saved = client.cookies[COOKIE]

    answer = form_post(client, "/logout", token)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")

    use_cookie(client, saved)  # the copy an attacker or a shared computer kept
    assert to_login(client.get("/me", follow_redirects=False))
    assert to_login(client.get("/me", headers={"HX-Request": "true"}, follow_redirects=False))
    assert to_login(client.get("/me/entries", follow_redirects=False))
    assert to_login(self_report(client, token))
    assert entries_of(db, world, "a1") == []
    # The same login again opens a new session, which works.
    web_login(client, "a1")
    assert client.get("/me").status_code == 200


def test_logging_out_twice_and_without_a_session_is_fine(world: World,
                                                         client: TestClient) -> None:
    token = web_login(client, "a1")
    saved = client.cookies[COOKIE]
    assert form_post(client, "/logout", token).status_code == 303
    use_cookie(client, saved)
    assert form_post(client, "/logout", token).status_code == 303  # already ended
    fresh = csrf_of(client)  # the session after a logout, not logged in
    assert form_post(client, "/logout", fresh, htmx=True).headers["HX-Redirect"] == "/login"


def test_logout_everywhere_ends_the_other_devices_and_keeps_this_one(
        world: World, client: TestClient, db: Session) -> None:
    phone = TestClient(app, raise_server_exceptions=False)  # a1's other device
    phone_token = web_login(phone, "a1")
    api = login(client, "a1")
    token = web_login(client, "a1")
    before = client.cookies[COOKIE]  # this device's cookie before the button

    page = client.get("/password")
    assert 'action="/logout-everywhere"' in page.text and "退出所有设备" in page.text
    assert "这台设备保持登录" in page.text  # says what it does before it is pressed
    answer = form_post(client, "/logout-everywhere", token)
    assert (answer.status_code, answer.headers["location"]) == (303, "/password")
    assert "其他手机或电脑上的登录都已退出" in client.get("/password").text
    assert client.get("/me").status_code == 200  # this device stays logged in

    assert to_login(phone.get("/me", follow_redirects=False))
    assert to_login(self_report(phone, phone_token))
    assert entries_of(db, world, "a1") == []
    refused(client.get("/api/v1/me", headers=api), 401, "invalid_token")
    kept = client.cookies[COOKIE]
    use_cookie(client, before)  # a copy of this device's cookie taken earlier
    assert to_login(client.get("/me", follow_redirects=False))
    use_cookie(client, kept)
    assert client.get("/me").status_code == 200

    row = db.exec(select(AuditLog).where(AuditLog.action == "account.logout_everywhere")).one()
    assert row.object_id is not None
    web_login(phone, "a1")  # logging in again works
    assert phone.get("/me").status_code == 200


def test_logout_everywhere_needs_a_login_and_the_csrf_token(world: World,
                                                            client: TestClient) -> None:
    phone = TestClient(app, raise_server_exceptions=False)
    web_login(phone, "a1")
    token = web_login(client, "a1")
    assert form_post(client, "/logout-everywhere", "not-the-token").status_code == 303
    assert phone.get("/me").status_code == 200  # refused: the other device is still in
    form_post(client, "/logout", token)
    assert to_login(form_post(client, "/logout-everywhere", csrf_of(client)))
    assert phone.get("/me").status_code == 200
