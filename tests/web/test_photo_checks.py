"""The self-report page decodes a photo before the request's transaction begins (so no lock
waits on it: issue 20) and answers the workflow's refusals before the photo's, and says
what is wrong with a photo of too many pixels (issue 14, parts 4 and 9): its size and the
limit, not "larger than 8 MB"; refused, nothing is written and the form comes back as
typed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import ImageFile
from sqlmodel import Session

from app.services import uploads as uploads_service
from app.web import deps
from tests.api.support import World
from tests.api.test_body_limits import written
from tests.unit.test_photo_decoding import png_claiming
from tests.web.support import web_login
from tests.web.test_member import SELF_REPORT, entries_of, files_in, jpeg, report, uploads
from tests.web.test_review_blockers import finalize_q1

__all__ = ["uploads"]  # the fixture, used by name below


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the test decoded: each photo given to prepare_photo, and each image loaded."""
    seen: list[str] = []
    prepare = uploads_service.prepare_photo
    prepare_ahead = uploads_service.prepare_photo_async
    load = ImageFile.ImageFile.load

    def prepare_spy(*args: Any) -> Any:
        seen.append("prepare_photo")
        return prepare(*args)

    async def prepare_ahead_spy(*args: Any) -> Any:
        seen.append("prepare_photo")
        return await prepare_ahead(*args)

    def load_spy(self: ImageFile.ImageFile) -> Any:
        if self.tile:
            seen.append(f"load {self.size}")
        return load(self)

    monkeypatch.setattr(uploads_service, "prepare_photo", prepare_spy)
    monkeypatch.setattr(uploads_service, "prepare_photo_async", prepare_ahead_spy)
    monkeypatch.setattr(ImageFile.ImageFile, "load", load_spy)
    return seen


def test_a_photo_of_too_many_pixels_is_told_its_size_and_the_limit(
        world: World, client: TestClient, db: Session, uploads: Path,
        decodes: list[str]) -> None:
    token = web_login(client, "a1")
    before = written(db)
    bomb = ("big.png", png_claiming(20000, 20000), "image/png")
    assert len(bomb[1]) < 100_000  # 400 megapixels in 48 KB
    answer = report(client, token, photo=bomb)
    assert answer.status_code == 422
    assert "照片的像素太多（20000×20000），最多2500万像素。" in answer.text
    assert "照片太大了" not in answer.text and "不能超过8MB" not in answer.text
    assert "照片需要重新选择" not in answer.text  # the message already says so
    assert "参加1月集中学习</textarea>" in answer.text
    htmx = report(client, token, photo=bomb, htmx=True)
    assert htmx.status_code == 422 and htmx.headers["HX-Retarget"] == "#report-error"
    assert "照片的像素太多（20000×20000）" in htmx.text and "<html" not in htmx.text
    # Looked at, never decoded; nothing written (not even 2026's rules, which the entry's
    # checks store: undone with the refusal).
    assert decodes == ["prepare_photo"] * 2
    assert written(db) == before and files_in(uploads) == []


def test_the_photo_of_the_finding_is_refused_and_a_phone_photo_taken(
        world: World, client: TestClient, db: Session, uploads: Path,
        decodes: list[str]) -> None:
    token = web_login(client, "a1")
    answer = report(client, token, photo=("meeting.png", png_claiming(7000, 7000), "image/png"))
    assert answer.status_code == 422 and "（7000×7000）" in answer.text
    assert decodes == ["prepare_photo"]
    phone = report(client, token, photo=("IMG_0002.jpg", jpeg(4000, 3000), "image/jpeg"))
    assert phone.status_code == 303
    # Decoded once, at half size.
    assert decodes == ["prepare_photo", "prepare_photo", "load (2000, 1500)"]
    assert len(entries_of(db, world, "a1")) == 1 and len(files_in(uploads)) == 2


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        pytest.param({"occurred_on": "2025-02-10"}, 409, "2025年第一季度已经确认",
                     id="quarter-locked"),
        pytest.param({"rule_code": "N01"}, 403, "党员只能申报正向得分和加分项目",
                     id="not-a-self-report-item"),
        pytest.param({"rule_code": "Z99"}, 422, "没有这个积分项目", id="unknown-item"),
        pytest.param({"occurred_on": "2026-02-01"}, 422, "日期不能晚于今天", id="future"),
        pytest.param({"occurred_on": "1999-12-31"}, 422, "在您入党（转入）之前",
                     id="before-joining"),
        pytest.param({"quantity": "101"}, 422, "次数须为1到100之间的整数", id="quantity"),
    ],
)
def test_a_report_the_workflow_refuses_is_answered_that_refusal_first(
        world: World, client: TestClient, db: Session, uploads: Path, decodes: list[str],
        form: dict[str, str], status: int, message: str) -> None:
    """Even with a photo that would be refused itself (looked at ahead, never decoded):
    the workflow's answer comes first, and nothing is written or kept."""
    finalize_q1(world)  # branch A's 2025 Q1
    token = web_login(client, "a1")
    before = written(db)
    for photo in (("ok.jpg", jpeg(), "image/jpeg"),
                  ("big.png", png_claiming(20000, 20000), "image/png")):
        answer = report(client, token, {**SELF_REPORT, **form}, photo=photo)
        assert answer.status_code == status and message in answer.text, answer.text[:2000]
        assert "像素" not in answer.text
    assert decodes == ["prepare_photo", "load (2000, 1000)", "prepare_photo"]
    assert written(db) == before and files_in(uploads) == []


def test_the_photo_is_decoded_before_the_caller_check_begins_the_transaction(
        world: World, client: TestClient, db: Session, uploads: Path, decodes: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller check is the request's first statement (on SQLite a writer's BEGIN
    IMMEDIATE: the database's one write lock): the photo is decoded before it, once. A
    request without a valid login gets no decoding at all."""
    check = deps.session_actor

    def check_spy(*args: Any) -> Any:
        decodes.append("caller check")
        return check(*args)

    monkeypatch.setattr(deps, "session_actor", check_spy)
    token = web_login(client, "a1")
    decodes.clear()
    answer = report(client, token, photo=("IMG_0001.jpg", jpeg(), "image/jpeg"))
    assert answer.status_code == 303
    assert decodes == ["prepare_photo", "load (2000, 1000)", "caller check"]
    assert len(entries_of(db, world, "a1")) == 1 and len(files_in(uploads)) == 2
    decodes.clear()
    client.cookies.clear()
    anonymous = report(client, token, photo=("IMG_0002.jpg", jpeg(), "image/jpeg"))
    assert anonymous.status_code in (303, 401, 403) and decodes == []
    assert len(files_in(uploads)) == 2
