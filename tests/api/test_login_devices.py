"""The login throttle counts failures per device (docs/api/keys.md, "The login throttle").

5 failures for a username in 15 minutes still refuse the 6th try (429, Retry-After), but
only on the device they came from: a device that logged in before sends back its device
token (the API's `device_token`, the pages' cookie) and is throttled by its own failures
only; every other device by the failures of unknown devices together. So whoever guesses at
a secretary's password locks out the unknown devices, never the secretary's own phone.

Also here: the token answer's `expires_in`, and no-store on every answer with a credential.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.models import LoginAttempt
from app.security import issue_device_token, read_device_token
from tests.api.support import PASSWORD, World, ok, refused
from tests.web.support import csrf_of

WRONG = "wrong-password"


def api_login(world: World, password: str, device: str | None = None,
              username: str = "a1") -> Any:
    form = {"username": username, "password": password}
    if device is not None:
        form["device_token"] = device
    return world.client.post("/api/v1/auth/token", data=form)


def device_of(world: World, username: str = "a1") -> str:
    """A new known device: a successful login from nowhere known, its device token."""
    token: str = ok(api_login(world, PASSWORD, username=username))["device_token"]
    assert token
    return token


def test_the_token_answer_says_how_long_it_lasts_and_is_not_kept(world: World) -> None:
    answer = api_login(world, PASSWORD)
    body = ok(answer)
    assert body["expires_in"] == 12 * 60 * 60
    assert body["token_type"] == "bearer" and body["device_token"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    changed = world.client.post("/api/v1/auth/password", headers=world.as_("a2"), json={
        "current_password": PASSWORD, "new_password": "plum-blossom-77"})
    assert ok(changed)["expires_in"] == 12 * 60 * 60
    assert changed.headers["Cache-Control"] == "no-store"
    assert changed.headers["Pragma"] == "no-cache"


def test_the_other_answers_with_a_password_are_not_kept(world: World) -> None:
    reset = world.post("admin", f"/members/{world.members['a3']}/password-reset")
    assert ok(reset)["password"]
    assert (reset.headers["Cache-Control"], reset.headers["Pragma"]) == ("no-store", "no-cache")


# Each row: where 5 failures come from, then who tries with which password, and the answer.
# "phone" and "laptop" are two devices a1 logged in from before; "none" sends no token.
CASES = [
    ("none", "none", PASSWORD, 429),  # the throttle holds for unknown devices
    ("none", "phone", PASSWORD, 200),  # a guesser elsewhere does not lock out a1's phone
    ("none", "phone", WRONG, 401),  # the phone's wrong password is only a failure...
    ("phone", "phone", PASSWORD, 429),  # ...and five of them lock the phone itself
    ("phone", "none", PASSWORD, 200),  # but not the unknown devices
    ("phone", "laptop", PASSWORD, 200),  # nor a1's other device
    ("other user's", "none", PASSWORD, 429),  # b1's token is no device of a1's
    ("forged", "none", PASSWORD, 429),  # nor a token this app did not sign
]


def _token(world: World, kind: str, devices: dict[str, str]) -> str | None:
    if kind == "none":
        return None
    if kind == "other user's":
        return device_of(world, "b1")
    if kind == "forged":
        return devices["phone"][:-4] + ("AAAA" if not devices["phone"].endswith("AAAA")
                                        else "BBBB")
    return devices[kind]


@pytest.mark.parametrize(("failing", "trying", "password", "status"), CASES)
def test_failures_lock_out_only_the_device_they_came_from(
        world: World, failing: str, trying: str, password: str, status: int) -> None:
    devices = {"phone": device_of(world), "laptop": device_of(world)}
    sent = _token(world, failing, devices)
    for _ in range(5):
        refused(api_login(world, WRONG, sent), 401, "bad_credentials")
    answer = api_login(world, password, _token(world, trying, devices))
    assert answer.status_code == status, answer.text
    if status == 429:
        refused(answer, 429, "too_many_attempts")
        assert answer.headers["Retry-After"] == str(15 * 60)
    if status == 200:
        # The device stays the same device: its token renewed, its id kept.
        now = world.clock.now()
        before = read_device_token(devices[trying], now) if trying in devices else None
        after = read_device_token(answer.json()["device_token"], now)
        assert after is not None
        assert before is None or before.device_id == after.device_id


def test_each_attempt_records_its_device_or_none(world: World, db: Session) -> None:
    phone = device_of(world)
    phone_id = read_device_token(phone, world.clock.now())
    assert phone_id is not None
    refused(api_login(world, WRONG, phone), 401, "bad_credentials")
    refused(api_login(world, WRONG), 401, "bad_credentials")
    refused(api_login(world, WRONG, "not a device token"), 401, "bad_credentials")
    ok(api_login(world, PASSWORD, phone))
    rows = db.exec(select(LoginAttempt).where(LoginAttempt.username == "a1")
                   .order_by(col(LoginAttempt.id))).all()
    assert [(r.success, r.device) for r in rows] == [
        (True, None),  # device_of: that login came from an unknown device
        (False, phone_id.device_id), (False, None), (False, None),
        (True, phone_id.device_id)]


def test_a_device_token_expires_with_its_year(world: World) -> None:
    phone = device_of(world)
    world.clock.advance(days=364)
    for _ in range(5):
        api_login(world, WRONG)
    ok(api_login(world, PASSWORD, phone))  # still known (and renewed: a new year)
    world.clock.advance(days=366)
    for _ in range(5):
        api_login(world, WRONG)
    refused(api_login(world, PASSWORD, phone), 429, "too_many_attempts")  # known no more


@pytest.mark.parametrize(("same_account", "same_name", "status"), [
    (True, True, 200), (True, False, 429), (False, True, 429)])
def test_a_device_token_names_the_account_and_its_username(
        world: World, same_account: bool, same_name: bool, status: int) -> None:
    now = world.clock.now()
    real = read_device_token(device_of(world), now)
    assert real is not None
    token = issue_device_token("dev-1", real.account_id + (0 if same_account else 1),
                               "a1" if same_name else "a2", now)
    for _ in range(5):
        api_login(world, WRONG)
    assert api_login(world, PASSWORD, token).status_code == status


def test_a_device_token_too_long_is_invalid_input(world: World) -> None:
    refused(api_login(world, PASSWORD, "x" * 1001), 422, "validation_error")


def test_a_locked_out_secretary_still_gets_in_on_her_own_phone(world: World) -> None:
    """sec_a logged in on her phone's browser before; someone fails five times as her, on
    the pages and through the API. Her phone logs in; the guesser stays locked out."""
    client = world.client
    client.cookies.clear()
    first = client.post("/login", data={"username": "sec_a", "password": PASSWORD,
                                        "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert first.status_code == 303
    cookie = first.headers["set-cookie"]
    assert "jifen_device=" in cookie and "httponly" in cookie.lower()
    assert first.headers["Cache-Control"] == "no-store"
    phone = client.cookies.get("jifen_device")
    assert phone
    client.cookies.clear()  # the guesser: another browser
    for _ in range(3):
        page = client.post("/login", data={"username": "sec_a", "password": WRONG,
                                           "csrf_token": csrf_of(client)})
        assert page.status_code == 401
    for _ in range(2):
        refused(api_login(world, WRONG, username="sec_a"), 401, "bad_credentials")
    page = client.post("/login", data={"username": "sec_a", "password": PASSWORD,
                                       "csrf_token": csrf_of(client)})
    assert page.status_code == 429 and page.headers["Retry-After"] == str(15 * 60)
    assert "以前登录过的手机或电脑不受影响" in page.text
    client.cookies.clear()
    client.cookies.set("jifen_device", phone)  # her phone, logged out, logs in again
    mine = client.post("/login", data={"username": "sec_a", "password": PASSWORD,
                                       "csrf_token": csrf_of(client)}, follow_redirects=False)
    assert mine.status_code == 303
    assert client.get("/", follow_redirects=False).headers["location"] == "/committee"


def test_a_reset_still_starts_afresh(world: World) -> None:
    for _ in range(5):
        api_login(world, WRONG)
    refused(api_login(world, PASSWORD), 429, "too_many_attempts")
    reset = ok(world.post("admin", f"/members/{world.members['a1']}/password-reset"))
    world.clock.advance(seconds=1)
    assert ok(api_login(world, reset["password"]))["password_change_required"] is True
