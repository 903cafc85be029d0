"""The committee's page for importing members: upload → preview with the problems → confirm."""

from __future__ import annotations

import html
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.clock import FixedClock
from app.services.sheets import Row
from app.web.committee.imports import pack_rows, unpack_rows
from tests.api.support import World, login, ok
from tests.api.test_member_import import xlsx
from tests.web.support import web_login

GOOD = [["张三", "第一支部", "在职", "2012-03-05", "zhangsan", ""],
        ["李四", "第一支部", "流动", "2015-07-01", "lisi", "lisi-pass-1"]]


def upload(client: TestClient, token: str, data: bytes, name: str = "名单.xlsx") -> Any:
    return client.post("/committee/import", data={"csrf_token": token},
                       files={"file": (name, data, "application/octet-stream")})


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return html.unescape(match.group(1))


def confirm(client: TestClient, token: str, payload: str, signature: str) -> Any:
    # Sent as the page sends it: multipart (enctype), so the upload size limit applies.
    return client.post("/committee/import/confirm",
                       files={"csrf_token": (None, token), "payload": (None, payload),
                              "token": (None, signature)})


def count(world: World) -> int:
    return int(ok(world.get("admin", "/members", limit=1))["total"])


def usernames(world: World) -> set[str]:
    items = ok(world.get("admin", "/members", org_id=world.branch_a, limit=500))["items"]
    return {m["username"] for m in items}


def test_the_page_offers_the_template_the_upload_and_the_export(world: World,
                                                                client: TestClient) -> None:
    web_login(client, "sec_a")
    page = client.get("/committee/import")
    assert page.status_code == 200
    assert 'href="/committee/import/template.xlsx"' in page.text
    assert 'enctype="multipart/form-data"' in page.text and 'type="file"' in page.text
    assert f'<option value="{world.branch_a}">第一支部</option>' in page.text
    assert "第二支部" not in page.text  # not sec_a's
    template = client.get("/committee/import/template.xlsx")
    book = load_workbook(io.BytesIO(template.content))
    assert [c.value for c in book.worksheets[0][1]][:2] == ["姓名*", "所属支部*"]
    exported = client.get("/committee/import/export",
                          params={"format": "csv", "org_id": str(world.branch_a)})
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "姓名*,所属支部*,类别*,入党日期*,用户名*,身份,党员编号"
    assert sorted(line.split(",")[4] for line in lines[1:]) == \
        ["a1", "a2", "a3", "a4", "sec_a", "vice_a"]


def test_a_member_cannot_open_the_page(world: World, client: TestClient) -> None:
    token = web_login(client, "a1")
    assert client.get("/committee/import").status_code == 403
    before = count(world)
    refused = upload(client, token, xlsx(GOOD))  # back to a page of theirs, told why
    assert "只有支委或管理员可以进行此操作。" in refused.text
    assert count(world) == before


