"""Printed notices (公示): the A4 print page and its PDF, made from the same template."""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.api.support import EARLY_REASON, NO_NOTICE, World, ok, refused
from tests.web.support import web_login

Q1 = "2025-02-14"
ROOT = Path(__file__).resolve().parents[2]
TITLE = "2025年第一季度 党员积分公示"


def published_review(world: World, scores: dict[str, int], notice_days: int = 5) -> int:
    """Branch A's 2025 Q1 review with these review scores (the rest get the default 5)."""
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores",
                 {"scores": {str(world.members[m]): s for m, s in scores.items()}}))
    # Below the year's minimum notice, with the reason a branch would give (issue 17).
    early = {"reason": EARLY_REASON} if notice_days < 5 else {}
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish",
                  {"notice_days": notice_days} | early))
    review_id: int = review["id"]
    return review_id


def rows_of(html: str) -> dict[str, tuple[str, ...]]:
    """The notice table: name → the cells after it."""
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    rows: dict[str, tuple[str, ...]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                       row, re.S)]
        rows[cells[1]] = tuple(cells[2:])
    return rows


def pdf_pages(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    return [page.get_textpage().get_text_range() for page in document]


def font_of(textpage: Any, index: int) -> str:
    buffer = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    size = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buffer, 256, ctypes.byref(flags))
    return buffer.raw[:max(size - 1, 0)].decode("utf-8", "replace")


def glyph_bitmap(page: Any, textpage: Any, index: int, scale: float) -> Any:
    """The rendered pixels (grey, 0 = black) of one character's box."""
    left, bottom, right, top = textpage.get_charbox(index)
    height = page.get_height()
    image = page.render(scale=scale, grayscale=True).to_pil()
    box = (int(left * scale), int((height - top) * scale),
           int(right * scale) + 1, int((height - bottom) * scale) + 1)
    return image.crop(box)


def ink(image: Any) -> int:
    return sum(1 for p in image.tobytes() if p < 128)


def differing(a: Any, b: Any) -> float:
    """How unlike two glyph images are, 0 to 1: the mean difference of their grey levels,
    each cut to its ink and shrunk to 16 × 16 (coarse, so the same glyph drawn at another
    sub-pixel offset stays alike)."""
    small = [image.crop(image.point(lambda p: 255 if p < 128 else 0).getbbox())
             .resize((16, 16), Image.Resampling.BOX).tobytes() for image in (a, b)]
    return sum(abs(x - y) for x, y in zip(*small, strict=True)) / (255 * 256)


# The print page

def test_print_page_has_the_title_every_member_and_print_css(world: World,
                                                             client: TestClient) -> None:
    world.entry("sec_a", "a1", "P01", Q1)  # 2 points, recorded by the committee: approved
    review_id = published_review(world, {"a1": 4, "a2": 2})
    web_login(client, "sec_a")
    page = client.get(f"/committee/reviews/{review_id}/print")
    assert page.status_code == 200, page.text
    html = page.text
    assert f"<title>第一支部 {TITLE}</title>" in html
    assert f'<h1><span class="branch">第一支部</span> {TITLE}</h1>' in html
    # ytd = positive + review: a1 2 + 4; a2 0 + 2; the rest the default 5.
    assert rows_of(html) == {
        "sec_a": ("5/5", "+5", "5"), "vice_a": ("5/5", "+5", "5"), "a1": ("4/5", "+6", "6"),
        "a2": ("2/5", "+2", "2"), "a3": ("5/5", "+5", "5"), "a4": ("5/5", "+5", "5")}
    assert "共 6 名党员。" in html
    # Published at the test clock, 2026-01-10 02:00 UTC, for 5 days; Beijing time.
    assert "公示期：</dt><dd>2026年1月10日 10:00 至 2026年1月15日 10:00</dd>" in html
    assert "<p class=\"seal\">2026年1月10日</p>" in html  # the date under the seal
    assert "（盖章）" in html and "支部书记（签字）" in html
    assert '<link rel="stylesheet" href="/static/print.css">' in html
    assert '<nav class="toolbar no-print"' in html and "data-print>打印</button>" in html
    assert f'href="/committee/reviews/{review_id}/notice.pdf"' in html
    assert 'class="tabs"' not in html and "退出登录" not in html  # not the site's frame
    assert "草稿" not in html
    sheet = client.get(f"/committee/reviews/{review_id}").text
    assert f'href="/committee/reviews/{review_id}/print"' in sheet
    assert f'href="/committee/reviews/{review_id}/notice.pdf"' in sheet
    css = client.get("/static/print.css").text
    assert re.search(r"@page\s*{\s*size:\s*A4;", css)
    assert "counter(page)" in css and "counter(pages)" in css
    assert re.search(r"@media print\s*{[^@]*\.no-print\s*{\s*display:\s*none", css)
    assert "window.print()" in client.get("/static/print.js").text


