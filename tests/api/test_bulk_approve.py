"""Approving many entries at once (issue 18): POST /api/v1/entries/approve, all or nothing,
each entry as POST /api/v1/entries/{id}/approve approves it.

The world: branch A (sec_a, vice_a; a1..a4), branch B (sec_b; b1, party_sec), the 党委's
committee party_sec above both; the clock at 2026-01-10."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from app.main import app
from app.models import AuditLog, Entry
from app.services.bulk_approval import MAX_BATCH
from tests.api.support import World, ok, refused

ON = "2026-01-06"


def pending(world: World, member: str, code: str = "P01", **extra: Any) -> int:
    """An entry about `member`, pending: reported by the member (or by a committee member
    about themself)."""
    made = world.entry(member, member, code, ON, **extra)
    assert made["status"] == "pending"
    return int(made["id"])


def approve(world: World, who: str, ids: list[Any]) -> Any:
    return world.post(who, "/entries/approve", {"ids": ids})


def statuses(world: World, ids: list[int]) -> list[str]:
    return [ok(world.get("sec_a", f"/entries/{i}"))["status"] for i in ids]


def test_every_entry_is_approved_and_answered_in_order(world: World, db: Session) -> None:
    ids = [pending(world, m) for m in ("a3", "a1", "a2")]
    answer = ok(approve(world, "sec_a", ids))
    assert [e["id"] for e in answer["items"]] == ids
    assert {(e["status"], e["decided_by"]) for e in answer["items"]} == \
        {("approved", world.members["sec_a"])}
    assert statuses(world, ids) == ["approved"] * 3
    audited = db.exec(select(AuditLog.object_id).where(AuditLog.action == "entry.approved",
                                                       AuditLog.object_type == "entry")).all()
    assert set(ids) <= set(audited)
    # Counted in the members' scores as one approval each is.
    score = ok(world.get("a1", f"/members/{world.members['a1']}/score", year=2026))
    assert score["score"] > 0


def test_the_committee_above_approves_across_branches(world: World) -> None:
    ids = [pending(world, "a1"), pending(world, "b1")]
    answer = ok(approve(world, "party_sec", ids))
    assert [e["status"] for e in answer["items"]] == ["approved", "approved"]


def _own_entry(world: World) -> list[int]:
    return [pending(world, "a1"), pending(world, "sec_a"), pending(world, "a2")]


def _not_pending(world: World) -> list[int]:
    done = pending(world, "a2")
    ok(world.post("sec_a", f"/entries/{done}/approve"))
    return [pending(world, "a1"), done]


def _other_branch(world: World) -> list[int]:
    return [pending(world, "a1"), pending(world, "b1")]


def _unknown(world: World) -> list[int]:
    return [pending(world, "a1"), 2**40]


def _veto_without_note(world: World, db: Session) -> list[int]:
    """sec_a's own veto, recorded before a note was required (issue 17): blank note."""
    veto = pending(world, "sec_a", "V01", note="违反政治纪律")
    row = db.get(Entry, veto)
    assert row is not None
    row.note = ""
    db.add(row)
    db.flush()
    return [pending(world, "a1"), veto]


def _members_own(world: World) -> list[int]:
    return [pending(world, "a1")]


def _mixed(world: World) -> list[int]:
    return [*_not_pending(world), pending(world, "b1")]


@pytest.mark.parametrize(("who", "make", "status", "refusals"), [
    pytest.param("sec_a", _own_entry, 403, {1: (403, "own_entry")}, id="one-own-entry"),
    pytest.param("sec_a", _not_pending, 409, {1: (409, "not_pending")}, id="one-not-pending"),
    pytest.param("sec_a", _other_branch, 404, {1: (404, "not_found")}, id="other-branch"),
    pytest.param("sec_a", _unknown, 404, {1: (404, "not_found")}, id="no-such-entry"),
    pytest.param("vice_a", _veto_without_note, 422, {1: (422, "note_required")},
                 id="a-veto-without-a-note"),
    pytest.param("sec_a", _mixed, 404, {1: (409, "not_pending"), 2: (404, "not_found")},
                 id="the-gravest-status-answers"),
    pytest.param("a1", _members_own, 403, {0: (403, "committee_only")},
                 id="a-member-not-on-the-committee"),
])
def test_one_refusal_and_nothing_is_approved(world: World, db: Session, who: str,
                                             make: Any, status: int,
                                             refusals: dict[int, tuple[int, str]]) -> None:
    ids = make(world, db) if make is _veto_without_note else make(world)
    before = {i: db.get(Entry, i) for i in ids}
    was = {i: e.status if e else None for i, e in before.items()}
    answer = refused(approve(world, who, ids), status, "batch_refused")
    assert {(e["id"], e["status"], e["code"]) for e in answer["errors"]} == \
        {(ids[k], s, c) for k, (s, c) in refusals.items()}
    assert all(e["detail"] for e in answer["errors"])
    for entry_id in ids:
        row = db.get(Entry, entry_id)
        if row is not None:
            db.refresh(row)
        assert (row.status if row else None) == was[entry_id], entry_id
    # The same batch without the refused entries goes through (a committee member's).
    rest = [i for k, i in enumerate(ids) if k not in refusals]
    if rest:
        assert [e["status"] for e in ok(approve(world, who, rest))["items"]] == \
            ["approved"] * len(rest)


@pytest.mark.parametrize(("ids", "problem"), [
    pytest.param([1, 2, 1], "more than once", id="duplicates"),
    pytest.param(list(range(1, MAX_BATCH + 2)), "at most", id="over-the-limit"),
    pytest.param([], "at least", id="none"),
    pytest.param(["5"], "", id="a-string-id"),
    pytest.param([0], "", id="id-zero"),
    pytest.param([True], "", id="a-boolean"),
])
def test_a_bad_batch_is_invalid(world: World, ids: list[Any], problem: str) -> None:
    answer = refused(approve(world, "sec_a", ids), 422, "validation_error")
    assert problem in answer["detail"], answer


def test_the_limit_itself_is_taken(world: World) -> None:
    # 200 ids that are not there: refused entry by entry (404), not as a bad body.
    answer = refused(approve(world, "sec_a", list(range(2**40, 2**40 + MAX_BATCH))), 404,
                     "batch_refused")
    assert len(answer["errors"]) == MAX_BATCH


def test_unknown_fields_and_no_login_are_refused(world: World) -> None:
    refused(world.post("sec_a", "/entries/approve", {"ids": [1], "all": True}), 422,
            "validation_error")
    refused(world.client.post("/api/v1/entries/approve", json={"ids": [1]}), 401)


def test_the_openapi_document_lists_the_refusals() -> None:
    operation = app.openapi()["paths"]["/api/v1/entries/approve"]["post"]
    answers = operation["responses"]
    for status, code in (("403", "own_entry"), ("404", "not_found"), ("409", "not_pending"),
                         ("422", "note_required")):
        assert "batch_refused" in answers[status]["description"], status
        assert code in answers[status]["description"], status
        assert answers[status]["content"]["application/problem+json"]["schema"]["$ref"].endswith(
            "/BatchRefusedOut")
    assert "validation_error" in answers["422"]["description"]
    assert answers["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/BatchApprovedOut")
