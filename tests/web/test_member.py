"""The member's pages: score, entries, self-report with a photo, evidence, results and objections.

The clock stands at 2026-01-10. Branch A's a1 in 2025, recorded by sec_a (approved):
  P01 ×3 on 02-10 (6) and ×2 on 05-10 (4; P01 capped at 8 from Q2), P07 ×5 h on 02-20 (5),
  N01 on 03-05 (−2), B01 4 points on 06-01; a self-reported P03 on 08-01 stays pending.
  Q1 review published with a1 at 4; the other quarters have no review.
  Q1: positive 6 + 5 = 11, review 4, deducted 2          -> ytd 13, change +13
  Q2: positive 8 + 5 = 13, review 4, bonus 4, deducted 2 -> ytd 19, change +6
  Q3, Q4: nothing approved, no review                   -> ytd 19, change 0
Annual (provisional) 19: below 60, so 0 stars.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, select

from app.models import Entry
from app.settings import get_settings
from tests.api.support import EARLY_REASON, World, approve_rating, ok
from tests.web.support import web_login

SELF_REPORT = {"rule_code": "P01", "occurred_on": "2026-01-05", "quantity": "2",
               "note": "参加1月集中学习"}


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Evidence photos go to a temporary folder for the test."""
    folder = tmp_path / "uploads"
    monkeypatch.setenv("JIFEN_UPLOAD_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    monkeypatch.undo()
    get_settings.cache_clear()


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def jpeg(width: int = 2000, height: int = 1000, orientation: int | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (180, 30, 30))
    out = BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make: must not survive the re-encoding
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def report(client: TestClient, token: str, data: dict[str, str] | None = None,
           photo: tuple[str, bytes, str] | None = None, htmx: bool = False) -> Any:
    """Post the self-report form as a browser does: both photo inputs, the empty one as ''."""
    body = dict(data if data is not None else SELF_REPORT)
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    if not htmx:
        body["csrf_token"] = token
    files = [("photo", ("", b"", "application/octet-stream"))]
    if photo:
        files.append(("photo", photo))
    return client.post("/me/report", data=body, files=files, headers=headers,
                       follow_redirects=False)


def entries_of(db: Session, world: World, member: str) -> list[Entry]:
    return list(db.exec(select(Entry).where(Entry.member_id == world.members[member])).all())


def text_of(html: str) -> str:
    """The words a person reads: tags dropped, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def quarter_text(page: str, quarter: int) -> str:
    match = re.search(rf'<li data-quarter="{quarter}">(.*?)</li>', page, re.S)
    assert match, f"no quarter {quarter} on the page"
    return text_of(match.group(1))


def a1_year_2025(world: World) -> int:
    """a1's 2025 of the module docstring; returns the id of the published Q1 review."""
    world.entry("sec_a", "a1", "P01", "2025-02-10", quantity=3)
    world.entry("sec_a", "a1", "P01", "2025-05-10", quantity=2)
    world.entry("sec_a", "a1", "P07", "2025-02-20", quantity=5)
    world.entry("sec_a", "a1", "N01", "2025-03-05")
    world.entry("sec_a", "a1", "B01", "2025-06-01", points=4)
    pending = world.entry("a1", "a1", "P03", "2025-08-01")
    assert pending["status"] == "pending"
    return publish_review(world, 2025, 1, {"a1": 4})


def publish_review(world: World, year: int, quarter: int, scores: dict[str, int],
                   notice_days: int = 5) -> int:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": year, "quarter": quarter}), 201)
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores",
                 {"scores": {str(world.members[m]): s for m, s in scores.items()}}))
    # Below the year's minimum notice, with the reason a branch would give (issue 17).
    early = {"reason": EARLY_REASON} if notice_days < 5 else {}
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish",
                  {"notice_days": notice_days} | early))
    return int(review["id"])


# My score ---------------------------------------------------------------------------------