def test_a_notice_of_no_days_says_so_rather_than_a_period_of_no_time(
        world: World, client: TestClient) -> None:
    review_id = published_review(world, {"a1": 4}, notice_days=0)
    web_login(client, "sec_a")
    html = client.get(f"/committee/reviews/{review_id}/print").text
    assert "公示期：</dt><dd>2026年1月10日 10:00 公布，未设公示期</dd>" in html
    assert " 至 " not in html.split("公示期：", 1)[1].split("</dd>", 1)[0]


def test_a_draft_prints_marked_as_a_draft(world: World, client: TestClient) -> None:
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    web_login(client, "sec_a")
    html = client.get(f"/committee/reviews/{review['id']}/print").text
    assert "草稿 · 尚未公示，仅供核对" in html and "尚未公示</dd>" in html
    assert "　　　　年　　月　　日" in html  # the date is left for the pen


# The PDF

def test_pdf_is_the_notice_in_a_chinese_font(world: World, client: TestClient) -> None:
    review_id = published_review(world, {"a1": 4})
    web_login(client, "sec_a")
    answer = client.get(f"/committee/reviews/{review_id}/notice.pdf")
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    pdf = answer.content
    assert pdf.startswith(b"%PDF-")
    pages = pdf_pages(pdf)
    assert len(pages) == 1  # six members fit on one page
    text = pages[0]
    assert "第一支部" in text and TITLE in text.replace("\r\n", " ").replace("\n", " ")
    for name in ("sec_a", "vice_a", "a1", "a2", "a3", "a4"):
        assert name in text
    assert "支部书记（签字）" in text
    assert "打印" not in text and "下载" not in text  # no toolbar in the PDF

    document = pdfium.PdfDocument(pdf)
    page = document[0]
    textpage = page.get_textpage()
    full = textpage.get_text_range()
    start = full.index("党员积分公示")
    title_fonts = {font_of(textpage, start + i) for i in range(6)}
    assert all("WenQuanYi" in f for f in title_fonts), title_fonts

    # The title is drawn with real, different glyphs: ink in every character's box, and
    # different characters look different (blank boxes, or tofu boxes, would all look alike).
    glyphs = [glyph_bitmap(page, textpage, start + i, 4) for i in range(6)]
    assert all(ink(g) > 40 for g in glyphs), [ink(g) for g in glyphs]
    for i in range(6):
        for j in range(i + 1, 6):
            assert differing(glyphs[i], glyphs[j]) > 0.12, (i, j)
    # ... while the same character drawn twice at the same size looks the same: 度 in the
    # table's 本季度得分 and 年度累计.
    same = [glyph_bitmap(page, textpage, k, 4)
            for k in (full.index("本季度得分") + 2, full.index("年度累计") + 1)]
    assert differing(same[0], same[1]) < 0.08


