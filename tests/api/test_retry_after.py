"""Every 429 says when to try again (issue 14, finding 9): Retry-After, in seconds, the time
left until the throttle's window no longer holds enough failures to refuse.

The 429s are the login throttle (POST /api/v1/auth/token, the /login page) and the same
throttle on a wrong current password (POST /api/v1/auth/password, the /password page).
Request slots (app/limits.py) make a request wait, never answer 429. A test below finds
every 429 in the code, so a new one cannot come without its Retry-After being tested.
"""

from __future__ import annotations

import re
from pathlib import Path
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


APP = Path(__file__).resolve().parents[2] / "app"
# What answers 429: a literal status, or the throttle's refusal (app/services/errors.py).
GIVES_429 = re.compile(r"status_code\s*=\s*429|HTTP_429|TooManyAttempts\(|\b429\s*:")
# Whatever calls the throttle: these may answer its 429.
THROTTLED = re.compile(r"\b(authenticate|accounts\.login|change_own_password|check_throttle)\(")


def _lines(pattern: re.Pattern[str]) -> set[tuple[str, str]]:
    found = set()
    for path in sorted(APP.rglob("*.py")):
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.split("#")[0]
            if pattern.search(code) and not code.lstrip().startswith(("def ", "class ")):
                found.add((str(path.relative_to(APP)), code.strip()))
    return found


def test_every_429_in_the_code_is_one_tested_here() -> None:
    """Every place that can answer 429 is one this file sees send Retry-After: a new one
    fails here until a test of its Retry-After is added (and it is listed)."""
    assert _lines(GIVES_429) == {
        # The throttle's refusal: answered by main.on_domain_error with Retry-After (the
        # API's token and password change, above) or by the two pages below.
        ("services/accounts.py", "raise TooManyAttempts("),
        ("services/errors.py", "status_code = 429"),
        # The /login page renders its own 429 and sets Retry-After (tested above).
        ("web/auth.py", 'response = render(request, "pages/login.html", context, '
                        "status_code=429)"),
        # Documentation of the status, not an answer.
        ("api/deps.py", '429: "Too many attempts.",'),
        ("api/deps.py", '429: ("too_many_attempts",),'),
        ("main.py", '429: "too_many_attempts"}'),
        ("web/errors.py", '429: N_("请稍后再试")}'),
    }
    callers = {file for file, _ in _lines(THROTTLED) if file.startswith(("api/", "web/"))}
    # Each door that reaches the throttle, and the test above that sees its Retry-After.
    assert callers == {"api/auth.py",  # test_the_login_throttle_says_how_long_to_wait
                       "web/auth.py",  # the same, and test_a_full_window_of_failures_...
                       "api/passwords.py",  # test_the_password_change_throttle_...
                       "web/passwords.py"}  # the same


def test_the_api_documents_retry_after_on_every_429(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    documented = [(path, method, answers["429"]) for path, item in schema["paths"].items()
                  for method, answers_of in item.items()
                  for answers in [answers_of.get("responses", {})] if "429" in answers]
    assert {(p, m) for p, m, _ in documented} >= {("/api/v1/auth/token", "post"),
                                                  ("/api/v1/auth/password", "post")}
    for path, method, answer in documented:
        assert "Retry-After" in answer.get("headers", {}), (path, method)
