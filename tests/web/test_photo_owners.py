"""An entry's evidence is a photo stored for its own member, never a path anyone types in
(issue 14, part 6: a member set the API's `evidence` to another branch's photo path, and
/evidence/{id} then served that photo to them).

a1 (branch A) stores a photo through the self-report page; the API's `evidence` then takes
that path for a1's entries only, whoever records them, and refuses it, as it refuses any
other text, for everyone else's, with one answer for both."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Account, Entry, EvidencePhoto
from app.services.evidence import new_photo_path
from tests.api.support import World, ok, refused
from tests.web.support import web_login
from tests.web.test_member import entries_of, jpeg, report, uploads

__all__ = ["uploads"]  # the fixture, used by name below


def a1_photo(world: World, client: TestClient, db: Session) -> tuple[int, str]:
    """a1's self-report with a photo, through the page: the entry's id and the photo's path."""
    answer = report(client, web_login(client, "a1"),
                    photo=("IMG_0001.jpg", jpeg(64, 48), "image/jpeg"))
    assert answer.status_code == 303
    [entry] = entries_of(db, world, "a1")
    assert entry.id is not None and entry.evidence
    photo = db.get(EvidencePhoto, entry.evidence)
    assert photo is not None and photo.member_id == world.members["a1"]
    return entry.id, entry.evidence


def body(world: World, member: str, evidence: str | None) -> dict[str, object]:
    return {"member_id": world.members[member], "rule_code": "P01",
            "occurred_on": "2026-01-06", "evidence": evidence}


@pytest.mark.parametrize(
    ("who", "member"),
    [
        pytest.param("b1", "b1", id="member-of-another-branch-for-themself"),
        pytest.param("sec_b", "b1", id="that-branchs-committee"),
        pytest.param("a2", "a2", id="member-of-the-same-branch"),
        pytest.param("sec_a", "a2", id="the-committee-for-another-member"),
        pytest.param("admin", "b1", id="the-administrator-for-another-member"),
    ],
)
def test_nobody_can_attach_another_members_photo(
        world: World, client: TestClient, db: Session, uploads: Path,
        who: str, member: str) -> None:
    _entry, path = a1_photo(world, client, db)
    before = len(db.exec(select(Entry)).all())
    answer = refused(world.post(who, "/entries", body(world, member, path)), 422,
                     "evidence_unknown")
    assert path not in answer["detail"]
    # The same answer as for a path that names no photo at all: nothing to learn from it.
    unknown = new_photo_path(date(2026, 1, 10))
    assert refused(world.post(who, "/entries", body(world, member, unknown)), 422,
                   "evidence_unknown")["detail"] == answer["detail"]
    assert len(db.exec(select(Entry)).all()) == before


@pytest.mark.parametrize(
    "evidence",
    ["evidence/2025/11/sign-in.jpg", "../secret.jpg", "https://example.com/p.jpg",
     "见会议记录第3页"],
)
def test_text_that_names_no_stored_photo_is_refused(world: World, evidence: str) -> None:
    refused(world.post("a1", "/entries", body(world, "a1", evidence)), 422, "evidence_unknown")


@pytest.mark.parametrize("who", ["a1", "sec_a"])
def test_a_members_own_photo_can_be_attached_by_them_or_their_committee(
        world: World, client: TestClient, db: Session, uploads: Path, who: str) -> None:
    _entry, path = a1_photo(world, client, db)
    created = ok(world.post(who, "/entries", body(world, "a1", path)), 201)
    assert created["evidence"] == path
    web_login(client, "a1")
    served = client.get(f"/evidence/{created['id']}")
    assert served.status_code == 200 and served.content == (uploads / path).read_bytes()


def test_no_evidence_is_still_no_evidence(world: World) -> None:
    for evidence in ("", None):
        assert ok(world.post("a1", "/entries", body(world, "a1", evidence)), 201)[
            "evidence"] is None


def test_an_entry_naming_another_members_photo_does_not_serve_it(
        world: World, client: TestClient, db: Session, uploads: Path) -> None:
    """As the API let b1 write before: b1's entry names a1's photo. /evidence serves it
    through a1's entry only."""
    a1_entry, path = a1_photo(world, client, db)
    b1_entry = ok(world.post("sec_b", "/entries", {
        "member_id": world.members["b1"], "rule_code": "P01", "occurred_on": "2026-01-06"}),
        201)["id"]
    row = db.get(Entry, b1_entry)
    assert row is not None
    row.evidence = path
    db.add(row)
    db.flush()
    for who in ("b1", "sec_b", "party_sec", "admin"):
        web_login(client, who)
        for size in ("full", "thumb"):
            assert client.get(f"/evidence/{b1_entry}?size={size}").status_code == 404, who
    web_login(client, "a1")
    assert client.get(f"/evidence/{a1_entry}").status_code == 200
    assert client.get(f"/evidence/{a1_entry}?size=thumb").status_code == 200


def test_the_page_report_keeps_its_photo_on_record_for_the_member(
        world: World, client: TestClient, db: Session, uploads: Path) -> None:
    entry_id, path = a1_photo(world, client, db)
    photo = db.get(EvidencePhoto, path)
    account = db.exec(select(Account).where(Account.username == "a1")).one()
    assert photo is not None and photo.uploaded_by == account.id
    assert photo.member_id == world.members["a1"] and photo.uploaded_at == world.clock.now()
    for who in ("sec_a", "admin"):
        web_login(client, who)
        assert client.get(f"/evidence/{entry_id}").status_code == 200