def test_sixty_members_take_two_pages_with_the_header_repeated(
        world: World, client: TestClient) -> None:
    # How long the PDF takes is bench/files.py's review_pdf_ms, not a timed test here.
    for n in range(54):
        world.add_member(f"m{n:02d}", world.branch_a, name=f"党员{n:02d}号")
    review_id = published_review(world, {})
    web_login(client, "sec_a")
    answer = client.get(f"/committee/reviews/{review_id}/notice.pdf")
    assert answer.status_code == 200
    pages = pdf_pages(answer.content)
    assert len(pages) == 2
    assert "党员00号" in pages[0] and "党员53号" in pages[1] and "党员53号" not in pages[0]
    assert all("姓名" in p and "年度累计" in p for p in pages)  # the header on every page
    assert "支部书记（签字）" in pages[1]
    assert "1 / 2" in pages[0] and "2 / 2" in pages[1]
    text = "".join(pages)
    assert all(f"党员{n:02d}号" in text for n in range(54))


# The annual rating

def finalize_year(world: World) -> None:
    for quarter in (1, 2, 3, 4):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)
        ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
        ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))


def test_rating_notice_page_and_pdf(world: World, client: TestClient) -> None:
    world.entry("sec_a", "a4", "V01", Q1, note="受到党内警告处分")
    finalize_year(world)
    rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings", {"year": 2025}), 201)
    rating_id = rating["id"]
    # A member sees the branch's rating once it is approved, not before.
    refused(world.client.get(f"/api/v1/ratings/{rating_id}/notice.pdf",
                             headers=world.as_("a1")), 404)
    web_login(client, "sec_a")
    url = f"/committee/ratings/{rating_id}/print"
    # A draft: the notice period is left blank to be written in by hand.
    html = client.get(url).text
    assert "公示期：</dt><dd><span" in html and "上级党委审批" not in html
    # Published for 5 days (the clock at 2026-01-10 10:00 Beijing): the dates filled in.
    for step in ("ballot/open", "ballot/close"):
        ok(world.post("sec_a", f"/ratings/{rating_id}/{step}"))
    ok(world.post("sec_a", f"/ratings/{rating_id}/publish", {"notice_days": 5}))
    period = "2026年1月10日 10:00 至 2026年1月15日 10:00"
    html = client.get(url).text
    assert f"公示期：</dt><dd>{period}</dd>" in html
    assert "上级党委审批：</dt><dd>尚未审批</dd>" in html
    (text,) = pdf_pages(client.get(f"/committee/ratings/{rating_id}/notice.pdf").content)
    assert "2026年1月10日 10:00" in text and "2026年1月15日 10:00" in text
    # Submitted after the notice and approved by the 党委 on 2026-01-16.
    world.clock.advance(days=6)
    ok(world.post("sec_a", f"/ratings/{rating_id}/submit"))
    ok(world.post("party_sec", f"/ratings/{rating_id}/approve"))
    web_login(client, "sec_a")
    assert f'href="/committee/ratings/{rating_id}/print"' in client.get(
        f"/committee/ratings/{rating_id}").text
    html = client.get(url).text
    assert "2025年度 党员评星定级结果公示" in html
    assert f"公示期：</dt><dd>{period}</dd>" in html
    assert "上级党委审批：</dt><dd>2026年1月16日 10:00</dd>" in html
    rows = rows_of(html)
    assert set(rows) == {"sec_a", "vice_a", "a1", "a2", "a3", "a4"}
    # Four reviews of 5 and nothing else: 20 points, no star; a4 vetoed: 0 and 不合格.
    assert rows["a1"] == ("20", "☆☆☆☆☆", "不合格")
    assert rows["a4"] == ("0", "☆☆☆☆☆", "不合格")
    assert "参评 6 人，其中优秀 0 人（不超过参评人数的三分之一，上限 2 人）；免评 0 人。" in html
    answer = world.client.get(f"/api/v1/ratings/{rating_id}/notice.pdf", headers=world.as_("a1"))
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    (text,) = pdf_pages(answer.content)
    assert "党员评星定级结果公示" in text and "不合格" in text and "vice_a" in text


