"""The committee's page for importing a sheet of entries, and the member's year download."""

from __future__ import annotations

import html
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from app.services.sheets import XLSX_TYPE, Row
from app.web.committee.imports import pack_rows, unpack_rows
from tests.api.support import NO_NOTICE, World, ok
from tests.api.test_entry_import import entries_of, entry_count, sheet_csv
from tests.web.support import csrf_of, web_login

PAGE = "/committee/import/entries"
_HIDDEN = re.compile(r'<input type="hidden" name="(payload|year|token)" value="([^"]*)"')


def post_file(client: TestClient, token: str, data: bytes, filename: str = "march.csv",
              year: str = "2025") -> Any:
    return client.post(PAGE, data={"csrf_token": token, "year": year},
                       files={"file": (filename, data)}, follow_redirects=False)


def carried(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def confirm(client: TestClient, token: str, fields: dict[str, str]) -> Any:
    return client.post(f"{PAGE}/confirm", data={"csrf_token": token, **fields},
                       follow_redirects=False)


def test_upload_preview_confirm_without_a_second_upload(world: World, client: TestClient,
                                                        db: Session) -> None:
    token = web_login(client, "sec_a")
    start = client.get(PAGE)
    assert start.status_code == 200 and "下载导入模板" in start.text
    template = client.get(f"{PAGE}/template.xlsx?year=2025")
    assert template.headers["content-type"] == XLSX_TYPE
    assert [c.value for c in load_workbook(io.BytesIO(template.content)).worksheets[0][1]][:5] \
        == ["用户名", "姓名", "支部", "日期", "规则编号"]
    before = entry_count(db)
    data = sheet_csv(["a1", "", "", "2025-03-14", "P01", "2", "", "三月学习"],
                     ["sec_a", "", "", "2025-03-15", "B01", "", "3", ""])
    preview = post_file(client, token, data)
    assert preview.status_code == 200, preview.text
    assert "检查通过" in preview.text and "确认导入2条记录" in preview.text
    assert "1条导入后直接生效" in preview.text and "1条关于您本人" in preview.text
    assert entry_count(db) == before           # the preview writes nothing
    fields = carried(preview.text)
    assert set(fields) == {"payload", "year", "token"}
    done = confirm(client, token, fields)
    assert done.status_code == 303 and done.headers["location"] == "/committee"
    assert entry_count(db) == before + 2
    assert [(e["rule_code"], e["quantity"], e["points"], e["status"])
            for e in entries_of(world, "sec_a", "a1")] == [("P01", 2, 4, "approved")]
    assert "已导入2条积分记录。其中1条关于您本人，需其他支委审核。" in client.get("/committee").text


def test_the_same_confirm_three_times_imports_once_and_says_so(world: World,
                                                                client: TestClient,
                                                                db: Session) -> None:
    token = web_login(client, "sec_a")
    data = sheet_csv(["a1", "", "", "2025-05-06", "N02", "", "", "缺学"],
                     ["sec_a", "", "", "2025-05-07", "B01", "", "3", ""])
    fields = carried(post_file(client, token, data).text)
    before = entry_count(db)
    first = confirm(client, token, fields)
    assert first.status_code == 303 and first.headers["location"] == "/committee"
    assert "已导入2条积分记录。其中1条关于您本人，需其他支委审核。" in client.get("/committee").text
    world.clock.advance(minutes=3)
    token = csrf_of(client, PAGE)
    for _ in range(2):   # a double click, then the browser's resubmit
        again = confirm(client, token, fields)
        assert again.status_code == 303 and again.headers["location"] == "/committee"
        assert "您已于2026-01-10 10:00导入过这个文件，共2条积分记录，这次没有重复导入。" \
            "其中1条关于您本人，需其他支委审核。" in client.get("/committee").text
    assert entry_count(db) == before + 2
    assert [e["points"] for e in entries_of(world, "sec_a", "a1")] == [-3]
    # Uploading the same file again on purpose: the preview says it was imported, and when.
    preview = post_file(client, token, data)
    assert "您已于2026-01-10 10:00导入过这个文件，共2条积分记录，不需要再次导入。" \
        in preview.text
    # No confirm to press, and no "import it again?" beside it (the review of issue 14).
    assert "这个文件已经导入过" in preview.text and "检查通过" not in preview.text
    assert 'name="payload"' not in preview.text and "是否重复导入" not in preview.text


def test_a_tampered_or_stale_carry_is_refused(world: World, client: TestClient,
                                              db: Session) -> None:
    token = web_login(client, "sec_a")
    preview = post_file(client, token, sheet_csv(["a1", "", "", "2025-03-14", "P01", "", "",
                                                  ""]))
    fields = carried(preview.text)
    before = entry_count(db)
    rows = unpack_rows(fields["payload"])
    assert rows is not None and rows[0].values["rule_code"] == "P01"
    other = [Row(r.number, r.values | {"quantity": "9"}) for r in rows]
    forged = fields | {"payload": pack_rows(other)}
    for bad in (forged, fields | {"year": "2024"}, fields | {"token": "1.abc"},
                fields | {"payload": "x" + fields["payload"]}):
        answer = confirm(client, token, bad)
        assert answer.status_code == 422 and "检查结果已过期或被改动" in answer.text
    # Another committee member cannot replay sec_a's preview.
    token_b = web_login(client, "vice_a")
    assert confirm(client, token_b, fields).status_code == 422
    # Nor can sec_a, two hours and more later.
    token = web_login(client, "sec_a")
    world.clock.advance(hours=2, seconds=5)
    token = csrf_of(client, PAGE)
    stale = confirm(client, token, fields)
    assert stale.status_code == 422 and "检查结果已过期或被改动" in stale.text
    assert entry_count(db) == before


def test_errors_are_listed_by_row_and_column_in_chinese(world: World, client: TestClient,
                                                        db: Session) -> None:
    token = web_login(client, "sec_a")
    before = entry_count(db)
    data = sheet_csv(["a1", "", "", "2025-03-14", "P01", "", "", ""],
                     ["a1", "", "", "2025-13-40", "X99", "", "", ""],
                     ["a1", "", "", "2025-04-01", "B01", "", "8", ""],
                     ["nobody", "", "", "2025-04-01", "P01", "", "", ""])
    page = post_file(client, token, data)
    assert page.status_code == 422
    text = page.text
    assert "3行中发现4处错误，一条记录也没有导入" in text
    assert "第3行" in text and "“日期”列（2025-13-40）：日期格式不对" in text
    assert "“规则编号”列（X99）：没有这个积分项目。" in text
    assert "“分值”列（8）：B01的分值须为1到5分。" in text
    assert "“用户名”列（nobody）：没有找到这名党员，或不在您负责的支部。" in text
    assert "确认导入" not in text and 'name="payload"' not in text
    assert "<mark>X99</mark>" in text
    assert entry_count(db) == before
    for bad, message in ((b"\x00\x01garbage", "无法读取这个文件"),
                         (sheet_csv(), "表格里没有记录"),
                         (sheet_csv(["a1", "2025-05-01"], headings=["用户名", "日期"]),
                          "“规则编号”列：第一行缺少这一列")):
        answer = post_file(client, token, bad)
        assert answer.status_code == 422 and message in answer.text
    assert entry_count(db) == before


def test_a_quarter_finalized_between_preview_and_confirm(world: World, client: TestClient,
                                                         db: Session) -> None:
    token = web_login(client, "sec_a")
    preview = post_file(client, token, sheet_csv(["a1", "", "", "2025-02-03", "P01", "", "",
                                                  ""]))
    assert "检查通过" in preview.text
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))
    before = entry_count(db)
    answer = confirm(client, token, carried(preview.text))
    assert answer.status_code == 422 and "第一季度已确认" in answer.text
    assert entry_count(db) == before


