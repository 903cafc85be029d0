"""Evidence photos through the API (issue 18, for a mini-program): a member uploads a photo
(POST /api/v1/photos), names the answer's `evidence` in POST /api/v1/entries, and the photo
is read back (GET /api/v1/entries/{id}/photo) by exactly whom the pages show it to.

The world: branch A (sec_a, vice_a; a1..a4), branch B (sec_b; b1, party_sec), the 党委's
committee party_sec above both; the clock at 2026-01-10."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlmodel import Session, select

from app.api import deps as api_deps
from app.main import app
from app.models import Entry, EvidencePhoto
from app.services import idempotency
from app.services import uploads as uploads_service
from app.services.errors import Invalid
from app.services.uploads import MAX_UNATTACHED
from app.settings import get_settings
from tests.api.support import World, ok, refused

STORED = re.compile(r"evidence/2026/01/[0-9a-f-]{36}\.jpg")


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Evidence photos go to a temporary folder, at most 1 MB each."""
    folder = tmp_path / "uploads"
    monkeypatch.setenv("JIFEN_UPLOAD_DIR", str(folder))
    monkeypatch.setenv("JIFEN_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    yield folder
    monkeypatch.undo()
    get_settings.cache_clear()


def jpeg(width: int = 2000, height: int = 1000) -> bytes:
    image = Image.new("RGB", (width, height), (180, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make: must not survive the re-encoding
    out = BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def upload(world: World, who: str, data: bytes, name: str = "IMG_0001.jpg",
           content_type: str = "image/jpeg") -> Any:
    return world.client.post("/api/v1/photos", files={"photo": (name, data, content_type)},
                             headers=world.as_(who))


def entry_with_photo(world: World, who: str = "a1", member: str = "a1") -> tuple[int, str]:
    """a1 uploads a photo; `who` records an entry about `member` naming it."""
    evidence = ok(upload(world, "a1", jpeg()), 201)["evidence"]
    made = world.entry(who, member, "P01", "2026-01-06", evidence=evidence)
    assert made["evidence"] == evidence
    return made["id"], evidence


def photo(world: World, who: str, entry_id: int, **params: str) -> Any:
    return world.client.get(f"/api/v1/entries/{entry_id}/photo", params=params,
                            headers=world.as_(who))


def test_an_upload_is_checked_reencoded_and_stored_for_the_member(
        world: World, db: Session, uploads: Path) -> None:
    answer = ok(upload(world, "a1", jpeg(2000, 1000)), 201)
    assert STORED.fullmatch(answer["evidence"]), answer
    assert (answer["member_id"], answer["width"], answer["height"]) == \
        (world.members["a1"], 1600, 800)
    stored = (uploads / answer["evidence"]).read_bytes()
    assert stored.startswith(b"\xff\xd8") and b"PhoneMaker" not in stored
    row = db.get(EvidencePhoto, answer["evidence"])
    assert row is not None and row.member_id == world.members["a1"]


@pytest.mark.parametrize("who", ["a1", "sec_a"])
def test_the_member_or_their_committee_names_the_upload_in_an_entry(
        world: World, uploads: Path, who: str) -> None:
    entry_id, evidence = entry_with_photo(world, who=who)
    served = photo(world, "a1", entry_id)
    assert served.status_code == 200
    assert served.content == (uploads / evidence).read_bytes()


@pytest.mark.parametrize(("who", "seen"), [
    pytest.param("a1", True, id="the-member"),
    pytest.param("sec_a", True, id="their-branch-committee"),
    pytest.param("vice_a", True, id="another-of-that-committee"),
    pytest.param("party_sec", True, id="the-committee-above"),
    pytest.param("admin", True, id="an-administrator"),
    pytest.param("a2", False, id="another-member-of-the-branch"),
    pytest.param("b1", False, id="a-member-of-another-branch"),
    pytest.param("sec_b", False, id="another-branchs-committee"),
])
def test_an_entrys_photo_is_read_by_whom_the_pages_show_it(
        world: World, uploads: Path, who: str, seen: bool) -> None:
    entry_id, evidence = entry_with_photo(world)
    for size, stored in (("full", evidence), ("thumb", evidence[:-4] + ".thumb.jpg")):
        answer = photo(world, who, entry_id, size=size)
        if not seen:
            refused(answer, 404, "not_found")
            assert answer.headers["content-type"].startswith("application/problem+json")
            continue
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["cache-control"] == "private, max-age=86400"
        assert "Authorization" in answer.headers["vary"]
        assert answer.content == (uploads / stored).read_bytes()


def test_the_thumbnail_is_small(world: World, uploads: Path) -> None:
    entry_id, _evidence = entry_with_photo(world)
    full = Image.open(BytesIO(photo(world, "a1", entry_id).content))
    thumb = Image.open(BytesIO(photo(world, "a1", entry_id, size="thumb").content))
    assert full.size == (1600, 800) and thumb.size == (240, 120)
    refused(photo(world, "a1", entry_id, size="huge"), 422, "validation_error")


def test_an_entry_without_a_photo_answers_no_photo(world: World, uploads: Path) -> None:
    made = world.entry("a1", "a1", "P01", "2026-01-06")
    refused(photo(world, "a1", made["id"]), 404, "no_photo")
    refused(photo(world, "b1", made["id"]), 404, "not_found")  # out of sight: no hint
    refused(photo(world, "a1", 2**40), 404, "not_found")


def test_a_photo_held_is_not_sent_again(world: World, uploads: Path) -> None:
    entry_id, _evidence = entry_with_photo(world)
    first = photo(world, "a1", entry_id)
    etag = first.headers["etag"]
    again = world.client.get(f"/api/v1/entries/{entry_id}/photo",
                             headers=world.as_("a1") | {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    # Another's If-None-Match is no way in.
    refused(world.client.get(f"/api/v1/entries/{entry_id}/photo",
                              headers=world.as_("b1") | {"If-None-Match": etag}), 404)


@pytest.mark.parametrize(("data", "status", "code"), [
    pytest.param(b"%PDF-1.4 not a photo", 422, "photo_unreadable", id="not-an-image"),
    pytest.param(b"", 422, "photo_unreadable", id="empty"),
    pytest.param(jpeg()[:2000], 422, "photo_unreadable", id="cut-short"),
    pytest.param(b"\xff\xd8" + b"0" * (1024 * 1024 + 10), 413, "photo_too_large",
                 id="over-the-limit"),
    pytest.param(b"0" * (2 * 1024 * 1024), 413, "body_too_large", id="far-over-the-limit"),
])
def test_a_refused_upload_stores_nothing(world: World, db: Session, uploads: Path,
                                         data: bytes, status: int, code: str) -> None:
    before = len(db.exec(select(EvidencePhoto)).all())
    answer = refused(upload(world, "a1", data), status, code)
    assert answer["detail"]
    assert files_in(uploads) == []
    assert len(db.exec(select(EvidencePhoto)).all()) == before


def test_too_many_pixels_is_refused_before_decoding(world: World, uploads: Path) -> None:
    image = Image.new("1", (6000, 5000))  # 30 MP, a few KB as PNG
    out = BytesIO()
    image.save(out, "PNG")
    refused(upload(world, "a1", out.getvalue(), "big.png", "image/png"), 422,
            "photo_too_many_pixels")
    assert files_in(uploads) == []


def test_the_photo_is_decoded_before_the_key_is_claimed_and_the_caller_checked(
        world: World, uploads: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both read or write the database first (on SQLite, a writer's first statement takes
    its one write lock): the photo is decoded before either, once. A replay is decoded too
    (the claim finds it later) and stores nothing; a request without a token is not."""
    seen: list[str] = []

    def spy(name: str, call: Any) -> Any:
        def spied(*args: Any) -> Any:
            seen.append(name)
            return call(*args)
        return spied

    monkeypatch.setattr(uploads_service, "prepare_photo",
                        spy("decode", uploads_service.prepare_photo))
    ahead = uploads_service.prepare_photo_async

    async def ahead_spy(*args: Any) -> Any:
        seen.append("decode ahead")
        return await ahead(*args)

    monkeypatch.setattr(uploads_service, "prepare_photo_async", ahead_spy)
    monkeypatch.setattr(idempotency, "claim", spy("claim", idempotency.claim))
    monkeypatch.setattr(api_deps, "session_actor", spy("caller check", api_deps.session_actor))
    keyed = {**world.as_("a1"), "Idempotency-Key": "photo-1"}
    sent = {"photo": ("IMG_0001.jpg", jpeg(), "image/jpeg")}
    first = ok(world.client.post("/api/v1/photos", files=sent, headers=keyed), 201)
    assert seen == ["decode ahead", "claim", "caller check"]
    seen.clear()
    again = world.client.post("/api/v1/photos", files=sent, headers=keyed)
    assert again.status_code == 201 and again.json() == first
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert seen == ["decode ahead", "claim", "caller check"] and len(files_in(uploads)) == 2
    seen.clear()
    refused(world.client.post("/api/v1/photos", files=sent), 401, "not_authenticated")
    assert seen == []


def test_the_declared_type_and_name_decide_nothing(world: World, uploads: Path) -> None:
    # A photo sent as application/octet-stream with no extension is still a photo ...
    ok(upload(world, "a1", jpeg(), "blob", "application/octet-stream"), 201)
    # ... and text named .jpg is still no photo.
    refused(upload(world, "a1", b"hello", "photo.jpg", "image/jpeg"), 422, "photo_unreadable")


@pytest.mark.parametrize(("files", "data"), [
    pytest.param(None, {"photo": "not a file"}, id="text-instead-of-a-file"),
    pytest.param({"picture": ("a.jpg", b"x", "image/jpeg")}, None, id="another-field-name"),
    pytest.param(None, None, id="nothing"),
])
def test_an_upload_without_the_photo_field_is_invalid(
        world: World, uploads: Path, files: Any, data: Any) -> None:
    answer = world.client.post("/api/v1/photos", files=files, data=data,
                               headers=world.as_("a1"))
    refused(answer, 422, "validation_error")


def test_only_a_member_uploads_and_only_when_logged_in(world: World, uploads: Path) -> None:
    refused(upload(world, "admin", jpeg()), 403, "not_a_member")
    answer = world.client.post("/api/v1/photos", files={"photo": ("a.jpg", jpeg(),
                                                                  "image/jpeg")})
    refused(answer, 401)
    assert files_in(uploads) == []


def test_an_upload_names_only_its_members_entries(world: World, uploads: Path) -> None:
    """a1's upload is a1's: nobody names it for anyone else (one answer, whoever tries)."""
    evidence = ok(upload(world, "a1", jpeg()), 201)["evidence"]
    for who, member in (("a2", "a2"), ("sec_a", "a2"), ("sec_b", "b1"), ("admin", "b1")):
        refused(world.post(who, "/entries", {
            "member_id": world.members[member], "rule_code": "P01",
            "occurred_on": "2026-01-06", "evidence": evidence}), 422, "evidence_unknown")


def test_a_resubmission_takes_a_new_upload(world: World, db: Session,
                                           uploads: Path) -> None:
    entry_id, first = entry_with_photo(world)
    ok(world.post("sec_a", f"/entries/{entry_id}/reject", {"reason": "照片看不清"}))
    second = ok(upload(world, "a1", jpeg(1200, 900)), 201)["evidence"]
    again = ok(world.post("a1", f"/entries/{entry_id}/resubmit", {"evidence": second}), 201)
    assert again["evidence"] == second != first
    served = photo(world, "sec_a", again["id"])
    assert served.content == (uploads / second).read_bytes()
    # The rejected entry keeps its own.
    assert photo(world, "sec_a", entry_id).content == (uploads / first).read_bytes()


def test_photos_never_named_are_kept_to_the_newest_few(
        world: World, db: Session, uploads: Path) -> None:
    """A member keeps MAX_UNATTACHED photos that no entry names; at the next upload the
    oldest goes, row and files. A photo an entry names is never forgotten."""
    named_id, named = entry_with_photo(world)
    paths = []
    for _ in range(MAX_UNATTACHED + 1):
        world.clock.advance(minutes=1)
        paths.append(ok(upload(world, "a1", jpeg(64, 48)), 201)["evidence"])
    oldest, kept = paths[0], paths[1:]
    assert db.get(EvidencePhoto, oldest) is None
    assert not (uploads / oldest).exists()
    assert not (uploads / oldest.replace(".jpg", ".thumb.jpg")).exists()
    assert all((uploads / p).exists() and db.get(EvidencePhoto, p) for p in kept)
    refused(world.post("a1", "/entries", {"member_id": world.members["a1"],
                                          "rule_code": "P01", "occurred_on": "2026-01-06",
                                          "evidence": oldest}), 422, "evidence_unknown")
    assert photo(world, "a1", named_id).content == (uploads / named).read_bytes()
    # Another member's photos are theirs to count.
    ok(upload(world, "a2", jpeg(64, 48)), 201)
    assert all(db.get(EvidencePhoto, p) for p in kept)


def test_the_openapi_document_describes_the_photo_routes() -> None:
    paths = app.openapi()["paths"]
    read = paths["/api/v1/entries/{entry_id}/photo"]["get"]
    assert read["responses"]["200"]["content"] == {
        "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}
    assert {"401", "404", "422"} <= set(read["responses"])
    assert "no_photo" in read["responses"]["404"]["description"]
    size = next(p for p in read["parameters"] if p["name"] == "size")
    assert size["description"]
    upload_op = paths["/api/v1/photos"]["post"]
    body = upload_op["requestBody"]["content"]["multipart/form-data"]
    schema = body["schema"]
    if "$ref" in schema:
        schema = app.openapi()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["photo"]["format"] == "binary"
    for status, code in (("403", "not_a_member"), ("413", "photo_too_large"),
                         ("422", "photo_unreadable")):
        assert code in upload_op["responses"][status]["description"], status
    assert upload_op["tags"] == ["entries"]


def test_an_upload_writes_no_entry(world: World, db: Session, uploads: Path) -> None:
    before = len(db.exec(select(Entry)).all())
    ok(upload(world, "a1", jpeg()), 201)
    assert len(db.exec(select(Entry)).all()) == before


def test_a_failed_upload_forgets_nothing(world: World, db: Session, uploads: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The oldest photo goes only with an upload that is stored: refused after the oldest
    was let go (here, the disk), the oldest stays, row and file."""
    paths = []
    for _ in range(MAX_UNATTACHED):
        world.clock.advance(minutes=1)
        paths.append(ok(upload(world, "a1", jpeg(64, 48)), 201)["evidence"])

    def disk_full(*_args: object) -> None:
        raise Invalid("No room left on the disk.", "disk_full")

    monkeypatch.setattr(uploads_service, "save_photo", disk_full)
    refused(upload(world, "a1", jpeg(64, 48)), 422, "disk_full")
    ok(world.get("a1", "/me"))  # the next request's commit removes nothing either
    assert db.get(EvidencePhoto, paths[0]) is not None
    assert (uploads / paths[0]).exists()


@pytest.mark.parametrize("asked", ["bytes=999999-", "bytes=abc", "bytes=0-10"])
def test_a_photo_is_answered_whole_whatever_range_is_asked(world: World, asked: str) -> None:
    evidence = ok(upload(world, "a1", jpeg()), 201)["evidence"]
    entry = world.entry("a1", "a1", "P01", "2026-01-06", evidence=evidence)
    answer = world.client.get(f"/api/v1/entries/{entry['id']}/photo",
                              headers=world.as_("a1") | {"Range": asked})
    assert answer.status_code == 200 and answer.content.startswith(b"\xff\xd8")
    assert answer.headers["accept-ranges"] == "none"
