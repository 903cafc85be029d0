"""Oversized bodies are refused with 413 (app.limits) before the app keeps any of them.

JSON and forms may send at most JIFEN_MAX_BODY_KB (1024 by default); only a multipart post
to the self-report page may send a photo's worth (JIFEN_MAX_UPLOAD_MB plus the form around
it). A declared Content-Length over the limit is refused up front; a chunked body with no
Content-Length is counted as it arrives. Either way nothing is written, the API answers
docs/api.md's error body with the code body_too_large, and the pages answer where the person is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.limits import FORM_SLACK, MIB
from app.models import AuditLog, Entry
from app.settings import get_settings
from tests.api.support import World, ok, refused
from tests.web.support import form_post, web_login

KB = 1024


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """JIFEN_MAX_BODY_KB=4, JIFEN_MAX_UPLOAD_MB=1: the limits at a size a test can send fast."""
    monkeypatch.setenv("JIFEN_MAX_BODY_KB", "4")
    monkeypatch.setenv("JIFEN_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    yield 4 * KB
    monkeypatch.undo()
    get_settings.cache_clear()


def written(db: Session) -> tuple[int, int]:
    """Entries and audit rows: a refused request changes neither."""
    db.expire_all()
    return (db.exec(select(func.count()).select_from(Entry)).one(),
            db.exec(select(func.count()).select_from(AuditLog)).one())


def entry_body(world: World, note: str) -> dict[str, Any]:
    return {"member_id": world.members["a1"], "rule_code": "P01",
            "occurred_on": "2025-11-14", "note": note}


def chunks(data: bytes, size: int = 64 * KB) -> Iterator[bytes]:
    """A body sent in pieces with no Content-Length (Transfer-Encoding: chunked)."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def too_large(answer: Any) -> dict[str, Any]:
    body = refused(answer, 413, "body_too_large")
    assert answer.headers["content-type"] == "application/problem+json"
    assert "KB" in body["detail"], body
    return body


