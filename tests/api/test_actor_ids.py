"""Who acted, in API answers, is a member id (issue 18): an entry's created_by, decided_by,
revoked_by and a case step's by were account ids that only administrators could map to
people. Null for an account without a member (the administrator's here).

The world: branch A (sec_a, vice_a; a1..a4), branch B (sec_b; b1, party_sec), the 党委's
committee party_sec above both; the clock at 2026-01-10."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from app.main import app
from app.models import Account, Entry
from tests.api.support import World, ok

ON = "2026-01-06"


def actors(entry: dict[str, Any]) -> tuple[Any, Any, Any]:
    return entry["created_by"], entry["decided_by"], entry["revoked_by"]


def every_answer(world: World, who: str, entry_id: int) -> list[dict[str, Any]]:
    """The entry as the single read and the list answer it."""
    listed = ok(world.get(who, "/entries", limit=500))["items"]
    return [ok(world.get(who, f"/entries/{entry_id}")),
            next(e for e in listed if e["id"] == entry_id)]


def test_a_report_approved_and_revoked_names_three_members(world: World, db: Session) -> None:
    m = world.members
    made = world.entry("a1", "a1", "P01", ON)
    assert actors(made) == (m["a1"], None, None)
    approved = ok(world.post("sec_a", f"/entries/{made['id']}/approve"))
    assert actors(approved) == (m["a1"], m["sec_a"], None)
    revoked = ok(world.post("vice_a", f"/entries/{made['id']}/revoke", {"reason": "重复"}))
    assert actors(revoked) == (m["a1"], m["sec_a"], m["vice_a"])
    for who in ("a1", "sec_a", "party_sec"):
        assert [actors(e) for e in every_answer(world, who, made["id"])] == \
            [(m["a1"], m["sec_a"], m["vice_a"])] * 2, who
    # The rows keep the accounts (the audit log names them); only the answers changed.
    row = db.get(Entry, made["id"])
    assert row is not None and row.decided_by is not None
    account = db.get(Account, row.decided_by)
    assert account is not None and account.member_id == m["sec_a"]
    # In this world an account's id is not its member's: the answers above tell them apart.
    assert account.id != m["sec_a"]


def test_a_rejection_names_who_rejected(world: World) -> None:
    made = world.entry("b1", "b1", "P01", ON)
    rejected = ok(world.post("party_sec", f"/entries/{made['id']}/reject",
                             {"reason": "没有签到记录"}))
    assert actors(rejected) == (world.members["b1"], world.members["party_sec"], None)


def test_an_administrator_without_a_member_is_null(world: World) -> None:
    made = world.entry("admin", "a2", "P01", ON)
    assert made["status"] == "approved" and made["decided_at"] is not None
    assert actors(made) == (None, None, None)
    revoked = ok(world.post("admin", f"/entries/{made['id']}/revoke", {"reason": "录错"}))
    assert actors(revoked) == (None, None, None) and revoked["revoked_at"] is not None
    # A member's own report, approved by the administrator: the member stays named.
    own = world.entry("a3", "a3", "P01", ON)
    assert actors(ok(world.post("admin", f"/entries/{own['id']}/approve"))) == \
        (world.members["a3"], None, None)


def test_batch_and_register_answers_name_members(world: World) -> None:
    ids = [world.entry(m, m, "P01", ON)["id"] for m in ("a1", "a2")]
    approved = ok(world.post("vice_a", "/entries/approve", {"ids": ids}))["items"]
    assert [actors(e) for e in approved] == [
        (world.members["a1"], world.members["vice_a"], None),
        (world.members["a2"], world.members["vice_a"], None)]
    register = ok(world.post("sec_a", f"/orgs/{world.branch_a}/attendance", {
        "rule_code": "P01", "occurred_on": ON, "present": [world.members["a4"]]}), 201)
    assert [actors(e) for e in register["entries"]] == \
        [(world.members["sec_a"], world.members["sec_a"], None)]


@pytest.mark.parametrize(("schema", "field"), [
    ("EntryOut", "created_by"), ("EntryOut", "decided_by"), ("EntryOut", "revoked_by"),
    ("FileOut", "by"), ("VoteOut", "by"),
])
def test_the_openapi_document_says_member_or_null(schema: str, field: str) -> None:
    prop = app.openapi()["components"]["schemas"][schema]["properties"][field]
    assert {"type": "integer"} in prop["anyOf"] and {"type": "null"} in prop["anyOf"]
    assert "member" in prop["description"] and "null" in prop["description"]


def test_by_member_id_is_kept_deprecated() -> None:
    prop = app.openapi()["components"]["schemas"]["FileOut"]["properties"]["by_member_id"]
    assert prop.get("deprecated") is True and "`by`" in prop["description"]
