"""Every 429 says when to try again (issue 14, finding 9): Retry-After, in seconds, the time
left until the throttle's window no longer holds enough failures to refuse.

The 429s are the login throttle (POST /api/v1/auth/token, the /login page) and the same
throttle on a wrong current password (POST /api/v1/auth/password, the /password page).
Request slots (app/limits.py) make a request wait, never answer 429.
"""

from __future__ import annotations

from typing import Any

from tests.api.support import PASSWORD, World, login, refused
from tests.web.support import csrf_of, form_post, web_login

WINDOW = 15 * 60


def api_login(world: World, password: str) -> Any:
    return world.client.post("/api/v1/auth/token",
                             data={"username": "a1", "password": password})


def page_login(world: World, password: str) -> Any:
    client = world.client
    client.cookies.clear()
    return client.post("/login", data={"username": "a1", "password": password,
                                       "csrf_token": csrf_of(client)})


def test_the_login_throttle_says_how_long_to_wait(world: World) -> None:
    for _ in range(4):
        refused(api_login(world, "wrong-password"), 401, "bad_credentials")
    world.clock.advance(minutes=10)
    refused(api_login(world, "wrong-password"), 401, "bad_credentials")

    answer = api_login(world, PASSWORD)
    refused(answer, 429, "too_many_attempts")
    # The four oldest failures leave the window 5 minutes from now; then 4 < 5 remain.
    assert answer.headers["Retry-After"] == str(5 * 60)
    page = page_login(world, PASSWORD)
    assert page.status_code == 429 and page.headers["Retry-After"] == str(5 * 60)

    world.clock.advance(minutes=4, seconds=59)
    assert api_login(world, PASSWORD).headers["Retry-After"] == "1"
    world.clock.advance(seconds=1)
    assert api_login(world, PASSWORD).status_code == 200  # as Retry-After said


def test_a_full_window_of_failures_waits_the_whole_window(world: World) -> None:
    for _ in range(5):
        page_login(world, "wrong-password")
    page = page_login(world, PASSWORD)
    assert page.status_code == 429 and page.headers["Retry-After"] == str(WINDOW)
    assert api_login(world, PASSWORD).headers["Retry-After"] == str(WINDOW)


def test_the_password_change_throttle_says_how_long_to_wait(world: World) -> None:
    headers = login(world.client, "a1")
    token = web_login(world.client, "a1")
    for _ in range(5):
        answer = world.client.post("/api/v1/auth/password", headers=headers, json={
            "current_password": "wrong-one-1", "new_password": "plum-blossom-77"})
        refused(answer, 403, "wrong_password")
    world.clock.advance(minutes=1)
    api = world.client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": PASSWORD, "new_password": "plum-blossom-77"})
    refused(api, 429, "too_many_attempts")
    assert api.headers["Retry-After"] == str(WINDOW - 60)
    # The API's failures came from no known device: they lock out the unknown devices,
    # which the page is without the device cookie its login gave it (test_login_devices).
    device = world.client.cookies.get("jifen_device")
    world.client.cookies.delete("jifen_device")
    page = form_post(world.client, "/password", token, {
        "current_password": PASSWORD, "new_password": "plum-blossom-77",
        "new_password_again": "plum-blossom-77"})
    assert page.status_code == 429 and page.headers["Retry-After"] == str(WINDOW - 60)
    assert device  # and with it, the person's own browser changes the password
    world.client.cookies.set("jifen_device", device)
    page = form_post(world.client, "/password", token, {
        "current_password": PASSWORD, "new_password": "plum-blossom-77",
        "new_password_again": "plum-blossom-77"})
    assert page.status_code == 303
