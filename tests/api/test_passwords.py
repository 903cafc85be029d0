"""POST /api/v1/auth/password and POST /api/v1/members/{id}/password-reset.

A password change or reset moves the account's password stamp on, so every token issued
before it answers 401; wrong current passwords count towards the login throttle; a reset
lifts that throttle; the audit log says a password changed, never what it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.api.support import PASSWORD, Headers, World, login, ok, refused

NEW = "plum-blossom-77"


def change(world: World, headers: Headers, current: str, new: str) -> Any:
    return world.client.post("/api/v1/auth/password", headers=headers,
                             json={"current_password": current, "new_password": new})


def reset(world: World, who: str, member: str, body: Any = None) -> Any:
    return world.post(who, f"/members/{world.members[member]}/password-reset", body)


def token_login(world: World, username: str, password: str) -> Any:
    return world.client.post("/api/v1/auth/token",
                             data={"username": username, "password": password})


def password_audit(world: World) -> list[dict[str, Any]]:
    page = ok(world.get("admin", "/audit", action="account.", limit=500))
    return [r for r in reversed(page["items"]) if r["action"].startswith("account.password")]


def assert_no_secret(rows: list[dict[str, Any]], *secrets: str) -> None:
    text = json.dumps(rows, ensure_ascii=False)
    assert "password_hash" not in text and "$argon2" not in text
    for secret in secrets:
        assert secret not in text


def test_change_own_password_revokes_earlier_tokens(world: World) -> None:
    old = login(world.client, "a1")
    other_device = login(world.client, "a1")
    answer = ok(change(world, old, PASSWORD, NEW))
    assert answer["token_type"] == "bearer"
    fresh = {"Authorization": f"Bearer {answer['access_token']}"}
    for headers in (old, other_device):
        refused(world.client.get("/api/v1/me", headers=headers), 401, "invalid_token")
    assert ok(world.client.get("/api/v1/me", headers=fresh))["username"] == "a1"
    refused(token_login(world, "a1", PASSWORD), 401, "bad_credentials")
    ok(world.client.get("/api/v1/me", headers=login(world.client, "a1", NEW)))
    # Other accounts keep their tokens.
    ok(world.get("a2", "/me"))

    rows = password_audit(world)
    assert [(r["action"], r["actor"], r["object_type"], r["after"]) for r in rows] == \
        [("account.password_change", "a1", "account", {"password": "changed"})]
    assert_no_secret(rows, NEW, PASSWORD)


def test_a_second_change_in_the_same_second_still_revokes(world: World) -> None:
    """The stamp in a token is whole seconds; the clock of the tests stands still."""
    first = ok(change(world, login(world.client, "a1"), PASSWORD, NEW))
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    ok(change(world, headers, NEW, "second-password-8"))
    refused(world.client.get("/api/v1/me", headers=headers), 401, "invalid_token")


def test_wrong_current_password_counts_towards_the_throttle(world: World) -> None:
    headers = login(world.client, "a1")
    for _ in range(5):
        body = refused(change(world, headers, "not-my-password", NEW), 403, "wrong_password")
        assert "current password" in body["detail"]
    refused(change(world, headers, PASSWORD, NEW), 429, "too_many_attempts")
    refused(token_login(world, "a1", PASSWORD), 429, "too_many_attempts")
    # Nothing changed: the token still works and the password is the old one.
    ok(world.client.get("/api/v1/me", headers=headers))
    world.clock.advance(minutes=16)
    ok(world.client.get("/api/v1/me", headers=login(world.client, "a1", PASSWORD)))
    assert password_audit(world) == []


def test_failed_logins_throttle_the_change_too(world: World) -> None:
    headers = login(world.client, "a1")
    for _ in range(5):
        refused(token_login(world, "a1", "guess-guess"), 401, "bad_credentials")
    refused(change(world, headers, PASSWORD, NEW), 429, "too_many_attempts")


@pytest.mark.parametrize(("new", "code"), [
    ("short7!", "password_too_short"),
    ("x" * 100 + "y" * 29, "password_too_long"),
    ("Farmer_Wang", "password_is_username"),
    ("88888888", "password_too_simple"),
    ("12345678", "password_too_simple"),
    ("987654321", "password_too_simple"),
    ("abcdefgh", "password_too_simple"),
    ("12121212", "password_too_simple"),
    ("123123123", "password_too_simple"),
    (PASSWORD, "password_unchanged"),
])
def test_weak_new_password_is_refused_with_its_code(world: World, new: str, code: str) -> None:
    world.add_member("farmer_wang", world.branch_a)
    headers = login(world.client, "farmer_wang")
    refused(change(world, headers, PASSWORD, new), 422, code)
    ok(world.client.get("/api/v1/me", headers=headers))  # still valid: nothing changed


def test_change_needs_both_fields_and_a_token(world: World) -> None:
    refused(world.client.post("/api/v1/auth/password",
                              json={"current_password": PASSWORD, "new_password": NEW}),
            401)
    refused(world.client.post("/api/v1/auth/password", headers=world.as_("a1"),
                              json={"new_password": NEW}), 422, "validation_error")


def test_admin_resets_with_a_generated_password(world: World) -> None:
    member_token = login(world.client, "a1")
    answer = reset(world, "admin", "a1")
    body = ok(answer)
    assert answer.headers["cache-control"] == "no-store"
    assert body["member_id"] == world.members["a1"] and body["username"] == "a1"
    generated = body["password"]
    assert re.fullmatch(r"\d{8}", generated)
    refused(world.client.get("/api/v1/me", headers=member_token), 401, "invalid_token")
    refused(token_login(world, "a1", PASSWORD), 401, "bad_credentials")
    ok(world.client.get("/api/v1/me", headers=login(world.client, "a1", generated)))

    rows = password_audit(world)
    assert [(r["action"], r["actor"], r["object_type"]) for r in rows] == \
        [("account.password_reset", "admin", "account")]
    assert rows[0]["after"] == {"member_id": world.members["a1"], "password": "reset",
                                "generated": True, "must_change_password": True}
    assert_no_secret(rows, generated)


def test_branch_committee_resets_a_member_to_a_given_password(world: World) -> None:
    body = ok(reset(world, "sec_a", "a1", {"password": NEW}))
    assert body["password"] is None
    ok(world.client.get("/api/v1/me", headers=login(world.client, "a1", NEW)))
    ok(reset(world, "party_sec", "a2"))  # a committee above the branch too
    rows = password_audit(world)
    assert [(r["actor"], r["after"]["generated"]) for r in rows] == \
        [("sec_a", False), ("party_sec", True)]
    assert_no_secret(rows, NEW)


def test_reset_given_password_follows_the_policy(world: World) -> None:
    refused(reset(world, "sec_a", "a1", {"password": "1234567"}), 422, "password_too_short")
    refused(reset(world, "sec_a", "a1", {"password": "aaaaaaaaaa"}), 422,
            "password_too_simple")
    refused(reset(world, "sec_a", "a1", {"password": NEW, "must": 1}), 422,
            "validation_error")
    ok(world.get("a1", "/me"))  # nothing changed


def test_reset_lifts_the_login_throttle(world: World) -> None:
    """A member who forgot the password and tried five times can log in once it is reset."""
    for _ in range(5):
        refused(token_login(world, "a1", "forgotten-1"), 401, "bad_credentials")
    refused(token_login(world, "a1", PASSWORD), 429, "too_many_attempts")
    generated = ok(reset(world, "sec_a", "a1"))["password"]
    ok(world.client.get("/api/v1/me", headers=login(world.client, "a1", generated)))


@pytest.mark.parametrize(("who", "member", "status", "code"), [
    ("a1", "a1", 403, "committee_only"),       # a member, even on themself
    ("a1", "a2", 404, "not_found"),            # another member: outside a member's scope
    ("b1", "a1", 404, "not_found"),
    ("sec_b", "a1", 404, "not_found"),         # another branch's committee
    ("sec_a", "sec_a", 403, "own_account"),    # one's own: POST /auth/password
    ("sec_a", "vice_a", 403, "committee_member_account"),  # a colleague of the same level
    ("sec_b", "party_sec", 403, "committee_member_account"),  # a higher committee's member
])
def test_who_may_not_reset(world: World, who: str, member: str, status: int,
                           code: str) -> None:
    token = login(world.client, member)
    refused(reset(world, who, member), status, code)
    ok(world.client.get("/api/v1/me", headers=token))  # not revoked
    assert password_audit(world) == []


def test_a_higher_committee_and_an_admin_reset_committee_members(world: World) -> None:
    ok(reset(world, "party_sec", "sec_a"))
    ok(reset(world, "admin", "vice_a"))
    ok(reset(world, "admin", "party_sec"))


def test_unknown_member(world: World) -> None:
    refused(world.post("admin", "/members/999999/password-reset"), 404, "not_found")
