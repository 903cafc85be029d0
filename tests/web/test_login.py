"""Logging in and out of the pages, CSRF, the language switch."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.clock import FixedClock
from tests.api.support import PASSWORD, World
from tests.web.support import csrf_of, form_post, web_login


def test_login_sets_an_httponly_session_and_lands_on_my_score(world: World,
                                                              client: TestClient) -> None:
    client.cookies.clear()
    token = csrf_of(client)
    answer = client.post("/login", data={"username": "a1", "password": PASSWORD,
                                         "csrf_token": token, "next": "/"},
                         follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "jifen_session=" in cookie and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert client.get("/", follow_redirects=False).headers["location"] == "/me"


@pytest.mark.parametrize(("who", "lands"), [
    ("a1", "/me"),  # a member: their score
    ("sec_a", "/committee"),  # a branch secretary: the committee's work, not their score
    ("party_sec", "/committee"),  # on the 党委's committee
    ("admin", "/admin"),  # an administrator who is no member
])
def test_each_person_lands_where_their_work_is(world: World, client: TestClient, who: str,
                                                lands: str) -> None:
    web_login(client, who)
    assert client.get("/", follow_redirects=False).headers["location"] == lands


def test_wrong_password_says_so_and_throttles(world: World, client: TestClient,
                                             clock: FixedClock) -> None:
    client.cookies.clear()
    token = csrf_of(client)
    for _ in range(5):
        answer = client.post("/login", data={"username": "a1", "password": "nope-nope",
                                             "csrf_token": token})
        assert answer.status_code == 401 and "用户名或密码不正确" in answer.text
    answer = client.post("/login", data={"username": "a1", "password": PASSWORD,
                                         "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 429 and "15分钟" in answer.text
    clock.advance(minutes=10, seconds=1)  # the page says what is left, as Retry-After does
    answer = client.post("/login", data={"username": "a1", "password": PASSWORD,
                                         "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 429 and "请5分钟后再试" in answer.text
    assert answer.headers["Retry-After"] == "299"


def test_a_form_without_the_csrf_token_is_refused(world: World, client: TestClient) -> None:
    client.cookies.clear()
    csrf_of(client)
    answer = client.post("/login", data={"username": "a1", "password": PASSWORD},
                         follow_redirects=False)
    assert answer.status_code == 303  # back to the form, with the message
    assert "页面已过期" in client.get(answer.headers["location"]).text
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_pages_need_a_login(world: World, client: TestClient) -> None:
    client.cookies.clear()
    answer = client.get("/", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login?next=/")
    htmx = client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"] == "/login"


def test_logout_and_language_switch(world: World, client: TestClient) -> None:
    token = web_login(client, "a1")
    english = form_post(client, "/language", token, {"language": "en", "next": "/login"})
    assert english.status_code == 303
    assert 'lang="en"' in client.get("/login").text
    form_post(client, "/logout", token)
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    # The language choice outlives the logout.
    assert 'lang="en"' in client.get("/login").text
