"""Evidence uploads are judged by their content, never by their name or declared type.

Whatever a file is called and whatever Content-Type the browser claims, only bytes Pillow
decodes as a photo (JPEG, PNG, WebP, HEIC) are kept, and then only as a JPEG re-encoded
from the pixels, so nothing else the file carried (a script, a PDF, an HTML page) survives.
Refused files leave no entry and nothing on disk; what is kept is served back as an image
that a browser will neither sniff as something else nor open as a page.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session

from app.settings import get_settings
from tests.api.support import World
from tests.web.support import web_login
from tests.web.test_member import SELF_REPORT, entries_of, files_in, jpeg, png, report, uploads

__all__ = ["uploads"]  # the fixture, used by name below

PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')
SCRIPT = b"#!/bin/sh\nrm -rf / --no-preserve-root\n"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00" \
      b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;<script>alert(1)</script>"

NOT_PHOTOS = [
    pytest.param("photo.jpg", PDF, "image/jpeg", id="pdf-named-jpg"),
    pytest.param("photo.jpg", HTML, "image/jpeg", id="html-named-jpg"),
    pytest.param("photo.png", SVG, "image/png", id="svg-with-script-named-png"),
    pytest.param("photo.jpeg", SCRIPT, "image/jpeg", id="shell-script-named-jpeg"),
    pytest.param("photo.gif", GIF, "image/gif", id="gif-with-script-tail"),
    pytest.param("photo.jpg", jpeg(40, 30)[:200], "image/jpeg", id="truncated-jpeg"),
    pytest.param("photo.jpg", b"", "image/jpeg", id="empty-file-named-jpg"),
]


@pytest.mark.parametrize(("name", "content", "claimed"), NOT_PHOTOS)
def test_a_file_that_is_not_a_photo_is_refused_whatever_its_name(
        world: World, client: TestClient, db: Session, uploads: Path,
        name: str, content: bytes, claimed: str) -> None:
    token = web_login(client, "a1")
    answer = report(client, token, photo=(name, content, claimed))
    assert answer.status_code == 422, answer.text[:300]
    assert "这个文件不是照片，请选择手机拍摄的照片" in answer.text
    assert "参加1月集中学习</textarea>" in answer.text  # the form comes back as typed
    htmx = report(client, token, photo=(name, content, claimed), htmx=True)
    assert htmx.status_code == 422 and htmx.headers["HX-Retarget"] == "#report-error"
    assert "这个文件不是照片" in htmx.text
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []


def test_a_png_named_txt_is_taken_by_its_content(world: World, client: TestClient,
                                                 db: Session, uploads: Path) -> None:
    token = web_login(client, "a1")
    answer = report(client, token, photo=("notes.txt", png(), "text/plain"))
    assert answer.status_code == 303 and answer.headers["location"] == "/me/entries"
    [entry] = entries_of(db, world, "a1")
    assert entry.evidence and re.fullmatch(r"evidence/2026/01/[0-9a-f-]{36}\.jpg", entry.evidence)
    with Image.open(uploads / entry.evidence) as stored:
        assert stored.format == "JPEG" and stored.size == (40, 30)


def test_what_rides_along_in_a_photo_is_not_kept(world: World, client: TestClient,
                                                 db: Session, uploads: Path) -> None:
    """A real JPEG with an HTML page appended (a polyglot) is accepted as the photo it is,
    and only its pixels are stored."""
    token = web_login(client, "a1")
    answer = report(client, token, photo=("x.html", jpeg(64, 48) + HTML, "text/html"))
    assert answer.status_code == 303
    [entry] = entries_of(db, world, "a1")
    stored = (uploads / (entry.evidence or "")).read_bytes()
    assert stored.startswith(b"\xff\xd8") and b"<script" not in stored and b"<html" not in stored
    for kept in files_in(uploads):
        assert kept.suffix == ".jpg" and b"<script" not in kept.read_bytes()


def test_evidence_is_served_as_an_image_that_is_never_sniffed(
        world: World, client: TestClient, db: Session, uploads: Path) -> None:
    token = web_login(client, "a1")
    out = BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 30)).save(out, "WEBP")
    assert report(client, token, photo=("p.webp", out.getvalue(), "image/webp")).status_code \
        == 303
    [entry] = entries_of(db, world, "a1")
    for size in ("full", "thumb"):
        photo = client.get(f"/evidence/{entry.id}?size={size}")
        assert photo.status_code == 200
        assert photo.headers["content-type"] == "image/jpeg"
        assert photo.headers["x-content-type-options"] == "nosniff"
        assert photo.headers["content-disposition"] == "inline"
        assert "private" in photo.headers["cache-control"]
        assert "default-src 'self'" in photo.headers["content-security-policy"]
        assert photo.content.startswith(b"\xff\xd8\xff")


def test_an_upload_over_the_photo_limit_is_413_and_nothing_is_written(
        world: World, client: TestClient, db: Session, uploads: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIFEN_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    token = web_login(client, "a1")
    big = jpeg() + b"\0" * (2 * 1024 * 1024)
    for htmx in (False, True):
        answer = report(client, token, photo=("big.jpg", big, "image/jpeg"), htmx=htmx)
        assert answer.status_code == 413 and "照片太大了（不能超过1MB）" in answer.text
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []
    # The form still works afterwards, with a photo within the limit.
    assert report(client, token, {**SELF_REPORT}, photo=("ok.jpg", jpeg(), "image/jpeg")) \
        .status_code == 303
