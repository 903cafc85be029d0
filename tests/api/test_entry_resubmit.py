"""A rejected self-report corrected and sent again (issue 17): POST /entries/{id}/resubmit
makes a new pending entry naming the rejected one, which stays as it was; once per rejected
entry, by its member only, checked as any new entry of theirs."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Account, AuditLog, Entry, EvidencePhoto
from app.services.integrity import run_checks
from tests.api.support import NO_NOTICE, World, ok, refused

DAY = "2026-01-05"
NOTE = "1月5日在活动室参加集中学习"
REASON = "当天没有集中学习，请核对日期"


def rejected(world: World, member: str = "a1", code: str = "P01", on: str = DAY,
             decider: str = "sec_a", **extra: Any) -> dict[str, Any]:
    """A self-report of `member`, rejected by `decider` with REASON."""
    entry = world.entry(member, member, code, on, **{"note": NOTE, **extra})
    assert entry["status"] == "pending"
    done = ok(world.post(decider, f"/entries/{entry['id']}/reject", {"reason": REASON}))
    assert done["status"] == "rejected"
    return done


def resubmit(world: World, who: str, entry_id: int, body: dict[str, Any] | None = None) -> Any:
    return world.post(who, f"/entries/{entry_id}/resubmit", {} if body is None else body)


def entry_count(db: Session) -> int:
    return len(db.exec(select(Entry)).all())


def test_the_member_resubmits_a_rejected_entry_and_both_name_each_other(world: World,
                                                                       db: Session) -> None:
    old = rejected(world, quantity=2)
    new = ok(resubmit(world, "a1", old["id"], {"occurred_on": "2026-01-06",
                                               "note": "1月6日参加集中学习（改正日期）"}), 201)
    # The new entry: pending, the rejected one's item and quantity, the corrected date and
    # note, and the link back.
    assert new["id"] != old["id"]
    assert (new["status"], new["rule_code"], new["quantity"], new["points"]) == (
        "pending", "P01", 2, 4)
    assert (new["occurred_on"], new["note"]) == ("2026-01-06", "1月6日参加集中学习（改正日期）")
    assert (new["resubmits"], new["resubmitted_by"]) == (old["id"], None)
    assert (new["decided_by"], new["reason"]) == (None, None)
    # The rejected one is as it was, with its reason, and names the new one.
    again = ok(world.get("a1", f"/entries/{old['id']}"))
    assert again == old | {"resubmitted_by": new["id"]}
    assert again["reason"] == REASON and again["status"] == "rejected"
    # The committee sees the same links, in the list too.
    listed = {e["id"]: e for e in ok(world.get("sec_a", "/entries",
                                               member_id=world.members["a1"]))["items"]}
    assert listed[old["id"]]["resubmitted_by"] == new["id"]
    assert listed[new["id"]]["resubmits"] == old["id"]
    # The creation is audited, with the link.
    row = db.exec(select(AuditLog).where(AuditLog.object_type == "entry",
                                         AuditLog.object_id == new["id"])).one()
    assert row.action == "entry.create" and json.loads(row.after or "")["resubmits_id"] == old["id"]
    # The committee decides it as any pending entry.
    assert ok(world.post("sec_a", f"/entries/{new['id']}/approve"))["status"] == "approved"


def test_left_out_fields_keep_the_rejected_entrys_values(world: World) -> None:
    old = rejected(world, code="B01", points=3)
    same = ok(resubmit(world, "a1", old["id"]), 201)
    for field in ("rule_code", "occurred_on", "quantity", "points", "note", "kind"):
        assert same[field] == old[field], field
    # A new item does not inherit the old item's amount: P01's default quantity is 1.
    old = rejected(world, code="B01", points=5)
    other = ok(resubmit(world, "a1", old["id"], {"rule_code": "P01", "note": ""}), 201)
    assert (other["rule_code"], other["quantity"], other["points"], other["note"]) == (
        "P01", 1, 2, "")


def test_a_committee_members_own_rejected_entry_is_resubmitted_pending(world: World) -> None:
    """Recorded about themself, it waited for another committee member, who rejected it;
    resubmitted by them it waits again."""
    old = rejected(world, member="sec_a", code="P03", decider="vice_a")
    new = ok(resubmit(world, "sec_a", old["id"]), 201)
    assert (new["status"], new["resubmits"]) == ("pending", old["id"])
    refused(world.post("sec_a", f"/entries/{new['id']}/approve"), 403, "own_entry")


# (case id, who, the entry's state, answer status, code)
WHO_AND_WHAT = [
    ("owner-rejected", "a1", "rejected", 201, None),
    ("other-member-same-branch", "a2", "rejected", 404, None),
    ("member-of-another-branch", "b1", "rejected", 404, None),
    ("branch-committee", "sec_a", "rejected", 403, "not_own_entry"),
    ("other-branch-committee", "sec_b", "rejected", 404, None),
    ("committee-above", "party_sec", "rejected", 403, "not_own_entry"),
    ("admin", "admin", "rejected", 403, "not_own_entry"),
    ("owner-pending", "a1", "pending", 409, "not_rejected"),
    ("owner-approved", "a1", "approved", 409, "not_rejected"),
    ("owner-revoked", "a1", "revoked", 409, "not_rejected"),
    ("committee-approved", "sec_a", "approved", 403, "not_own_entry"),
]


@pytest.mark.parametrize(("who", "state", "status", "code"),
                         [pytest.param(*c[1:], id=c[0]) for c in WHO_AND_WHAT])
def test_only_the_member_and_only_a_rejected_entry(world: World, db: Session, who: str,
                                                   state: str, status: int,
                                                   code: str | None) -> None:
    entry = world.entry("a1", "a1", "P01", DAY, note=NOTE)
    if state == "rejected":
        entry = ok(world.post("sec_a", f"/entries/{entry['id']}/reject", {"reason": REASON}))
    elif state in ("approved", "revoked"):
        entry = ok(world.post("sec_a", f"/entries/{entry['id']}/approve"))
        if state == "revoked":
            entry = ok(world.post("sec_a", f"/entries/{entry['id']}/revoke",
                                  {"reason": "重复申报"}))
    before = entry_count(db)
    answer = resubmit(world, who, entry["id"], {"note": "改正后的说明"})
    if status == 201:
        assert ok(answer, 201)["resubmits"] == entry["id"]
        assert entry_count(db) == before + 1
        return
    body = refused(answer, status, code)
    if status == 404:
        # As for an entry that does not exist: nothing to learn about someone else's.
        unknown = refused(resubmit(world, who, 10**9), 404)
        assert body["detail"] == unknown["detail"].replace(str(10**9), str(entry["id"]))
    assert entry_count(db) == before
    assert ok(world.get("a1", f"/entries/{entry['id']}")) == entry | {"resubmitted_by": None}


def test_a_rejected_entry_is_resubmitted_once_and_the_new_one_may_be_again(
        world: World, db: Session) -> None:
    old = rejected(world)
    first = ok(resubmit(world, "a1", old["id"]), 201)
    before = entry_count(db)
    body = refused(resubmit(world, "a1", old["id"], {"note": "再交一次"}), 409,
                   "already_resubmitted")
    assert str(first["id"]) in body["detail"]
    assert entry_count(db) == before
    # The resubmission rejected in its turn is resubmitted in its turn: a chain, each once.
    ok(world.post("sec_a", f"/entries/{first['id']}/reject", {"reason": "仍然不对"}))
    second = ok(resubmit(world, "a1", first["id"], {"occurred_on": "2026-01-07"}), 201)
    assert second["resubmits"] == first["id"]
    assert ok(world.get("a1", f"/entries/{first['id']}"))["resubmitted_by"] == second["id"]
    assert ok(world.get("a1", f"/entries/{old['id']}"))["resubmitted_by"] == first["id"]


def test_a_quarter_confirmed_since_closes_the_claim(world: World, db: Session) -> None:
    """Rejected in 2025 Q1, whose review was then confirmed: it is not sent again, neither
    with its date nor moved to a date in an open quarter (which would take it out of the
    quarter the committee confirmed; the member's page says so instead of offering the
    form). The rejected entry stays where it was."""
    old = rejected(world, on="2025-02-10")
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    before = entry_count(db)
    refused(resubmit(world, "a1", old["id"]), 409, "quarter_locked")
    refused(resubmit(world, "a1", old["id"], {"occurred_on": "2025-03-31"}), 409,
            "quarter_locked")
    refused(resubmit(world, "a1", old["id"], {"occurred_on": "2025-04-02"}), 409,
            "quarter_locked")
    assert entry_count(db) == before
    assert ok(world.get("a1", f"/entries/{old['id']}"))["resubmitted_by"] is None


# (case id, body, status, code): nothing is created, and the entry may still be resubmitted.
BAD_BODIES = [
    ("unknown-field", {"colour": "red"}, 422, "validation_error"),
    ("member-id-is-not-a-field", {"member_id": 1}, 422, "validation_error"),
    ("quantity-zero", {"quantity": 0}, 422, "validation_error"),
    ("quantity-text", {"quantity": "2"}, 422, "validation_error"),
    ("lower-case-code", {"rule_code": "p01"}, 422, "validation_error"),
    ("not-a-date", {"occurred_on": "昨天"}, 422, "validation_error"),
    ("note-too-long", {"note": "长" * 1001}, 422, "validation_error"),
    ("not-an-object", [], 422, "validation_error"),
    ("future-date", {"occurred_on": "2026-01-11"}, 422, "future_date"),
    ("before-joined", {"occurred_on": "2009-12-31"}, 422, "before_joined"),
    ("unknown-rule", {"rule_code": "P99"}, 422, "unknown_rule"),
    ("points-for-a-quantity-item", {"points": 3}, 422, "points_not_allowed"),
    ("quantity-over", {"quantity": 101}, 422, "validation_error"),
    ("chosen-item-without-points", {"rule_code": "B01"}, 422, "points_required"),
    ("deduction-by-a-member", {"rule_code": "N01"}, 403, "self_report_kind"),
    ("someone-elses-photo", {"evidence": "evidence/2026/01/x.jpg"}, 422, "evidence_unknown"),
    ("control-character", {"note": "学习\x07"}, 422, None),
]


@pytest.mark.parametrize(("body", "status", "code"),
                         [pytest.param(*c[1:], id=c[0]) for c in BAD_BODIES])
def test_a_bad_body_is_refused_and_loses_nothing(world: World, db: Session, body: Any,
                                                 status: int, code: str | None) -> None:
    old = rejected(world)
    before = entry_count(db)
    refused(world.post("a1", f"/entries/{old['id']}/resubmit", body), status, code)
    assert entry_count(db) == before
    assert ok(world.get("a1", f"/entries/{old['id']}"))["resubmitted_by"] is None
    ok(resubmit(world, "a1", old["id"]), 201)


@pytest.mark.parametrize("entry_id", ["0", "-1", "abc", str(2**63)])
def test_an_id_that_is_no_id_is_422(world: World, entry_id: str) -> None:
    refused(world.post("a1", f"/entries/{entry_id}/resubmit", {}), 422)


def test_an_unknown_entry_is_404(world: World) -> None:
    refused(resubmit(world, "a1", 987654), 404)


def add_photo(db: Session, world: World, member: str, path: str) -> str:
    account = db.exec(select(Account).where(Account.username == member)).one()
    db.add(EvidencePhoto(path=path, member_id=world.members[member],
                         uploaded_by=account.id or 0, uploaded_at=world.clock.now()))
    db.flush()
    return path


def test_the_photo_is_kept_replaced_or_left_out(world: World, db: Session) -> None:
    first = add_photo(db, world, "a1", "evidence/2026/01/first.jpg")
    second = add_photo(db, world, "a1", "evidence/2026/01/second.jpg")
    kept = ok(resubmit(world, "a1", rejected(world, evidence=first)["id"]), 201)
    assert kept["evidence"] == first
    replaced = ok(resubmit(world, "a1", rejected(world, evidence=first)["id"],
                           {"evidence": second}), 201)
    assert replaced["evidence"] == second
    for none in (None, ""):
        dropped = ok(resubmit(world, "a1", rejected(world, evidence=first)["id"],
                              {"evidence": none}), 201)
        assert dropped["evidence"] is None
    # Another member's photo is not taken (as for any new entry).
    theirs = add_photo(db, world, "a2", "evidence/2026/01/a2.jpg")
    refused(resubmit(world, "a1", rejected(world)["id"], {"evidence": theirs}), 422,
            "evidence_unknown")


def test_the_schema_documents_the_codes(world: World) -> None:
    schema = world.client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/entries/{entry_id}/resubmit"]["post"]
    responses = operation["responses"]
    assert "201" in responses
    assert "`not_own_entry`" in responses["403"]["description"]
    for code in ("not_rejected", "already_resubmitted", "quarter_locked"):
        assert f"`{code}`" in responses["409"]["description"], code
    assert "`future_date`" in responses["422"]["description"]
    entry = schema["components"]["schemas"]["EntryOut"]["properties"]
    assert {"resubmits", "resubmitted_by"} <= entry.keys()


def test_jifen_check_verifies_the_links(world: World, db: Session) -> None:
    """A soft reference (no foreign key): `jifen check` names a link the app would not
    write, made behind its back."""
    old = rejected(world)
    new = ok(resubmit(world, "a1", old["id"]), 201)
    approved = world.entry("sec_a", "a2", "P01", DAY)
    assert not [p for p in run_checks(db, world.clock.now()).problems if p.check == "entry"]
    other = world.entry("a1", "a1", "P03", DAY)
    for entry_id, named in ((other["id"], old["id"]), (approved["id"], 10**9)):
        db.execute(sa.update(Entry).where(col(Entry.id) == entry_id)
                   .values(resubmits_id=named))
    db.execute(sa.update(Entry).where(col(Entry.id) == new["id"])
               .values(resubmits_id=approved["id"]))
    found = sorted((p.object_id, p.message) for p in run_checks(db, world.clock.now()).problems
                   if p.check == "entry")
    assert found == sorted([
        (new["id"], f"entry {new['id']} resubmits entry {approved['id']}, which is approved, "
                    "or of another member, not a rejected entry of its member."),
        (approved["id"], f"entry {approved['id']} resubmits entry {10**9}, which names no "
                         "entry."),
    ]), found
    db.execute(sa.update(Entry).where(col(Entry.id) == new["id"]).values(resubmits_id=old["id"]))
    twice = [p.message for p in run_checks(db, world.clock.now()).problems if p.check == "entry"]
    assert f"entry {old['id']} is resubmitted by 2 entries, not once." in twice
