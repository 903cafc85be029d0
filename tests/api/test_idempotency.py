"""Idempotency-Key on the POSTs of /api/v1 (issue 18, part 3; docs/api/retries.md): the same
key and request within 24 hours answer the first answer again and create nothing; another
request with the key is 422; a key whose request still runs is 409; a refusal is kept, a 5xx
or a refusal that asks to try again is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from app.api.idempotency import BodyDigest, caller_of
from app.models import AuditLog, Entry, IdempotencyRecord, Member, MemberSuspension, Org
from app.security import issue_token
from app.services import idempotency, members
from tests.api.support import PASSWORD, World, login, ok, refused
from tests.api.test_entry_import import sheet_csv
from tests.api.test_member_import import csv_bytes

REPLAYED = "idempotent-replayed"


def count(db: Session, model: type[SQLModel]) -> int:
    return int(db.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def records(db: Session) -> list[IdempotencyRecord]:
    return list(db.exec(sa.select(IdempotencyRecord)).scalars())  # type: ignore[call-overload]


def post(world: World, who: str, path: str, body: Any = None, key: str | None = "key-1",
         **kwargs: Any) -> Any:
    headers = world.as_(who) | ({"Idempotency-Key": key} if key is not None else {})
    return world.client.post(f"/api/v1{path}", json=body, headers=headers, **kwargs)


def _new_member(world: World) -> tuple[str, str, dict[str, Any], type[SQLModel]]:
    return ("admin", "/members", {"name": "新人", "org_id": world.branch_a,
                                  "category": "active", "joined_on": "2010-07-01",
                                  "username": "newbie", "password": PASSWORD}, Member)


def _entry(world: World) -> tuple[str, str, dict[str, Any], type[SQLModel]]:
    return ("sec_a", "/entries", {"member_id": world.members["a1"], "rule_code": "P01",
                                  "occurred_on": "2025-05-06"}, Entry)


def _org(world: World) -> tuple[str, str, dict[str, Any], type[SQLModel]]:
    return ("admin", "/orgs", {"name": "第三支部", "parent_id": world.party, "kind": "branch"},
            Org)


def _suspension(world: World) -> tuple[str, str, dict[str, Any], type[SQLModel]]:
    return ("sec_a", f"/members/{world.members['a2']}/suspensions",
            {"kind": "party_probation", "starts_on": "2025-06-01"}, MemberSuspension)


def _approval(world: World) -> tuple[str, str, dict[str, Any] | None, type[SQLModel]]:
    """A POST without a body: approving a pending entry (a1's own report)."""
    entry = world.entry("a1", "a1", "P01", "2025-05-06")
    return "sec_a", f"/entries/{entry['id']}/approve", None, AuditLog


CREATES = {"member": _new_member, "entry": _entry, "org": _org, "suspension": _suspension,
           "no_body": _approval}


@pytest.mark.parametrize("what", CREATES)
def test_the_same_key_and_request_answers_the_first_answer_and_creates_nothing(
        world: World, db: Session, what: str) -> None:
    who, path, body, model = CREATES[what](world)
    before = count(db, model)
    first = post(world, who, path, body)
    assert first.status_code in (200, 201), first.text
    assert REPLAYED not in first.headers
    made = count(db, model)
    assert made > before
    for _ in range(2):
        again = post(world, who, path, body)
        assert again.status_code == first.status_code
        assert again.content == first.content
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.headers[REPLAYED] == "true"
    assert count(db, model) == made
    [record] = records(db)
    assert record.status == first.status_code and record.created_at == world.clock.now()


@pytest.mark.parametrize("other", ["body", "path", "media_type"])
def test_the_same_key_with_another_request_is_422(world: World, db: Session,
                                                  other: str) -> None:
    who, path, body, _ = _entry(world)
    ok(post(world, who, path, body), 201)
    entries = count(db, Entry)
    if other == "body":
        again = post(world, who, path, body | {"occurred_on": "2025-05-07"})
    elif other == "path":
        again = post(world, who, f"/members/{world.members['a2']}/suspensions",
                     {"kind": "party_probation", "starts_on": "2025-06-01"})
    else:
        again = world.client.post(f"/api/v1{path}", data=body,
                                  headers=world.as_(who) | {"Idempotency-Key": "key-1"})
    refused(again, 422, "idempotency_key_reused")
    assert count(db, Entry) == entries and count(db, MemberSuspension) == 0


def test_the_same_key_with_another_query_is_422(world: World) -> None:
    # The query is part of the request: a dry run and the real import are two requests.
    rules = world.client.get("/api/v1/rules/2026/export.yaml", headers=world.as_("admin"))
    assert rules.status_code == 200
    headers = world.as_("admin") | {"Idempotency-Key": "key-1",
                                    "Content-Type": "application/yaml"}
    dry = world.client.post("/api/v1/rules/2026/import", params={"dry_run": "true"},
                            content=rules.content, headers=headers)
    assert dry.status_code == 200, dry.text
    again = world.client.post("/api/v1/rules/2026/import", params={"dry_run": "false"},
                              content=rules.content, headers=headers)
    refused(again, 422, "idempotency_key_reused")


def test_a_key_whose_request_still_runs_is_409_until_it_is_answered(world: World,
                                                                    db: Session) -> None:
    who, path, body, _ = _entry(world)
    first = ok(post(world, who, path, body), 201)
    entries = count(db, Entry)
    [record] = records(db)
    # As if its request were still running: the claim held, no answer yet.
    record.status, record.body, record.claimed_at = None, b"", world.clock.now()
    db.add(record)
    db.commit()
    held = post(world, who, path, body)
    refused(held, 409, "idempotency_in_progress")
    assert held.headers["retry-after"] == "2"
    # Another request with the key is refused as such even while it runs.
    refused(post(world, who, path, body | {"quantity": 2}), 422, "idempotency_key_reused")
    assert count(db, Entry) == entries
    # A claim held past its lease was left by a request that died, its work rolled back
    # with it: the next request with the key runs, and its answer is kept.
    world.clock.advance(seconds=idempotency.LEASE.total_seconds() + 1)
    taken = post(world, who, path, body)
    assert ok(taken, 201)["id"] != first["id"] and REPLAYED not in taken.headers
    assert count(db, Entry) == entries + 1
    assert post(world, who, path, body).headers[REPLAYED] == "true"


def test_a_key_expires_after_24_hours(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    ok(post(world, who, path, body), 201)
    world.clock.advance(hours=23, minutes=59)
    assert post(world, who, path, body).headers[REPLAYED] == "true"
    entries = count(db, Entry)
    world.clock.advance(minutes=1)
    again = post(world, who, path, body | {"quantity": 2})  # another request, same key: new
    assert ok(again, 201)["quantity"] == 2 and REPLAYED not in again.headers
    assert count(db, Entry) == entries + 1
    assert [r.created_at for r in records(db)] == [world.clock.now()]


def test_expired_keys_are_pruned_by_later_ones(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    for key in ("old-1", "old-2"):
        ok(post(world, who, path, body, key=key), 201)
    world.clock.advance(hours=25)
    ok(post(world, who, path, body, key="new"), 201)
    assert [r.client_key for r in records(db)] == ["new"]
    world.clock.advance(hours=25)
    assert idempotency.prune(db, world.clock.now()) == 1 and records(db) == []


def test_different_callers_with_the_same_key_are_apart(world: World, db: Session) -> None:
    _, path, body, _ = _entry(world)
    entries = count(db, Entry)
    first = ok(post(world, "sec_a", path, body), 201)
    second = post(world, "vice_a", path, body)
    assert ok(second, 201)["id"] != first["id"] and REPLAYED not in second.headers
    assert count(db, Entry) == entries + 2
    callers = [r.caller for r in records(db)]
    assert len(set(callers)) == 2 and all(c.startswith("account:") for c in callers)


def test_the_same_caller_keeps_its_keys_across_logins(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    first = ok(post(world, who, path, body), 201)
    entries = count(db, Entry)
    fresh = login(world.client, who)  # another token of the same account
    again = world.client.post(f"/api/v1{path}", json=body,
                              headers=fresh | {"Idempotency-Key": "key-1"})
    assert again.json() == first and again.headers[REPLAYED] == "true"
    assert count(db, Entry) == entries


def test_a_refusal_is_kept_and_answered_again(world: World, db: Session) -> None:
    _, path, _, _ = _approval(world)
    ok(post(world, "sec_a", path, key=None))  # approved once, without a key
    audits = count(db, AuditLog)
    first = post(world, "sec_a", path)
    refused(first, 409, "not_pending")
    again = post(world, "sec_a", path)
    assert again.status_code == 409 and again.json() == first.json()
    assert again.headers[REPLAYED] == "true"
    assert count(db, AuditLog) == audits and records(db)[0].status == 409


def test_a_body_the_route_refuses_is_kept_too(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    bad = body | {"occurred_on": "not a date"}
    first = post(world, who, path, bad)
    refused(first, 422, "validation_error")
    again = post(world, who, path, bad)
    assert again.json() == first.json() and again.headers[REPLAYED] == "true"


def test_a_refusal_that_asks_to_try_again_is_not_kept(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    ended = world.as_(who)
    assert world.client.post("/api/v1/auth/logout", headers=ended).status_code == 204
    gone = world.client.post(f"/api/v1{path}", json=body,
                             headers=ended | {"Idempotency-Key": "key-1"})
    refused(gone, 401)
    assert records(db) == []
    world.headers.pop(who)  # logs in again: the same account, so the same key
    assert REPLAYED not in ok(post(world, who, path, body), 201)


def test_a_5xx_is_not_kept(world: World, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    who, path, body, _ = _new_member(world)
    create = members.create_member
    calls: list[int] = []

    def fails_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the disk is full")
        return create(*args, **kwargs)

    monkeypatch.setattr(members, "create_member", fails_once)
    before = count(db, Member)
    assert post(world, who, path, body).status_code == 500
    assert records(db) == [] and count(db, Member) == before
    retried = post(world, who, path, body)
    assert ok(retried, 201)["username"] == "newbie" and REPLAYED not in retried.headers
    assert count(db, Member) == before + 1 and records(db)[0].status == 201


def test_an_answer_holding_a_secret_is_not_kept(world: World, db: Session) -> None:
    path = f"/members/{world.members['a1']}/password-reset"
    first = ok(post(world, "sec_a", path))
    again = post(world, "sec_a", path)
    assert ok(again)["password"] != first["password"] and REPLAYED not in again.headers
    assert records(db) == []  # no password is kept in the table


def test_without_credentials_the_key_is_not_used(world: World, db: Session) -> None:
    form = {"username": "a1", "password": PASSWORD}
    tokens = [ok(world.client.post("/api/v1/auth/token", data=form,
                                   headers={"Idempotency-Key": "key-1"}))["access_token"]
              for _ in range(2)]
    assert tokens[0] != tokens[1] and records(db) == []


def test_without_the_header_nothing_changes(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    entries = count(db, Entry)
    answers = [post(world, who, path, body, key=None) for _ in range(2)]
    assert ok(answers[0], 201)["id"] != ok(answers[1], 201)["id"]
    assert all(REPLAYED not in a.headers for a in answers)
    assert count(db, Entry) == entries + 2 and records(db) == []


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_bad_key_is_422_and_does_nothing(world: World, db: Session, key: str) -> None:
    who, path, body, _ = _entry(world)
    entries = count(db, Entry)
    answer = post(world, who, path, body, key=key)
    refused(answer, 422, "validation_error")
    assert "Idempotency-Key" in answer.text
    assert count(db, Entry) == entries and records(db) == []


def test_the_longest_key_is_taken(world: World, db: Session) -> None:
    who, path, body, _ = _entry(world)
    ok(post(world, who, path, body, key="k" * 255), 201)
    assert post(world, who, path, body, key="k" * 255).headers[REPLAYED] == "true"


def _upload(world: World, data: bytes, key: str = "key-1", **form: str) -> Any:
    return world.client.post("/api/v1/entries/import", files={"file": ("sheet.csv", data)},
                             data={"year": "2025"} | form,
                             headers=world.as_("sec_a") | {"Idempotency-Key": key})


def test_a_multipart_import_with_a_key(world: World, db: Session) -> None:
    data = sheet_csv(["a1", "", "", "2025-05-06", "N02", "", "", "缺学"],
                     ["a2", "", "", "2025-05-07", "P01", "2", "", ""])
    entries = count(db, Entry)
    first = _upload(world, data)
    assert ok(first, 201)["created"] == 2
    # Sent again (its multipart boundary another, as every client makes a new one).
    again = _upload(world, data)
    assert again.status_code == 201 and again.content == first.content
    assert again.headers[REPLAYED] == "true"
    assert count(db, Entry) == entries + 2 and len(records(db)) == 1
    other = sheet_csv(["a1", "", "", "2025-05-08", "P01", "", "", ""])
    refused(_upload(world, other), 422, "idempotency_key_reused")
    refused(_upload(world, data, dry_run="true"), 422, "idempotency_key_reused")
    # A new key for the same rows: the import's own replay answers (import receipts).
    receipt = _upload(world, data, key="key-2")
    assert receipt.json() == first.json() and receipt.headers[REPLAYED] == "true"
    assert count(db, Entry) == entries + 2


def test_a_member_import_with_passwords_is_answered_by_its_receipt(world: World,
                                                                   db: Session) -> None:
    data = csv_bytes([["新甲", "第一支部", "在职", "2010-07-01", "xinjia", ""]])
    send = {"files": {"file": ("m.csv", data, "text/csv")},
            "headers": world.as_("admin") | {"Idempotency-Key": "key-1"}}
    first = world.client.post("/api/v1/members/import", **send)
    assert ok(first, 201)["members"][0]["password"]
    again = world.client.post("/api/v1/members/import", **send)
    assert again.headers[REPLAYED] == "true" and again.json()["created"] == 1
    assert again.json()["members"][0]["password"] is None  # kept nowhere, also not here
    assert records(db) == []


def _digest(body: bytes, content_type: str, chunks: int = 1) -> str:
    scope = {"method": "POST", "path": "/api/v1/x", "query_string": b"",
             "headers": [(b"content-type", content_type.encode())]}
    digest = BodyDigest(scope)
    size = max(1, len(body) // chunks)
    parts = [body[i:i + size] for i in range(0, len(body), size)] or [b""]
    for i, part in enumerate(parts):
        digest.update(part, more=i < len(parts) - 1)
    return digest.hexdigest()


def _form(boundary: str, value: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{value}\r\n"
            f"--{boundary}--\r\n").encode()


def test_a_forms_digest_does_not_depend_on_its_boundary_or_its_chunks() -> None:
    one = _digest(_form("b0b0b0", "值"), "multipart/form-data; boundary=b0b0b0")
    for boundary in ("b0b0b0", "XYZ123456789", '"quoted-1"'):
        bare = boundary.strip('"')
        for chunks in (1, 3, 7, 50):
            assert _digest(_form(bare, "值"), f"multipart/form-data; boundary={boundary}",
                           chunks) == one
    assert _digest(_form("b0b0b0", "另"), "multipart/form-data; boundary=b0b0b0") != one
    json_body = b'{"a": 1}'
    assert _digest(json_body, "application/json") == _digest(json_body, "application/json", 3)
    assert _digest(json_body, "application/json") != _digest(json_body, "text/plain")


def test_the_caller_of_a_key() -> None:
    now = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
    token = issue_token(7, now - timedelta(days=1), 0, now)
    assert caller_of(f"Bearer {token}", now) == "account:7"
    assert caller_of(f"bearer  {token}", now) == "account:7"
    key = caller_of("Bearer jfk_abcd_secret1", now)
    assert key is not None and key.startswith("credential:")
    assert caller_of("Bearer jfk_abcd_secret1", now) == key
    assert caller_of("Bearer jfk_abcd_secret2", now) != key  # the same prefix, not the same
    assert caller_of(None, now) is None and caller_of(" ", now) is None
    expired = issue_token(7, now - timedelta(days=3), 0, now - timedelta(days=2))
    assert caller_of(f"Bearer {expired}", now) is None
    forged = ".".join([*token.split(".")[:2], "bm90LXRoZS1zaWduYXR1cmU"])
    assert caller_of(f"Bearer {forged}", now) is None


def test_openapi_documents_the_key_on_every_post() -> None:
    from app.main import app

    missing = []
    for path, item in app.openapi()["paths"].items():
        op = item.get("post")
        if not path.startswith("/api/v1/") or op is None:
            continue
        params = {p["name"]: p for p in op.get("parameters", [])}
        success = next(s for s in op["responses"] if s.startswith("2"))
        if not ("Idempotency-Key" in params and params["Idempotency-Key"]["in"] == "header"
                and "idempotency_in_progress" in op["responses"]["409"]["description"]
                and "idempotency_key_reused" in op["responses"]["422"]["description"]
                and "Idempotent-Replayed" in op["responses"][success].get("headers", {})):
            missing.append(path)
    assert not missing, missing


def test_records_are_apart_per_caller_and_key(db: Session) -> None:
    """The unique key the race is decided by."""
    names = {tuple(c.name for c in u.columns) for u in IdempotencyRecord.__table__.constraints
             if isinstance(u, sa.UniqueConstraint)}
    assert names == {("caller", "client_key")}


@pytest.mark.parametrize("ended", ["logged-out token", "revoked key"])
def test_a_credential_refused_since_gets_no_answer_again(world: World, ended: str) -> None:
    if ended == "revoked key":
        body = ok(world.post("admin", "/service-accounts", {
            "name": "city-platform", "org_id": world.party, "access": "read-write"}), 201)
        headers = {"Authorization": f"Bearer {body['api_key']['key']}"}
    else:
        headers = world.as_("sec_a")
    _, path, entry, _ = _entry(world)
    first = world.client.post(f"/api/v1{path}", json=entry,
                              headers=headers | {"Idempotency-Key": "key-1"})
    assert first.status_code == 201, first.text
    if ended == "revoked key":
        ok(world.post("admin", f"/api-keys/{body['api_key']['key_id']}/revoke"))
    else:
        assert world.client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    again = world.client.post(f"/api/v1{path}", json=entry,
                              headers=headers | {"Idempotency-Key": "key-1"})
    refused(again, 401, "invalid_token")
    assert "Idempotent-Replayed" not in again.headers