def test_only_committee_members_open_the_page(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    assert client.get(f"{PAGE}?year=²").status_code == 200
    assert confirm(client, token, {"payload": "x", "year": "²",
                                   "token": "²."}).status_code == 422
    web_login(client, "a1")
    assert client.get("/me/entries/export?year=²").status_code == 200
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}/template.xlsx").status_code == 403


def test_the_member_downloads_their_year_from_their_entries_page(world: World,
                                                                 client: TestClient) -> None:
    world.entry("sec_a", "a1", "P02", "2025-05-05", quantity=3)
    web_login(client, "a1")
    page = client.get("/me/entries?year=2025")
    assert 'href="/me/entries/export?year=2025"' in page.text
    answer = client.get("/me/entries/export?year=2025")
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX_TYPE
    rows = list(load_workbook(io.BytesIO(answer.content)).worksheets[0]
                .iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[4], r[5]) for r in rows] == [("a1", "P02", 3)]
    csv_text = client.get("/me/entries/export?year=2025&format=csv").content.decode()
    assert "a1,a1,第一支部,2025-05-05,P02,3" in csv_text
    # A member's page cannot fetch someone else's; the committee can.
    assert client.get(f"/committee/members/{world.members['a2']}/entries/export").status_code \
        == 403
    web_login(client, "sec_a")
    assert client.get(f"/committee/members/{world.members['a1']}/entries/export?year=2025"
                      ).status_code == 200
    assert client.get(f"/committee/members/{world.members['b1']}/entries/export"
                      ).status_code == 404
    # The committee reaches the download from the member's page, and both imports from home.
    a1 = world.members["a1"]
    member_page = client.get(f"/committee/members/{a1}?year=2025").text
    assert f'href="/committee/members/{a1}/entries/export?year=2025"' in member_page
    assert "下载2025年的记录（Excel）" in member_page
    home = client.get("/committee").text
    assert 'href="/committee/import"' in home and 'href="/committee/import/entries"' in home
    assert "导入党员名单" in home and "批量导入积分" in home