# Who may print

def test_only_the_branch_and_its_committees_may_print(world: World,
                                                      client: TestClient) -> None:
    review_id = published_review(world, {})
    draft = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                          {"year": 2025, "quarter": 2}), 201)["id"]
    web_login(client, "sec_b")  # the committee of another branch
    assert client.get(f"/committee/reviews/{review_id}/print").status_code == 404
    assert client.get(f"/committee/reviews/{review_id}/notice.pdf").status_code == 404
    web_login(client, "b1")  # a member of another branch
    assert client.get(f"/committee/reviews/{review_id}/print").status_code == 403
    assert client.get(f"/me/results/{review_id}/print").status_code == 404
    assert client.get(f"/me/results/{review_id}/notice.pdf").status_code == 404
    refused(world.client.get(f"/api/v1/reviews/{review_id}/notice.pdf",
                             headers=world.as_("b1")), 404)
    web_login(client, "party_sec")  # the 党委's committee covers branch A
    assert client.get(f"/committee/reviews/{review_id}/print").status_code == 200

    web_login(client, "a1")
    assert client.get(f"/committee/reviews/{review_id}/print").status_code == 403
    page = client.get(f"/me/results/{review_id}/print")
    assert page.status_code == 200 and TITLE in page.text
    assert f'href="/me/results/{review_id}/notice.pdf"' in page.text
    assert f'href="/me/results/{review_id}/print"' in client.get(
        f"/me/results/{review_id}").text
    assert client.get(f"/me/results/{draft}/print").status_code == 404  # not published
    answer = client.get(f"/me/results/{review_id}/notice.pdf")
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    refused(world.client.get(f"/api/v1/reviews/{draft}/notice.pdf",
                             headers=world.as_("a1")), 404)
    answer = world.client.get(f"/api/v1/reviews/{review_id}/notice.pdf",
                              headers=world.as_("a1"))
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    refused(world.client.get("/api/v1/reviews/0/notice.pdf", headers=world.as_("a1")), 422)
    refused(world.client.get("/api/v1/reviews/1/notice.pdf"), 401)


# Without pango

def test_without_weasyprint_the_pdf_answers_503_and_the_page_still_prints(
        world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    review_id = published_review(world, {})
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` now fails
    web_login(client, "sec_a")
    answer = client.get(f"/committee/reviews/{review_id}/notice.pdf")
    assert answer.status_code == 503
    assert "本服务器暂时不能生成PDF，请打开打印页面，用浏览器打印。" in answer.text
    assert client.get(f"/committee/reviews/{review_id}/print").status_code == 200
    body = refused(world.client.get(f"/api/v1/reviews/{review_id}/notice.pdf",
                                    headers=world.as_("sec_a")), 503, "pdf_unavailable")
    assert "pango" in body["detail"]


def test_the_app_starts_without_weasyprint() -> None:
    """pango missing makes `import weasyprint` fail: nothing may import it at start-up."""
    script = ("import sys; sys.modules['weasyprint'] = None\n"
              "from fastapi.testclient import TestClient\n"
              "from app.main import app\n"
              "print(TestClient(app).get('/healthz').json()['status'])\n"
              "print('weasyprint' in sys.modules and sys.modules['weasyprint'] is not None)\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["ok", "False"]


def test_names_are_text_in_the_page_and_in_the_pdf(world: World, client: TestClient) -> None:
    world.add_member("odd", world.branch_a, name='<img src="/static/icon.svg">&')
    review_id = published_review(world, {})
    web_login(client, "sec_a")
    html = client.get(f"/committee/reviews/{review_id}/print").text
    assert "&lt;img src=&#34;/static/icon.svg&#34;&gt;&amp;" in html and "<img" not in html
    (text,) = pdf_pages(client.get(f"/committee/reviews/{review_id}/notice.pdf").content)
    assert '<img src="/static/icon.svg">&' in text