def test_a_two_megabyte_json_body_is_refused_and_nothing_is_written(
        world: World, db: Session) -> None:
    before = written(db)
    body = json.dumps(entry_body(world, "长" * (2 * MIB // 3))).encode()
    assert len(body) > 2 * MIB
    answer = world.client.post("/api/v1/entries", content=body, headers={
        **world.as_("sec_a"), "Content-Type": "application/json"})
    assert too_large(answer)["detail"].endswith("send less.")
    assert "1024 KB" in answer.json()["detail"]
    assert written(db) == before
    # The same entry, small, goes through: the limit is on size, not on the request.
    ok(world.post("sec_a", "/entries", entry_body(world, "正常的说明")), 201)
    assert written(db) != before


def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(
        world: World, db: Session) -> None:
    before = written(db)
    body = json.dumps(entry_body(world, "x" * (2 * MIB))).encode()
    sent: list[int] = []

    def counted() -> Iterator[bytes]:
        for piece in chunks(body):
            sent.append(len(piece))
            yield piece

    answer = world.client.post("/api/v1/entries", content=counted(), headers={
        **world.as_("sec_a"), "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    too_large(answer)
    assert written(db) == before


def test_the_limit_is_configurable_and_counts_every_kind_of_body(
        world: World, db: Session, small_limit: int) -> None:
    headers = world.as_("sec_a")
    before = written(db)
    # Just under: the app reads it (and finds the note too long, 422); just over: 413.
    under = json.dumps(entry_body(world, "x" * (small_limit - 200))).encode()
    assert len(under) <= small_limit
    answer = world.client.post("/api/v1/entries", content=under,
                               headers={**headers, "Content-Type": "application/json"})
    refused(answer, 422, "validation_error")
    over = json.dumps(entry_body(world, "x" * small_limit)).encode()
    answer = world.client.post("/api/v1/entries", content=over,
                               headers={**headers, "Content-Type": "application/json"})
    assert "4 KB" in too_large(answer)["detail"]
    # A login form, a multipart body (the photo limit is for the self-report page only),
    # a body sent with a GET, and one with no content type at all.
    too_large(world.client.post("/api/v1/auth/token",
                                data={"username": "a1", "password": "x" * small_limit}))
    too_large(world.client.post("/api/v1/entries", headers=headers,
                                files={"photo": ("p.jpg", b"\xff" * small_limit, "image/jpeg")}))
    too_large(world.client.request("GET", "/api/v1/me", headers=headers,
                                   content=b"x" * (small_limit + 1)))
    too_large(world.client.post("/api/v1/entries", headers=headers,
                                content=chunks(b"{" * (small_limit + 1), 1000)))
    assert written(db) == before


def test_pages_refuse_where_the_person_is(world: World, client: TestClient, db: Session,
                                         small_limit: int) -> None:
    token = web_login(client, "sec_a")
    before = written(db)
    form = {"member_id": str(world.members["a1"]), "rule_code": "P01",
            "occurred_on": "2025-11-14", "quantity": "1", "note": "x" * small_limit}
    # A plain form: back to the page it came from, with the message on it.
    answer = client.post("/committee/record", data={**form, "csrf_token": token},
                         headers={"referer": "http://testserver/committee/record"},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/committee/record"
    page = client.get("/committee/record").text
    assert "提交的内容太多了，请删减后重试" in page and 'class="flash flash-error"' in page
    # htmx: a 413 with the message for #flash, never a blank swap.
    answer = form_post(client, "/committee/record", token, form, htmx=True)
    assert answer.status_code == 413 and answer.headers["HX-Retarget"] == "#flash"
    assert "提交的内容太多了，请删减后重试" in answer.text and "<html" not in answer.text
    # Chunked, and multipart to a page that takes no upload: the small limit too.
    answer = client.post("/committee/record", content=chunks(b"a=" + b"x" * small_limit, 1000),
                         headers={"Content-Type": "application/x-www-form-urlencoded",
                                  "HX-Request": "true", "X-CSRF-Token": token})
    assert answer.status_code == 413 and answer.headers["HX-Retarget"] == "#flash"
    answer = client.post("/committee/record", data={"csrf_token": token},
                         files={"photo": ("p.jpg", b"\xff" * 2 * small_limit, "image/jpeg")},
                         headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert answer.status_code == 413
    assert written(db) == before


def test_the_self_report_page_takes_a_photo_up_to_the_upload_limit(
        world: World, client: TestClient, db: Session, small_limit: int) -> None:
    token = web_login(client, "a1")
    before = written(db)
    # Far more than JIFEN_MAX_BODY_KB, within the photo limit: read by the page, which
    # finds no photo in it (422), rather than refused by size.
    answer = client.post("/me/report", data={"csrf_token": token, "rule_code": "P01",
                                             "occurred_on": "2026-01-05"},
                         files={"photo": ("p.jpg", b"\xff" * 512 * KB, "image/jpeg")},
                         follow_redirects=False)
    assert answer.status_code == 422 and "这个文件不是照片" in answer.text
    # Over the photo limit (1 MB + the form's slack): 413 with the page's own message.
    answer = client.post("/me/report", data={"csrf_token": token, "rule_code": "P01",
                                             "occurred_on": "2026-01-05"},
                         files={"photo": ("p.jpg", b"\xff" * (MIB + FORM_SLACK), "image/jpeg")},
                         follow_redirects=False)
    assert answer.status_code == 413 and "照片太大了（不能超过1MB）" in answer.text
    assert written(db) == before


def test_openapi_documents_413_on_every_operation_with_a_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    with_body = without_body = 0
    for path, item in schema["paths"].items():
        for method, op in item.items():
            documented = "413" in op["responses"]
            assert documented == ("requestBody" in op), (method, path)
            if documented:
                with_body += 1
                answer = op["responses"]["413"]["content"]["application/problem+json"]
                ref = answer["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorOut"
            else:
                without_body += 1
    assert with_body >= 15 and without_body >= 15
