"""Members from a table and back: the template, the checked preview, the all-or-nothing
import, the export in the same columns (POST /api/v1/members/import, GET .../export)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session

from app.present.labels import CATEGORY_LABELS
from app.present.messages import MESSAGES
from app.services import member_import
from app.services.member_import import CATEGORY_NAMES, MAX_IMPORT_ROWS
from app.services.sheets import XLSX_TYPE
from tests.api.support import PASSWORD, World, login, ok

HEADINGS = ["姓名", "所属支部", "类别", "入党日期", "用户名", "初始密码"]
A, B = "第一支部", "第二支部"


def xlsx(rows: list[list[Any]], headings: list[str] = HEADINGS) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[str]], headings: list[str] = HEADINGS,
              encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def send(world: World, who: str, data: bytes, name: str = "members.xlsx",
         dry_run: bool = False) -> Any:
    form = {"dry_run": "true"} if dry_run else {}
    return world.client.post("/api/v1/members/import", headers=world.as_(who), data=form,
                             files={"file": (name, data, "application/octet-stream")})


def member_count(world: World) -> int:
    return int(ok(world.get("admin", "/members", limit=1))["total"])


def members_of(world: World, branch: int) -> dict[str, dict[str, Any]]:
    items = ok(world.get("admin", "/members", org_id=branch, limit=500))["items"]
    return {m["username"]: m for m in items}


def problems(answer: Any) -> set[tuple[int, str | None, str]]:
    body = answer.json()
    return {(e["row"], e["column"], e["code"]) for e in body["errors"]}


def read_sheet(data: bytes) -> list[list[Any]]:
    book = load_workbook(io.BytesIO(data))
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


GOOD = [["张三", A, "在职", "2012-03-05", "zhangsan", ""],
        ["李四", A, "离退休", "1975/7/1", "lisi", "lisi-pass-1"],
        ["王五", A, "rural", "2001年10月1日", "wangwu", ""]]


# --------------------------------------------------------------------------- the template
def test_template_is_a_real_xlsx_whose_headings_read_back(world: World) -> None:
    answer = world.client.get("/api/v1/members/import/template.xlsx",
                              headers=world.as_("sec_a"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX_TYPE
    book = load_workbook(io.BytesIO(answer.content))
    assert book.sheetnames == ["党员名单", "说明"]
    assert [c.value for c in book["党员名单"][1]] == \
        ["姓名*", "所属支部*", "类别*", "入党日期*", "用户名*", "身份", "初始密码"]
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert "在职、流动、离退休、农村无职" in notes["类别（必填）"]
    # Filled in as downloaded, the template imports.
    sheet = book["党员名单"]
    sheet.append(["赵六", A, "流动", "2019-06-30", "zhaoliu", None, None])
    out = io.BytesIO()
    book.save(out)
    created = ok(send(world, "sec_a", out.getvalue()), 201)
    assert created["created"] == 1
    assert members_of(world, world.branch_a)["zhaoliu"]["category"] == "mobile"


def test_category_names_are_the_pages_labels() -> None:
    assert {code: name for name, code in CATEGORY_NAMES.items()} == CATEGORY_LABELS
    assert str(MAX_IMPORT_ROWS) in MESSAGES["too_many_rows"]


# --------------------------------------------------------------------------- preview, import
def test_preview_checks_and_writes_nothing(world: World) -> None:
    before = member_count(world)
    body = ok(send(world, "sec_a", xlsx(GOOD), dry_run=True))
    assert body["ok"] is True and body["total"] == 3 and body["valid"] == 3
    assert body["errors"] == []
    assert [r["row"] for r in body["rows"]] == [2, 3, 4]
    assert body["rows"][1]["values"]["name"] == "李四"
    assert "password" not in body["rows"][1]["values"]  # never echoed
    assert [r["password_given"] for r in body["rows"]] == [False, True, False]
    assert member_count(world) == before


def test_passwords_are_hashed_together_and_outside_the_transaction(
        world: World, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """300 argon2 hashes take most of a minute: made at once, in parallel, with no
    transaction open (on SQLite a writer's transaction holds the one write lock)."""
    calls: list[tuple[int, bool]] = []

    def hash_passwords(passwords: list[str]) -> list[str]:
        calls.append((len(passwords), db.in_transaction()))
        return real(passwords)

    real = member_import.hash_passwords
    monkeypatch.setattr(member_import, "hash_passwords", hash_passwords)
    assert ok(send(world, "sec_a", xlsx(GOOD)), 201)["created"] == 3
    assert calls == [(3, False)]


def test_import_creates_all_with_generated_passwords_shown_once(world: World) -> None:
    before = member_count(world)
    answer = send(world, "sec_a", xlsx(GOOD))
    body = ok(answer, 201)
    assert answer.headers["cache-control"] == "no-store"
    assert body["created"] == 3
    by_name = {m["username"]: m for m in body["members"]}
    assert by_name["lisi"]["password"] is None            # the file gave it
    generated = by_name["zhangsan"]["password"]
    assert generated.isdigit() and len(generated) == 8
    assert member_count(world) == before + 3
    stored = members_of(world, world.branch_a)
    assert (stored["zhangsan"]["name"], stored["zhangsan"]["category"],
            stored["zhangsan"]["joined_on"]) == ("张三", "active", "2012-03-05")
    assert (stored["lisi"]["category"], stored["lisi"]["joined_on"]) == \
        ("retired", "1975-07-01")
    assert (stored["wangwu"]["category"], stored["wangwu"]["joined_on"]) == \
        ("rural", "2001-10-01")
    assert stored["wangwu"]["id"] == by_name["wangwu"]["member_id"]
    # The passwords work: the generated one and the file's.
    assert login(world.client, "zhangsan", generated)
    assert login(world.client, "lisi", "lisi-pass-1")
    # The committee's branch was touched (audited creation, like POST /members).
    audit = ok(world.get("admin", "/audit", object_type="member",
                         object_id=by_name["zhangsan"]["member_id"]))
    assert [e["action"] for e in audit["items"]] == ["member.create"]


def test_gb18030_csv_imports(world: World) -> None:
    data = csv_bytes([["钱七", A, "在职", "2015-05-04", "qianqi", ""]], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    body = ok(send(world, "vice_a", data, "名单.csv"), 201)
    assert body["members"][0]["name"] == "钱七"
    assert members_of(world, world.branch_a)["qianqi"]["name"] == "钱七"


BAD_FILES: dict[str, tuple[bytes, str, set[tuple[int, str | None, str]]]] = {
    "missing name": (xlsx([GOOD[0], ["", A, "在职", "2010-01-01", "noname", ""]]),
                     "m.xlsx", {(3, "name", "member_name_required")}),
    "unknown branch": (xlsx([["张三", "第九支部", "在职", "2010-01-01", "zs9", ""]]),
                       "m.xlsx", {(2, "branch", "branch_unknown")}),
    "duplicate username in the file": (
        xlsx([GOOD[0], ["张三二", A, "在职", "2010-01-01", "zhangsan", ""]]), "m.xlsx",
        {(3, "username", "username_duplicate")}),
    "username of an existing account": (
        xlsx([GOOD[0], ["重名", A, "在职", "2010-01-01", "a1", ""]]), "m.xlsx",
        {(3, "username", "username_taken")}),
    "bad category": (xlsx([["张三", A, "党员", "2010-01-01", "zs", ""]]), "m.xlsx",
                     {(2, "category", "category_unknown")}),
    "bad date": (xlsx([["张三", A, "在职", "2010-13-01", "zs", ""]]), "m.xlsx",
                 {(2, "joined_on", "joined_on_invalid")}),
    "joined in the future": (xlsx([["张三", A, "在职", "2026-02-01", "zs", ""]]), "m.xlsx",
                             {(2, "joined_on", "future_date")}),
    "bad username and short password": (
        xlsx([["张三", A, "在职", "2010-01-01", "张三", "123"]]), "m.xlsx",
        {(2, "username", "username_invalid"), (2, "password", "password_too_short")}),
    "not an xlsx at all": (b"PK\x03\x04 this is no zip at all" * 10, "m.xlsx",
                           {(1, None, "bad_file")}),
    "an old .xls": (b"\xd0\xcf\x11\xe0" + b"\x00" * 500, "old.xls", {(1, None, "bad_file")}),
    "empty file": (b"", "m.csv", {(1, None, "import_empty")}),
    "headings only": (xlsx([]), "m.xlsx", {(2, None, "import_empty")}),
    "missing heading column": (csv_bytes([["张三", A, "在职", "2010-01-01"]],
                                         headings=HEADINGS[:4]), "m.csv",
                               {(1, "username", "column_missing")}),
    "GB18030 CSV with a bad row": (
        csv_bytes([["张三", A, "在职", "2010-01-01", "zs", ""],
                   ["李四", "第九支部", "外星", "昨天", "ls", ""]], encoding="gb18030"),
        "m.csv", {(3, "branch", "branch_unknown"), (3, "category", "category_unknown"),
                  (3, "joined_on", "joined_on_invalid")}),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_bad_file_is_refused_naming_row_and_column_and_nothing_is_written(
        world: World, kind: str) -> None:
    data, name, expected = BAD_FILES[kind]
    before = member_count(world)
    preview = ok(send(world, "sec_a", data, name, dry_run=True))
    assert preview["ok"] is False
    assert {(e["row"], e["column"], e["code"]) for e in preview["errors"]} == expected
    answer = send(world, "sec_a", data, name)
    body = ok(answer, 422)
    assert body["code"] == "import_invalid" and "nothing was imported" in body["detail"]
    assert problems(answer) == expected
    for error in body["errors"]:
        assert error["message"]
        assert error["code"] in MESSAGES, error   # a Chinese message for the page
        if error["column"]:
            assert error["heading"] in HEADINGS
        else:
            assert error["heading"] == ""
        if error["column"] == "password":
            assert error["value"] == ""             # a password is never echoed
        elif error["column"] == "branch":
            assert error["value"] == "第九支部"
    assert member_count(world) == before
    # Nothing half-written: the good rows of the file were not created either.
    assert "zhangsan" not in members_of(world, world.branch_a)


# --------------------------------------------------------------------------- who may
def test_a_member_may_not_import_or_export(world: World) -> None:
    before = member_count(world)
    body = ok(send(world, "a1", xlsx(GOOD)), 403)
    assert body["code"] == "committee_only"
    assert ok(world.get("a1", "/members/export"), 403)["code"] == "committee_only"
    assert member_count(world) == before


def test_committee_of_a_cannot_import_into_b(world: World) -> None:
    before = member_count(world)
    rows = [["张三", A, "在职", "2010-01-01", "zs", ""],
            ["李四", B, "在职", "2010-01-01", "ls", ""],
            ["王五", str(world.branch_b), "在职", "2010-01-01", "ww", ""]]
    answer = send(world, "sec_a", xlsx(rows))
    assert problems(answer) == {(3, "branch", "branch_unknown"),
                                (4, "branch", "branch_unknown")}
    assert member_count(world) == before
    # The 党委's committee manages both branches; the branch's number works too.
    body = ok(send(world, "party_sec", xlsx(rows)), 201)
    assert [m["org_id"] for m in body["members"]] == \
        [world.branch_a, world.branch_b, world.branch_b]


# --------------------------------------------------------------------------- export
def test_export_is_the_callers_branches_in_the_template_columns(world: World) -> None:
    answer = world.client.get("/api/v1/members/export", headers=world.as_("sec_a"))
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX_TYPE
    rows = read_sheet(answer.content)
    assert rows[0] == ["姓名*", "所属支部*", "类别*", "入党日期*", "用户名*", "身份", "党员编号"]
    assert sorted(r[4] for r in rows[1:]) == ["a1", "a2", "a3", "a4", "sec_a", "vice_a"]
    # Each row carries the member's id, as GET /members answers it (issue 18).
    assert {r[4]: r[6] for r in rows[1:]} == {
        u: world.members[u] for u in ("a1", "a2", "a3", "a4", "sec_a", "vice_a")}
    assert rows[1][1:4] == [A, "在职", rows[1][3]] and rows[1][3].date().isoformat() == \
        "2010-07-01"
    # Another branch is outside sec_a's scope.
    assert ok(world.get("sec_a", "/members/export", org_id=world.branch_b), 404)
    # The administrator, one branch, as CSV.
    text = world.client.get("/api/v1/members/export", params={"format": "csv",
                                                              "org_id": world.branch_b},
                            headers=world.admin).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["姓名*", "所属支部*", "类别*", "入党日期*", "用户名*", "身份", "党员编号"]
    assert sorted(r[4] for r in lines[1:]) == ["b1", "party_sec", "sec_b"]
    assert {r[4]: int(r[6]) for r in lines[1:]} == {
        u: world.members[u] for u in ("b1", "party_sec", "sec_b")}
    assert lines[1][1:4] == [B, "在职", "2010-07-01"]
    assert {r[5] for r in lines[1:]} == {"正式党员"}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_gives_the_same_data(world: World, fmt: str) -> None:
    """Branch A exported, its usernames changed and its branch set to B, imported: B then
    has A's members with the same names, categories and dates."""
    world.patch("admin", f"/members/{world.members['a2']}", {"category": "retired",
                                                             "name": "甲二"})
    world.add_member("a5", world.branch_a, category="rural", joined_on="1999-12-31",
                     name="乙, \"五\"")
    ok(world.post("admin", "/members", {
        "name": "预备", "org_id": world.branch_a, "category": "active",
        "joined_on": "2025-07-01", "username": "p1", "password": "p1-password-9",
        "standing": "probationary"}), 201)
    exported = world.client.get("/api/v1/members/export",
                                params={"format": fmt, "org_id": world.branch_a},
                                headers=world.admin).content
    if fmt == "xlsx":
        book = load_workbook(io.BytesIO(exported))
        for row in book.worksheets[0].iter_rows(min_row=2):
            row[1].value = B
            row[4].value = f"{row[4].value}_new"
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    else:
        lines = list(csv.reader(io.StringIO(exported.decode("utf-8-sig"))))
        # The ids' column (党员编号) stays as exported: the import does not read it.
        data = csv_bytes([[r[0], B, r[2], r[3], f"{r[4]}_new", r[5], r[6]]
                          for r in lines[1:]], headings=lines[0])
    body = ok(send(world, "admin", data, f"members.{fmt}"), 201)
    assert body["created"] == 8
    source = members_of(world, world.branch_a)
    target = members_of(world, world.branch_b)
    for username, member in source.items():
        copy = target[f"{username}_new"]
        assert (copy["name"], copy["category"], copy["joined_on"], copy["standing"]) == \
            (member["name"], member["category"], member["joined_on"], member["standing"])
    assert target["a2_new"]["category"] == "retired"
    assert target["a5_new"]["name"] == "乙, \"五\""
    assert target["a5_new"]["joined_on"] == "1999-12-31"
    assert target["p1_new"]["standing"] == "probationary"


STANDING_HEADINGS = [*HEADINGS[:5], "身份", "初始密码"]


@pytest.mark.parametrize(("written", "standing"), [
    ("", "full"), ("正式党员", "full"), ("预备党员", "probationary"), ("full", "full"),
    ("Probationary", "probationary"), (" 预备党员 ", "probationary"), ("预备", "probationary"),
    ("正式", "full")])
def test_the_standing_column_imports_probationary_members(world: World, written: str,
                                                          standing: str) -> None:
    data = xlsx([["新人", A, "在职", "2025-07-01", "xinren", written, ""]],
                headings=STANDING_HEADINGS)
    created = ok(send(world, "sec_a", data), 201)
    assert created["created"] == 1
    assert members_of(world, world.branch_a)["xinren"]["standing"] == standing


@pytest.mark.parametrize("written", ["已离开", "left", "预备期", "党员"])
def test_a_standing_that_is_not_full_or_probationary_is_refused(world: World,
                                                                written: str) -> None:
    data = xlsx([["新人", A, "在职", "2025-07-01", "xinren", written, ""]],
                headings=STANDING_HEADINGS)
    answer = send(world, "sec_a", data)
    assert problems(answer) == {(2, "standing", "standing_unknown")}
    assert "xinren" not in members_of(world, world.branch_a)


# --------------------------------------------------------------------------- limits
def test_a_file_of_a_few_megabytes_is_accepted(world: World) -> None:
    """The import path takes a multipart body as large as a photo (JIFEN_MAX_UPLOAD_MB),
    not the 1 MB of other requests."""
    padding = "备注" * 2_000  # 12 KB a row in UTF-8, in a column the import ignores
    rows = [[f"党员{i}", A, "在职", "2010-01-01", f"m{i}", "", padding] for i in range(250)]
    data = csv_bytes(rows, headings=[*HEADINGS, "备注"])
    assert len(data) > 3_000_000
    assert ok(send(world, "sec_a", data, "big.csv"), 201)["created"] == 250
    # One cell over csv's field limit is a refusal naming the file, not a failure.
    huge = csv_bytes([["张三", A, "在职", "2010-01-01", "zs", "", "x" * 200_000]],
                     headings=[*HEADINGS, "备注"])
    assert problems(send(world, "sec_a", huge, "huge.csv")) == {(1, None, "bad_file")}


def test_too_many_rows_is_one_clear_error(world: World) -> None:
    rows = [[f"党员{i}", A, "在职", "2010-01-01", f"m{i}", ""]
            for i in range(MAX_IMPORT_ROWS + 1)]
    body = ok(send(world, "sec_a", csv_bytes(rows), "big.csv"), 422)
    assert problems_of(body) == {(MAX_IMPORT_ROWS + 2, None, "too_many_rows")}


def problems_of(body: dict[str, Any]) -> set[tuple[int, str | None, str]]:
    return {(e["row"], e["column"], e["code"]) for e in body["errors"]}


def test_login_password_of_world_unchanged(world: World) -> None:
    """The import never touches existing accounts."""
    send(world, "sec_a", xlsx([["重名", A, "在职", "2010-01-01", "a1", "new-pass-99"]]))
    assert login(world.client, "a1", PASSWORD)


def test_a_probationary_member_who_joined_two_years_ago_is_refused(world: World) -> None:
    data = xlsx([["老预备", A, "在职", "2020-07-01", "laoyubei", "预备党员", ""],
                 ["新预备", A, "在职", "2025-07-01", "xinyubei", "预备党员", ""]],
                headings=STANDING_HEADINGS)
    answer = send(world, "sec_a", data)
    assert problems(answer) == {(2, "standing", "probation_too_long")}
    assert "xinyubei" not in members_of(world, world.branch_a)  # nothing half imported