def test_my_score_of_last_year_with_hand_worked_numbers(world: World,
                                                        client: TestClient) -> None:
    a1_year_2025(world)
    web_login(client, "a1")
    page = client.get("/me?year=2025")
    assert page.status_code == 200
    assert re.search(r'class="big score-number">19<', page.text)
    assert 'aria-label="0颗星（满5颗）"' in page.text
    assert "暂定分数" in page.text
    assert quarter_text(page.text, 1) == "第一季度 公示中 评议分 4/5 本季变化 +13 累计 13"
    assert quarter_text(page.text, 2) == "第二季度 进行中 评议分 — 本季变化 +6 累计 19"
    assert quarter_text(page.text, 4) == "第四季度 进行中 评议分 — 本季变化 0 累计 19"
    # The picture says the same in words, for a screen reader.
    assert 'role="img"' in page.text
    assert "2025年累计得分：第一季度13分，第二季度19分，第三季度19分，第四季度19分" in page.text
    assert "有1条申报正在等待支委审核" in page.text
    assert 'href="/me?year=2026"' in page.text


def test_this_year_shows_quarters_not_begun_and_the_way_to_report(world: World,
                                                                   client: TestClient) -> None:
    a1_year_2025(world)
    web_login(client, "a1")
    page = client.get("/me")
    assert re.search(r'class="big score-number">0<', page.text)
    assert quarter_text(page.text, 1) == "第一季度 进行中 评议分 — 本季变化 0 累计 0"
    assert quarter_text(page.text, 2) == "第二季度 未开始"
    assert "第一季度0分，第二季度未开始" in page.text
    assert 'href="/me/report"' in page.text and 'href="/me/results"' in page.text
    assert 'href="/me?year=2025"' in page.text and "看2025年" in page.text
    assert client.get("/me?year=2027").status_code == 404
    assert client.get("/me?year=abc", follow_redirects=False).status_code == 422


def test_approved_rating_shows_grade_stars_and_the_committees_reason(
        world: World, client: TestClient) -> None:
    review_id = a1_year_2025(world)
    pending = next(e for e in ok(world.get("sec_a", "/entries", status="pending"))["items"])
    ok(world.post("sec_a", f"/entries/{pending['id']}/reject", {"reason": "重复申报"}))
    world.clock.advance(days=6)
    ok(world.post("sec_a", f"/reviews/{review_id}/finalize"))
    for quarter in (2, 3, 4):
        rid = publish_review(world, 2025, quarter, {}, notice_days=0)
        ok(world.post("sec_a", f"/reviews/{rid}/finalize"))
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}), 201)
    line = next(i for i in rating["items"] if i["member_id"] == world.members["a1"])
    # 19 + three more review scores of 5 (unset at publication) = 34: unqualified.
    assert (line["score"], line["stars"], line["grade"]) == (34, 0, "unqualified")
    ok(world.patch("sec_a", f"/ratings/{rating['id']}/items/{world.members['a1']}",
                   {"grade": "basically_qualified", "reason": "长期照顾病重家属，酌情调整"}))
    web_login(client, "a1")
    before = client.get("/me?year=2025").text
    assert "暂定分数" in before and "年度等次" not in before
    approve_rating(world, rating["id"])
    page = client.get("/me?year=2025").text
    assert re.search(r'class="big score-number">34<', page)
    assert "年度等次" in page and "基本合格" in page
    assert "长期照顾病重家属，酌情调整" in page and "暂定分数" not in page
    # In the new year the page says last year's grade is there.
    assert "2025年度评星定级" in client.get("/me").text


