"""Service accounts and API keys (docs/api/keys.md): an administrator creates one, scoped to an
organisation's subtree, `read` or `read-write`; its key is shown once and kept as a SHA-256
only; it can be rotated and revoked for good; it is noted when last used (at most once a
minute) and every change is audited. A key acts as its organisation's committee would,
never as an administrator, and logs in nowhere (what else it never does:
test_service_account_refusals.py)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.models import Account, ApiKey, AuditLog, ServiceAccount
from app.services.errors import WorkflowConflict
from app.services.passwords import set_password
from tests.api.support import PASSWORD, Headers, World, ok, refused
from tests.web.support import csrf_of

KEY = re.compile(r"^jfk_[a-z2-9]{8}_[A-Za-z0-9_-]{43}$")


def make(world: World, name: str = "city-platform", org: int | None = None,
         access: str = "read", note: str = "市大数据平台") -> tuple[int, str, Any]:
    """A new service account: (its id, its first key, the whole answer)."""
    answer = world.post("admin", "/service-accounts", {
        "name": name, "org_id": org or world.party, "access": access, "note": note})
    body = ok(answer, 201)
    return body["service_account"]["id"], body["api_key"]["key"], answer


def bearer(key: str) -> Headers:
    return {"Authorization": f"Bearer {key}"}


def get(world: World, key: str, path: str, **params: Any) -> Any:
    return world.client.get(f"/api/v1{path}", params=params, headers=bearer(key))


def post(world: World, key: str, path: str, json: Any = None) -> Any:
    return world.client.post(f"/api/v1{path}", json=json, headers=bearer(key))


def no_store(answer: Any) -> None:
    assert answer.headers["Cache-Control"] == "no-store", answer.headers
    assert answer.headers["Pragma"] == "no-cache", answer.headers


# --- created, shown once, kept hashed -----------------------------------------------------------


def test_the_key_is_shown_once_and_only_its_hash_is_kept(world: World, db: Session) -> None:
    account_id, key, answer = make(world)
    assert KEY.match(key), key
    no_store(answer)
    body = answer.json()
    assert body["service_account"] | {"keys": None, "created_at": None} == {
        "id": account_id, "name": "city-platform", "org_id": world.party, "org_name": "某镇党委",
        "access": "read", "note": "市大数据平台", "created_at": None, "keys": None}
    assert body["api_key"]["prefix"] == key[4:12]
    # Listed and read again: the prefix, never the key.
    for answer in (world.get("admin", "/service-accounts"),
                   world.get("admin", f"/service-accounts/{account_id}")):
        no_store(answer)
        assert key not in answer.text and key[13:] not in answer.text
        assert key[4:12] in answer.text
    # The database has no plaintext: the key's row holds its SHA-256, nothing else does.
    row = db.exec(select(ApiKey).where(ApiKey.account_id == account_id)).one()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    secret = key[13:]
    for table in ("api_key", "service_account", "account", "audit_log"):
        for values in db.execute(text(f"SELECT * FROM {table}")).all():
            assert not any(secret in str(v) for v in values), table
    # The audit log keeps no hash either.
    assert not any(row.key_hash in (a.after or "") + (a.before or "")
                   for a in db.exec(select(AuditLog)).all())


def test_me_names_the_service_account_and_its_scope(world: World) -> None:
    _, key, _ = make(world, org=world.branch_a, access="read-write")
    assert ok(get(world, key, "/me")) == {
        "username": "city-platform", "member_id": None, "is_admin": False,
        "roles": [{"org_id": world.branch_a, "role": "service"}],
        "password_change_required": False, "service": True, "access": "read-write"}
    assert ok(world.get("a1", "/me"))["service"] is False  # a person's is as it was


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "a"}, 422, "validation_error"),  # too short
    ({"name": "城市平台"}, 422, "validation_error"),  # not a username
    ({"name": "a1"}, 409, "username_taken"),  # a person's username
    ({"access": "write"}, 422, "validation_error"),
    ({"org_id": 999_999}, 404, "not_found"),
    ({"note": "two\nlines"}, 422, "validation_error"),
    ({"note": "x" * 201}, 422, "validation_error"),
    ({"extra": 1}, 422, "validation_error"),
])
def test_a_bad_service_account_is_refused_and_nothing_is_made(
        world: World, db: Session, body: dict[str, Any], status: int, code: str) -> None:
    before = db.exec(select(Account)).all()
    base = {"name": "city-platform", "org_id": world.party, "access": "read"}
    refused(world.post("admin", "/service-accounts", base | body), status, code)
    assert len(db.exec(select(Account)).all()) == len(before)
    assert db.exec(select(ServiceAccount)).all() == []


def test_the_same_name_twice_is_taken(world: World) -> None:
    make(world)
    refused(world.post("admin", "/service-accounts", {
        "name": "city-platform", "org_id": world.party, "access": "read"}), 409,
        "username_taken")


# --- administrators only ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sec_a", "party_sec", "a1", "key"])
def test_only_administrators_manage_service_accounts(world: World, who: str) -> None:
    account_id, key, _ = make(world, access="read-write")
    key_id = ok(world.get("admin", f"/service-accounts/{account_id}"))["keys"][0]["id"]
    headers = bearer(key) if who == "key" else world.as_(who)
    calls = [("post", "/service-accounts", {"name": "x2", "org_id": world.party,
                                             "access": "read"}),
             ("get", "/service-accounts", None), ("get", f"/service-accounts/{account_id}", None),
             ("post", f"/service-accounts/{account_id}/keys", None),
             ("post", f"/api-keys/{key_id}/revoke", None)]
    for method, path, body in calls:
        answer = world.client.request(method, f"/api/v1{path}", json=body, headers=headers)
        refused(answer, 403, "admin_only")
    assert ok(get(world, key, "/me"))["service"]  # the key still works: nothing was revoked


def test_unknown_service_accounts_and_keys_are_404(world: World) -> None:
    refused(world.get("admin", "/service-accounts/999999"), 404, "not_found")
    refused(world.post("admin", "/service-accounts/999999/keys"), 404, "not_found")
    refused(world.post("admin", "/api-keys/999999/revoke"), 404, "not_found")
    # A person's account is no service account: 404 too, and it gets no key.
    a1_account = ok(world.get("admin", "/audit", action="member.create",
                              object_id=world.members["a1"]))["items"]
    assert a1_account
    admin_id = a1_account[0]["actor_id"]
    refused(world.get("admin", f"/service-accounts/{admin_id}"), 404, "not_found")
    refused(world.post("admin", f"/service-accounts/{admin_id}/keys"), 404, "not_found")


# --- scope and access -----------------------------------------------------------------------------


@pytest.mark.parametrize(("scope", "path", "status"), [
    ("branch_a", "/orgs/{branch_a}", 200),
    ("branch_a", "/members/{a1}", 200),
    ("branch_a", "/members/{a1}/score", 200),
    ("branch_a", "/members/{b1}", 404),
    ("branch_a", "/members/{b1}/score", 404),
    ("branch_a", "/orgs/{branch_b}", 404),
    ("party", "/members/{b1}", 200),
    ("party", "/members/{a1}", 200),
    ("party", "/orgs/{branch_b}", 200),
])
def test_a_key_sees_its_organisations_subtree_only(world: World, scope: str, path: str,
                                                   status: int) -> None:
    _, key, _ = make(world, org=getattr(world, scope))
    ids = {"branch_a": world.branch_a, "branch_b": world.branch_b, **world.members}
    answer = get(world, key, path.format(**ids))
    assert answer.status_code == status, answer.text
    if status == 404:
        refused(answer, 404, "not_found")


def test_a_keys_lists_hold_its_subtree_only(world: World) -> None:
    _, key, _ = make(world, org=world.branch_a)
    names = {m["name"] for m in ok(get(world, key, "/members", limit=500))["items"]}
    assert names == {"sec_a", "vice_a", "a1", "a2", "a3", "a4"}


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_read_key_changes_nothing(world: World, method: str) -> None:
    _, key, _ = make(world, org=world.branch_a, access="read")
    a1 = world.members["a1"]
    paths = {"post": "/entries", "put": f"/members/{a1}/exemptions/2025",
             "patch": f"/members/{a1}", "delete": f"/members/{a1}"}
    answer = world.client.request(method, f"/api/v1{paths[method]}", headers=bearer(key),
                                  json={"member_id": a1, "rule_code": "P01",
                                        "occurred_on": "2026-01-05"})
    if method == "delete":  # no such route for anyone: 405, as for a person
        assert answer.status_code == 405
        return
    refused(answer, 403, "read_only_key")
    assert ok(get(world, key, "/entries", member_id=a1))["total"] == 0


def test_a_read_write_key_records_and_decides_as_the_committee(world: World) -> None:
    account_id, key, _ = make(world, org=world.branch_a, access="read-write")
    a1 = world.members["a1"]
    recorded = ok(post(world, key, "/entries", {
        "member_id": a1, "rule_code": "P01", "occurred_on": "2026-01-05"}), 201)
    assert recorded["status"] == "approved"  # recorded by the committee: approved at once
    pending = world.entry("a1", "a1", "P02", "2026-01-06")
    assert pending["status"] == "pending"
    decided = ok(post(world, key, f"/entries/{pending['id']}/approve"))
    assert decided["status"] == "approved"
    # Outside its subtree: as for a committee of branch A, no such member.
    refused(post(world, key, "/entries", {"member_id": world.members["b1"],
                                          "rule_code": "P01", "occurred_on": "2026-01-05"}),
            404, "not_found")
    actions = [r["action"] for r in ok(world.get("admin", "/audit", actor_id=account_id,
                                                 limit=50))["items"]]
    assert sorted(actions) == ["entry.approved", "entry.create"]


def test_a_key_is_never_an_administrator(world: World) -> None:
    _, key, _ = make(world, access="read-write")
    refused(post(world, key, "/orgs", {"name": "新支部", "kind": "branch",
                                       "parent_id": world.party}), 403, "admin_only")
    refused(get(world, key, "/audit"), 403, "admin_only")


# --- revoke, rotate, last used ---------------------------------------------------------------


def test_a_revoked_key_is_refused_for_good(world: World) -> None:
    account_id, old, _ = make(world)
    assert ok(get(world, old, "/me"))["username"] == "city-platform"
    added = world.post("admin", f"/service-accounts/{account_id}/keys")
    no_store(added)
    new = ok(added, 201)
    assert KEY.match(new["key"]) and new["key"] != old
    assert ok(get(world, new["key"], "/me"))["service"]  # both work while rotating
    old_id = ok(world.get("admin", f"/service-accounts/{account_id}"))["keys"][0]["id"]
    revoked = ok(world.post("admin", f"/api-keys/{old_id}/revoke"))
    assert revoked["revoked_at"] is not None
    refused(get(world, old, "/me"), 401, "invalid_token")
    refused(get(world, old, "/members"), 401, "invalid_token")
    refused(world.post("admin", f"/api-keys/{old_id}/revoke"), 409, "key_revoked")
    assert ok(get(world, new["key"], "/me"))["service"]  # the new one still works
    keys = ok(world.get("admin", f"/service-accounts/{account_id}"))["keys"]
    assert [(k["prefix"], k["revoked_at"] is None) for k in keys] == [
        (old[4:12], False), (new["prefix"], True)]


@pytest.mark.parametrize("credential", [
    "jfk_", "jfk_abcdefgh_short", "jfk_ABCDEFGH_" + "x" * 43, "jfk_00000000_" + "x" * 43,
    "jfk_abcdefgh_" + "x" * 43, "jfk_" + "é" * 52, "jfk_abcdefgh_" + "x" * 4000])
def test_anything_but_a_live_key_is_401(world: World, credential: str) -> None:
    # As bytes: a header is Latin-1, and é is one byte of it (a client may send any).
    sent = {"Authorization": f"Bearer {credential}".encode("latin-1")}
    refused(world.client.get("/api/v1/me", headers=sent), 401, "invalid_token")


def test_a_wrong_secret_with_a_real_prefix_is_401(world: World) -> None:
    _, key, _ = make(world)
    forged = key[:13] + ("A" if key[13] != "A" else "B") + key[14:]
    refused(get(world, forged, "/me"), 401, "invalid_token")


def test_at_most_five_keys_in_use(world: World) -> None:
    account_id, _, _ = make(world)
    for _ in range(4):
        ok(world.post("admin", f"/service-accounts/{account_id}/keys"), 201)
    refused(world.post("admin", f"/service-accounts/{account_id}/keys"), 409, "too_many_keys")


def test_last_used_is_noted_at_most_once_a_minute(world: World) -> None:
    account_id, key, _ = make(world)

    def last_used() -> str | None:
        keys = ok(world.get("admin", f"/service-accounts/{account_id}"))["keys"]
        return keys[0]["last_used_at"]  # type: ignore[no-any-return]

    assert last_used() is None
    ok(get(world, key, "/me"))
    first = last_used()
    assert first is not None and first.startswith("2026-01-10T02:00:00")
    world.clock.advance(seconds=59)
    ok(get(world, key, "/members"))
    assert last_used() == first  # not a write on every read
    world.clock.advance(seconds=1)
    ok(get(world, key, "/members"))
    assert last_used() is not None and last_used().startswith("2026-01-10T02:01:00")
    world.clock.advance(minutes=5)
    refused(post(world, key, "/entries", {}), 403, "read_only_key")
    assert last_used().startswith("2026-01-10T02:01:00")  # a refused call is not a use


def test_every_change_is_audited(world: World) -> None:
    account_id, _, _ = make(world)
    added = ok(world.post("admin", f"/service-accounts/{account_id}/keys"), 201)
    ok(world.post("admin", f"/api-keys/{added['key_id']}/revoke"))
    rows = ok(world.get("admin", "/audit", limit=10))["items"]
    mine = [(r["action"], r["object_type"], r["actor"]) for r in rows
            if r["object_type"] in ("service_account", "api_key")]
    assert sorted(mine) == sorted([
        ("service_account.create", "service_account", "admin"),
        ("api_key.create", "api_key", "admin"), ("api_key.create", "api_key", "admin"),
        ("api_key.revoke", "api_key", "admin")])
    revoke = next(r for r in rows if r["action"] == "api_key.revoke")
    assert revoke["object_id"] == added["key_id"]
    assert revoke["after"]["prefix"] == added["prefix"] and revoke["after"]["revoked_at"]


# --- no login, no password, no session --------------------------------------------------------


@pytest.mark.parametrize("password", ["!service", "", PASSWORD])
def test_a_service_account_does_not_log_in(world: World, password: str) -> None:
    make(world)
    answer = world.client.post("/api/v1/auth/token",
                               data={"username": "city-platform", "password": password})
    if password:
        refused(answer, 401, "bad_credentials")
    else:
        refused(answer, 422, "validation_error")
    world.client.cookies.clear()
    page = world.client.post("/login", data={
        "username": "city-platform", "password": password or "x",
        "csrf_token": csrf_of(world.client)}, follow_redirects=False)
    assert page.status_code == 401


def test_set_password_is_refused_for_a_service_account(world: World, db: Session) -> None:
    make(world)
    with pytest.raises(WorkflowConflict) as refusal:
        set_password(db, "city-platform", "plum-blossom-77", world.clock.now())
    assert refusal.value.code == "service_account"


@pytest.mark.parametrize(("path", "body"), [
    ("/auth/password", {"current_password": "!service", "new_password": "plum-blossom-77"}),
    ("/auth/logout", None), ("/auth/logout-everywhere", None)])
def test_a_key_has_no_password_and_no_session(world: World, path: str,
                                              body: dict[str, str] | None) -> None:
    _, key, _ = make(world, access="read-write")
    refused(post(world, key, path, body), 403, "service_account")
    assert ok(get(world, key, "/me"))["service"]