def test_preview_shows_each_problem_by_row_and_column_and_writes_nothing(
        world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    before = count(world)
    rows = [GOOD[0],
            ["", "第二支部", "外星", "2010-02-30", "a1", ""],
            ["王五", "第一支部", "离退休", "1980-01-01", "zhangsan", "123"]]
    page = upload(client, token, xlsx(rows))
    assert page.status_code == 200
    text = page.text
    assert "发现7处问题，一名党员也没有导入" in text
    row3 = text[text.index('id="row-3"'):text.index('id="row-4"')]
    for expected in ("请填写姓名。", "所属支部：没有这个支部，或不在您负责的范围内",
                     "类别：类别须填写：在职、流动、离退休或农村无职。",
                     "入党日期：请填写入党（转入）日期", "用户名：用户名已被使用"):
        assert expected in row3, expected
    # The bad cells are marked; the good one (none here) would not be.
    assert "<mark>第二支部</mark>" in row3 and "<mark>外星</mark>" in row3
    row4 = text[text.index('id="row-4"'):]
    assert "用户名：表中另一行用了同一个用户名" in row4
    assert "初始密码：密码至少8位" in row4
    assert 'id="row-2"' not in text  # row 2 is fine
    assert "其余1行没有问题。" in text
    assert 'action="/committee/import/confirm"' not in text  # nothing to confirm
    assert page.headers["cache-control"] == "no-store"
    assert count(world) == before


def test_bad_files_are_named_in_chinese(world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    assert "无法读取这个文件" in upload(client, token, b"PK\x03\x04junk", "a.xlsx").text
    assert "表格里没有党员" in upload(client, token, b"", "a.csv").text
    no_username = "姓名,所属支部,类别,入党日期\n张三,第一支部,在职,2010-01-01\n"
    answer = upload(client, token, no_username.encode("gb18030"), "a.csv").text
    assert "第1行 · “用户名”列：第一行缺少这一列" in answer


def test_confirm_imports_what_was_previewed_and_shows_passwords_once(
        world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    before = count(world)
    preview = upload(client, token, xlsx(GOOD))
    assert preview.status_code == 200
    assert "共2名党员，没有发现问题" in preview.text
    assert "确认导入2名党员" in preview.text
    assert count(world) == before  # the preview wrote nothing
    done = confirm(client, token, hidden(preview.text, "payload"),
                   hidden(preview.text, "token"))
    assert done.status_code == 200, done.text[:2000]
    assert done.headers["cache-control"] == "no-store"
    assert "已导入2名党员。" in done.text
    password = re.search(r'<strong class="cm-code">(\d{8})</strong>', done.text)
    assert password, done.text
    assert count(world) == before + 2
    assert {"zhangsan", "lisi"} <= usernames(world)
    assert login(client, "zhangsan", password.group(1))
    # The same confirm again (a double click, a resubmitted form): the first import's result,
    # said to be that, without the generated password (kept nowhere); nothing more created.
    again = confirm(client, token, hidden(preview.text, "payload"),
                    hidden(preview.text, "token"))
    assert again.status_code == 200
    assert "您已于2026-01-10 10:00导入过这个文件，共2名党员，这次没有重复导入。" in again.text
    assert "zhangsan" in again.text and "lisi" in again.text
    assert "已在第一次导入时显示" in again.text and 'class="cm-code"' not in again.text
    assert count(world) == before + 2
    # The same file uploaded again on purpose: why every username is taken.
    preview = upload(client, token, xlsx(GOOD))
    assert "您已于2026-01-10 10:00导入过这个文件，共2名党员，所以下面的用户名都已被使用" \
        in preview.text and "第1行" not in preview.text


def test_confirm_refuses_a_changed_payload_another_account_or_an_old_preview(
        world: World, client: TestClient, clock: FixedClock) -> None:
    token = web_login(client, "sec_a")
    before = count(world)
    preview = upload(client, token, xlsx(GOOD)).text
    payload, signature = hidden(preview, "payload"), hidden(preview, "token")
    rows = unpack_rows(payload)
    assert rows is not None and rows[0] == Row(2, {
        "name": "张三", "branch": "第一支部", "category": "在职", "joined_on": "2012-03-05",
        "username": "zhangsan", "password": ""})
    moved = [Row(r.number, r.values | {"branch": "第二支部"}) for r in rows]
    changed = confirm(client, token, pack_rows(moved), signature)
    assert changed.status_code == 422 and "检查结果已过期或被改动" in changed.text
    forged = confirm(client, token, payload, signature[:-4] + "0000")
    assert forged.status_code == 422
    # vice_a (same branch) cannot replay sec_a's preview.
    vice = web_login(client, "vice_a")
    assert confirm(client, vice, payload, signature).status_code == 422
    # Three hours later the preview has expired.
    token = web_login(client, "sec_a")
    clock.advance(hours=3)
    assert confirm(client, token, payload, signature).status_code == 422
    assert count(world) == before


def test_a_username_taken_after_the_preview_stops_the_whole_import(
        world: World, client: TestClient) -> None:
    token = web_login(client, "sec_a")
    preview = upload(client, token, xlsx(GOOD)).text
    world.add_member("lisi", world.branch_b)
    before = count(world)
    answer = confirm(client, token, hidden(preview, "payload"), hidden(preview, "token"))
    assert answer.status_code == 422
    assert "用户名：用户名已被使用" in answer.text
    assert count(world) == before
    assert "zhangsan" not in usernames(world)  # the good row was not imported alone