def test_a_vetoed_member_is_told_when_and_why(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a2", "P01", "2025-02-10", quantity=4)
    world.entry("sec_a", "a2", "V01", "2025-08-10", note="受到党内警告处分")
    web_login(client, "a2")
    page = client.get("/me?year=2025").text
    assert re.search(r'class="big score-number">0<', page)
    assert "本年度有一票否决事项" in page
    assert "本季度有一票否决事项" in quarter_text(page, 3)
    assert "一票否决" not in quarter_text(page, 2)
    assert quarter_text(page, 2).endswith("累计 8")


def test_admin_without_membership_has_no_score_page(world: World, client: TestClient) -> None:
    web_login(client, "admin")
    assert client.get("/me").status_code == 404
    assert client.get("/me/report").status_code == 404


# My entries -------------------------------------------------------------------------------

def test_my_entries_with_status_points_and_reasons(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", "2025-12-01", quantity=2, note="参加12月集中学习")
    revoked = world.entry("sec_a", "a1", "P02", "2025-12-02")
    ok(world.post("sec_a", f"/entries/{revoked['id']}/revoke", {"reason": "记错了人"}))
    rejected = world.entry("a1", "a1", "P07", "2025-12-03", quantity=3)
    ok(world.post("sec_a", f"/entries/{rejected['id']}/reject", {"reason": "时长与签到表不符"}))
    world.entry("sec_a", "a1", "N01", "2025-12-04")
    world.entry("a1", "a1", "P08", "2025-12-05")
    web_login(client, "a1")
    page = client.get("/me/entries?year=2025").text
    words = text_of(page)
    assert "共5条，其中1条等待审核" in words
    assert "参加集中学习 +4分 12月1日 2次 已通过 参加12月集中学习" in words
    assert "撤销原因：记错了人" in words
    assert "参加志愿服务 +3分 12月3日 3小时 未通过 未通过原因：时长与签到表不符" in words
    assert "无故缺席组织生活 −2分 12月4日 已通过" in words
    assert "联系服务群众 +2分 12月5日 待审核" in words
    # Nobody else's entries.
    world.entry("sec_a", "a2", "P01", "2025-12-06", note="a2的记录")
    assert "a2的记录" not in client.get("/me/entries?year=2025").text


# Self-report ------------------------------------------------------------------------------

def test_the_picker_offers_only_what_a_member_may_report(world: World, client: TestClient,
                                                         db: Session) -> None:
    ok(world.put("admin", "/rules/P10", {"categories": ["retired"]}, year=2026))
    token = web_login(client, "a1")
    page = client.get("/me/report").text
    offered = re.findall(r'name="rule_code" value="(\w+)"', page)
    assert offered == ["P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09", "B01"]
    words = text_of(page)
    assert "参加集中学习 每次2分，全年最多8分" in words
    assert "参加志愿服务 每小时1分" in words
    assert "现实表现加分 1–5分" in words
    assert 'max="2026-01-10"' in page and 'value="2026-01-10"' in page
    assert 'accept="image/*" capture="environment"' in page
    # A negative item cannot be reported even by posting it.
    refused = report(client, token, {**SELF_REPORT, "rule_code": "N01"})
    assert refused.status_code == 403 and "只能申报正向得分和加分项目" in refused.text
    assert entries_of(db, world, "a1") == []


def test_a_committee_member_cannot_report_a_deduction_on_themself(
        world: World, client: TestClient, db: Session) -> None:
    token = web_login(client, "sec_a")
    answer = report(client, token, {**SELF_REPORT, "rule_code": "D01", "points": "3"})
    assert answer.status_code == 403
    assert entries_of(db, world, "sec_a") == []


def test_two_reports_before_the_next_page_both_say_so(world: World, client: TestClient,
                                                      db: Session) -> None:
    """A message left by an answer whose page was not opened (a second tap, a lost answer)
    does not hide the next one: both are shown on the page that opens."""
    token = web_login(client, "a1")
    assert report(client, token).status_code == 303
    assert report(client, token, {**SELF_REPORT, "occurred_on": "2026-01-06"}).status_code == 303
    assert client.get("/me/entries").text.count("已提交，等待支委审核") == 2
    assert len(entries_of(db, world, "a1")) == 2


def test_self_report_with_a_photo(world: World, client: TestClient, db: Session,
                                  uploads: Path) -> None:
    token = web_login(client, "a1")
    answer = report(client, token, photo=("IMG_0001.jpg", jpeg(orientation=6), "image/jpeg"))
    assert answer.status_code == 303 and answer.headers["location"] == "/me/entries"
    assert "已提交，等待支委审核" in client.get("/me/entries").text
    [entry] = entries_of(db, world, "a1")
    assert (entry.status, entry.rule_code, entry.quantity, entry.points) == \
        ("pending", "P01", 2, 4)
    assert entry.note == "参加1月集中学习"
    assert entry.evidence and re.fullmatch(r"evidence/2026/01/[0-9a-f-]{36}\.jpg",
                                           entry.evidence)
    stored = uploads / entry.evidence
    assert stored.is_file() and len(files_in(uploads)) == 2  # the photo and its thumbnail
    with Image.open(stored) as image:
        # Turned upright (EXIF orientation 6), at most 1600 px, no EXIF left.
        assert image.format == "JPEG" and image.size == (800, 1600)
        assert not image.getexif()
    # The member, and the committee of the branch, see it; others get 404.
    photo = client.get(f"/evidence/{entry.id}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == stored.read_bytes()
    assert "private" in photo.headers["cache-control"]
    assert photo.headers["x-content-type-options"] == "nosniff"
    thumb = client.get(f"/evidence/{entry.id}?size=thumb")
    assert thumb.status_code == 200 and len(thumb.content) < len(photo.content)
    assert f'src="/evidence/{entry.id}?size=thumb"' in client.get("/me/entries").text
    web_login(client, "sec_a")
    assert client.get(f"/evidence/{entry.id}").status_code == 200
    for outsider in ("a2", "b1"):
        web_login(client, outsider)
        assert client.get(f"/evidence/{entry.id}").status_code == 404


def test_self_report_by_htmx_redirects_there(world: World, client: TestClient, db: Session,
                                             uploads: Path) -> None:
    token = web_login(client, "a1")
    answer = report(client, token, {**SELF_REPORT, "rule_code": "B01", "points": "3",
                                    "quantity": ""},
                    photo=("p.png", png(), "image/png"), htmx=True)
    assert answer.status_code == 204 and answer.headers["HX-Redirect"] == "/me/entries"
    [entry] = entries_of(db, world, "a1")
    assert (entry.rule_code, entry.points, entry.status) == ("B01", 3, "pending")
    assert (uploads / (entry.evidence or "")).is_file()


def png() -> bytes:
    out = BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


def test_a_text_file_named_jpg_is_refused_and_nothing_is_written(
        world: World, client: TestClient, db: Session, uploads: Path) -> None:
    token = web_login(client, "a1")
    fake = ("photo.jpg", b"this is not a picture\n" * 50, "image/jpeg")
    answer = report(client, token, photo=fake)
    assert answer.status_code == 422
    assert "这个文件不是照片" in answer.text
    # The form comes back as typed.
    assert "参加1月集中学习</textarea>" in answer.text
    assert re.search(r'value="P01"[^>]*checked', answer.text)
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []
    htmx = report(client, token, photo=fake, htmx=True)
    assert htmx.status_code == 422 and "<html" not in htmx.text
    assert htmx.headers["HX-Retarget"] == "#report-error"
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []


def test_a_refused_entry_stores_no_photo(world: World, client: TestClient, db: Session,
                                         uploads: Path) -> None:
    token = web_login(client, "a1")
    future = report(client, token, {**SELF_REPORT, "occurred_on": "2026-02-01"},
                    photo=("p.jpg", jpeg(), "image/jpeg"))
    assert future.status_code == 422 and "日期不能晚于今天" in future.text
    assert "照片需要重新选择" in future.text
    too_many = report(client, token, {**SELF_REPORT, "quantity": "101"},
                      photo=("p.jpg", jpeg(), "image/jpeg"))
    assert too_many.status_code == 422 and "次数须为1到100之间的整数" in too_many.text
    no_item = report(client, token, {**SELF_REPORT, "rule_code": ""})
    assert no_item.status_code == 422 and "请先选择要申报的项目" in no_item.text
    bad_day = report(client, token, {**SELF_REPORT, "occurred_on": "昨天"})
    assert bad_day.status_code == 422 and "请填写正确的日期" in bad_day.text
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []
    # A date written the Chinese way is understood.
    written = report(client, token, {**SELF_REPORT, "occurred_on": "2026年1月3日"})
    assert written.status_code == 303
    assert str(entries_of(db, world, "a1")[0].occurred_on) == "2026-01-03"


def test_an_oversized_photo_gets_413_and_nothing_is_written(
        world: World, client: TestClient, db: Session, uploads: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIFEN_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    token = web_login(client, "a1")
    # Just over the limit: read, refused, the form comes back as typed.
    just_over = jpeg() + b"\0" * (1024 * 1024)
    answer = report(client, token, photo=("big.jpg", just_over, "image/jpeg"))
    assert answer.status_code == 413
    assert "照片太大了（不能超过1MB）" in answer.text
    assert "参加1月集中学习</textarea>" in answer.text
    # Far over: refused before the body is stored anywhere.
    huge = b"\xff" * (3 * 1024 * 1024)
    answer = report(client, token, photo=("huge.jpg", huge, "image/jpeg"))
    assert answer.status_code == 413 and "照片太大了（不能超过1MB）" in answer.text
    htmx = report(client, token, photo=("huge.jpg", huge, "image/jpeg"), htmx=True)
    assert htmx.status_code == 413 and htmx.headers["HX-Retarget"] == "#report-error"
    assert "<html" not in htmx.text
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []


def test_an_upload_without_a_declared_length_is_cut_off_at_the_limit(
        world: World, client: TestClient, db: Session, uploads: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIFEN_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    token = web_login(client, "a1")
    boundary = "jifen-test-boundary"

    def chunks() -> Iterator[bytes]:
        for name, value in (("csrf_token", token), ("rule_code", "P01"),
                            ("occurred_on", "2026-01-05")):
            yield (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                   f"{value}\r\n").encode()
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; '
               'filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n').encode()
        for _ in range(40):
            yield b"\xff" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = client.post("/me/report", content=chunks(), follow_redirects=False,
                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 413 and "照片太大了" in answer.text
    assert entries_of(db, world, "a1") == [] and files_in(uploads) == []


def test_evidence_paths_the_app_did_not_write_are_never_served(
        world: World, client: TestClient, db: Session, uploads: Path) -> None:
    (uploads / "evidence").mkdir(parents=True)
    secret = uploads.parent / "secret.jpg"
    secret.write_bytes(jpeg(10, 10))
    entry = world.entry("sec_a", "a1", "P01", "2025-12-01")
    row = db.get(Entry, entry["id"])
    assert row is not None
    web_login(client, "a1")
    for path in ("../secret.jpg", "evidence/../../secret.jpg", str(secret), None):
        row.evidence = path
        db.add(row)
        db.flush()
        assert client.get(f"/evidence/{entry['id']}").status_code == 404
    assert client.get("/evidence/999999").status_code == 404


# Results (公示) and objections --------------------------------------------------------------

def test_results_drafts_stay_hidden_and_objections_work(world: World,
                                                        client: TestClient) -> None:
    draft = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                          {"year": 2025, "quarter": 4}), 201)
    token = web_login(client, "a1")
    assert client.get(f"/me/results/{draft['id']}").status_code == 404
    assert f"/me/results/{draft['id']}" not in client.get("/me/results").text
    # Not even a committee member sees a draft on the member pages.
    web_login(client, "sec_a")
    assert client.get(f"/me/results/{draft['id']}").status_code == 404

    ok(world.put("sec_a", f"/reviews/{draft['id']}/scores",
                 {"scores": {str(world.members["a1"]): 3}}))
    ok(world.post("sec_a", f"/reviews/{draft['id']}/publish", {"notice_days": 5}))
    rid = draft["id"]
    token = web_login(client, "a1")
    listing = text_of(client.get("/me/results").text)
    assert "2025年第四季度 公示中 公示期至 2026年1月15日 10:00" in listing
    sheet = client.get(f"/me/results/{rid}").text
    assert len(re.findall(r"<tr", sheet)) == 1 + 6  # header + the six members of branch A
    mine = re.search(r'<tr class="mine" id="my-line">(.*?)</tr>', sheet, re.S)
    assert mine and text_of(mine.group(1)) == "a1 我 3/5 +3 3"
    assert f'action="/me/results/{rid}/objections"' in sheet

    # A plain form post: 303 back to the sheet, which lists the objection.
    plain = client.post(f"/me/results/{rid}/objections",
                        data={"text": "我12月参加了志愿服务", "csrf_token": token},
                        follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/me/results/{rid}"
    page = client.get(f"/me/results/{rid}").text
    assert "我12月参加了志愿服务" in page and "异议已提交" in page
    # HTMX: the objections section alone comes back, the new one in it.
    htmx = client.post(f"/me/results/{rid}/objections", data={"text": "评议分偏低"},
                       headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert htmx.status_code == 201 and "<html" not in htmx.text
    assert "HX-Request" in htmx.headers["Vary"]
    assert 'id="objections"' in htmx.text and "评议分偏低" in htmx.text
    assert "我12月参加了志愿服务" in htmx.text and "异议已提交" in htmx.text
    empty = client.post(f"/me/results/{rid}/objections", data={"text": "  "},
                        headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert empty.status_code == 422 and "请写明异议内容" in empty.text
    # Text refused as the row is written comes back in the form too, not in the banner
    # (#flash), where it stayed beside the next success (the review of issue 14).
    pasted = client.post(f"/me/results/{rid}/objections", data={"text": "偏低\x0b偏低"},
                         headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert pasted.status_code == 422 and "HX-Retarget" not in pasted.headers
    assert 'id="objections"' in pasted.text and "看不见的控制字符" in pasted.text

    # Another member's objection is never shown to a1; the committee's answer is.
    other = ok(world.post("a2", f"/reviews/{rid}/objections", {"text": "a2的异议"}), 201)
    mine_first = ok(world.get("sec_a", f"/reviews/{rid}/objections"))[0]
    ok(world.post("sec_a", f"/objections/{mine_first['id']}/resolve",
                  {"response": "已核实，12月志愿服务已补录"}))
    page = client.get(f"/me/results/{rid}").text
    assert "a2的异议" not in page and "已核实，12月志愿服务已补录" in page
    assert "我有1条异议等待答复" in client.get("/me/results").text
    assert other["member_id"] == world.members["a2"]

    # A member of another branch gets 404, and cannot object.
    b1 = web_login(client, "b1")
    assert client.get(f"/me/results/{rid}").status_code == 404
    refused = client.post(f"/me/results/{rid}/objections", data={"text": "x"},
                          headers={"HX-Request": "true", "X-CSRF-Token": b1})
    assert refused.status_code == 404


def test_finalized_results_take_no_more_objections(world: World, client: TestClient) -> None:
    rid = publish_review(world, 2025, 1, {"a1": 5}, notice_days=0)
    ok(world.post("sec_a", f"/reviews/{rid}/finalize"))
    token = web_login(client, "a1")
    page = client.get(f"/me/results/{rid}").text
    assert "本季度已确认，不能再提出异议" in page and "<textarea" not in page
    answer = client.post(f"/me/results/{rid}/objections", data={"text": "晚了"},
                         headers={"HX-Request": "true", "X-CSRF-Token": token})
    # In the member's words, not the committee's.
    assert answer.status_code == 409 and "不在公示期，不能再提出异议" in answer.text
    assert "只有公示中的评议才能进行此操作" not in answer.text


# HTMX and plain pages ---------------------------------------------------------------------

@pytest.mark.parametrize("path, marker", [
    ("/me?year=2025", 'id="score"'),
    ("/me/entries?year=2025", 'id="entries"'),
])
def test_htmx_gets_partials_and_full_loads_get_pages(world: World, client: TestClient,
                                                     path: str, marker: str) -> None:
    web_login(client, "a1")
    full = client.get(path)
    assert "<html" in full.text and marker in full.text
    assert "HX-Request" in full.headers["Vary"]
    assert '<link rel="stylesheet" href="/static/parts/member.css">' in full.text
    part = client.get(path, headers={"HX-Request": "true"})
    assert part.status_code == 200 and "<html" not in part.text and marker in part.text
    assert "HX-Request" in part.headers["Vary"]
