"""A photo volume that cannot take a photo (issue 19, the failover drill's "disk full"): the
upload is refused cleanly, 507 `storage_full` (ENOSPC, a quota) or 503 `storage_unavailable`
(any other failure of the filesystem), never a 500; nothing is left behind (no partial file,
no photo without its thumbnail, no row naming a missing photo); the same upload with the same
Idempotency-Key goes through once there is room again.

The volume is made to fail where a real one does: os.fsync (or the write before it) of the
photo's temporary file, or of its thumbnail's after the photo itself was written."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import EvidencePhoto
from app.services import evidence
from tests.api.support import World, ok, refused
from tests.api.test_photo_api import files_in, jpeg, uploads
from tests.web.support import web_login
from tests.web.test_member import entries_of, report

__all__ = ["uploads"]  # the fixture, used by name below
REAL_FSYNC = os.fsync


@pytest.fixture
def failing_disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., list[str]]]:
    """fail(code, on_call=1): os.fsync fails with `code` at its on_call-th call and after it,
    once each temporary file has its bytes (as a full disk refuses to flush them); the
    temporary files it failed on are returned in the list."""
    failed: list[str] = []
    real = REAL_FSYNC

    def fail(code: int, on_call: int = 1) -> list[str]:
        calls = [0]

        def fsync(fd: int) -> None:
            calls[0] += 1
            if calls[0] >= on_call:
                failed.append(os.readlink(f"/proc/self/fd/{fd}"))
                raise OSError(code, os.strerror(code))
            real(fd)

        monkeypatch.setattr(evidence.os, "fsync", fsync)
        return failed

    yield fail
    monkeypatch.setattr(evidence.os, "fsync", real)


def upload(world: World, who: str, data: bytes, key: str) -> Any:
    return world.client.post("/api/v1/photos", files={"photo": ("IMG_0001.jpg", data,
                                                                "image/jpeg")},
                             headers=world.as_(who) | {"Idempotency-Key": key})


def photos(db: Session) -> list[EvidencePhoto]:
    db.expire_all()
    return list(db.exec(select(EvidencePhoto)).all())


@pytest.mark.parametrize(("code", "status", "problem"), [
    (errno.ENOSPC, 507, "storage_full"),
    (errno.EDQUOT, 507, "storage_full"),
    (errno.EIO, 503, "storage_unavailable"),
    (errno.EROFS, 503, "storage_unavailable"),
])
@pytest.mark.parametrize("on_call", [1, 2], ids=["photo", "thumbnail"])
def test_an_upload_the_volume_cannot_take_is_refused_and_leaves_nothing(
        world: World, db: Session, uploads: Path, failing_disk: Callable[..., list[str]],
        code: int, status: int, problem: str, on_call: int) -> None:
    failed = failing_disk(code, on_call)
    answer = upload(world, "a1", jpeg(), "drill-1")
    body = refused(answer, status, problem)
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "nothing was stored" in body["detail"]
    assert failed and failed[0].endswith(".jpg.part")  # it did get as far as the disk
    # Nothing of it: no photo, no thumbnail, no temporary file, no row.
    assert files_in(uploads) == [] and photos(db) == []


def test_the_same_upload_goes_through_once_there_is_room(
        world: World, db: Session, uploads: Path,
        failing_disk: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    failing_disk(errno.ENOSPC)
    refused(upload(world, "a1", jpeg(), "photo-0001"), 507, "storage_full")
    monkeypatch.setattr(evidence.os, "fsync", REAL_FSYNC)  # space freed
    stored = ok(upload(world, "a1", jpeg(), "photo-0001"), 201)
    [photo] = photos(db)
    assert photo.path == stored["evidence"]
    assert sorted(p.name for p in files_in(uploads)) == sorted(
        [Path(stored["evidence"]).name, Path(stored["evidence"]).stem + ".thumb.jpg"])
    # Sent again: its answer again, nothing stored twice.
    again = upload(world, "a1", jpeg(), "photo-0001")
    assert again.headers.get("idempotent-replayed") == "true"
    assert ok(again, 201)["evidence"] == stored["evidence"] and len(photos(db)) == 1


def test_the_openapi_document_names_the_storage_codes(client: TestClient) -> None:
    answers = client.get("/openapi.json").json()["paths"]["/api/v1/photos"]["post"]["responses"]
    assert "`storage_full`" in answers["507"]["description"]
    assert "`storage_unavailable`" in answers["503"]["description"]


def test_the_report_page_says_the_storage_is_full_and_stores_nothing(
        world: World, client: TestClient, db: Session, uploads: Path,
        failing_disk: Callable[..., list[str]]) -> None:
    token = web_login(client, "a1")
    failing_disk(errno.ENOSPC, on_call=2)  # the photo written, its thumbnail not
    answer = report(client, token, photo=("IMG_0001.jpg", jpeg(400, 300), "image/jpeg"))
    assert answer.status_code == 507, answer.text[:300]
    assert "服务器存储空间满了，这次没有保存。请过一会儿再试。" in answer.text
    assert "（照片需要重新选择）" in answer.text  # the form is back, without the file
    assert "Traceback" not in answer.text
    assert entries_of(db, world, "a1") == [] and photos(db) == []
    assert files_in(uploads) == []


def test_a_photo_is_whole_or_absent_even_when_cleaning_up_fails(
        uploads: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A volume gone altogether: the cleanup fails too, and the answer is still the clean
    refusal, not the cleanup's error."""
    photo = evidence.Photo(jpeg=b"\xff\xd8full", thumbnail=b"\xff\xd8thumb", width=1, height=1)

    def no_volume(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(evidence, "_write", no_volume)
    monkeypatch.setattr(evidence, "delete_photo", no_volume)
    relative = evidence.new_photo_path(date(2026, 1, 10))
    with pytest.raises(evidence.StorageUnavailable):
        evidence.save_photo(uploads, relative, photo)
