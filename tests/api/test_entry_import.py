"""Entries in bulk (a recorder's sheet) and a member's year out, in the same columns."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col, select

from app.models import AuditLog, Entry, Org
from app.services.sheets import XLSX_TYPE
from tests.api.support import NO_NOTICE, World, ok, refused

HEADINGS = ["用户名", "姓名", "支部", "日期", "规则编号", "数量", "分值", "说明"]


def sheet_csv(*rows: list[Any], headings: list[str] = HEADINGS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def upload(world: World, who: str, data: bytes, filename: str = "sheet.csv",
           dry_run: bool = False, year: int = 2025) -> Any:
    return world.client.post("/api/v1/entries/import", headers=world.as_(who),
                             files={"file": (filename, data)},
                             data={"dry_run": "true" if dry_run else "false", "year": str(year)})


def entry_count(db: Session) -> int:
    return int(db.execute(sa.select(sa.func.count(col(Entry.id)))).scalar_one())


def created_audits(db: Session) -> int:
    return int(db.execute(sa.select(sa.func.count(col(AuditLog.id)))
                          .where(AuditLog.action == "entry.create")).scalar_one())


def branch_revision(db: Session, org_id: int) -> str:
    return str(db.execute(sa.select(col(Org.revision)).where(col(Org.id) == org_id))
               .scalar_one())


def entries_of(world: World, who: str, member: str, year: int = 2025) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(world.get(who, "/entries", member_id=world.members[member],
                                               year=year, limit=500))["items"]
    return sorted(items, key=lambda e: (e["occurred_on"], e["id"]))


def finalize_q1(world: World, org: int) -> None:
    review = ok(world.post("sec_a", f"/orgs/{org}/reviews", {"year": 2025, "quarter": 1}), 201)
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", NO_NOTICE))
    assert ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))["status"] == "finalized"


def test_the_template_has_the_columns_and_the_years_rule_items(world: World) -> None:
    answer = world.client.get("/api/v1/entries/import/template.xlsx?year=2025",
                              headers=world.as_("sec_a"))
    assert answer.status_code == 200 and answer.headers["content-type"] == XLSX_TYPE
    assert "filename*=UTF-8''" in answer.headers["content-disposition"]
    book = load_workbook(io.BytesIO(answer.content))
    first = book.worksheets[0]
    assert [c.value for c in first[1]] == HEADINGS and first.max_row == 1
    assert first.freeze_panes == "A2"
    items = {r[0]: r for r in book["积分项目"].iter_rows(min_row=2, values_only=True)}
    assert len(items) == 26
    assert items["P01"][3] == 2 and items["P01"][5] == 8
    assert items["B01"][3] is None and items["B01"][4] == "1–5"
    assert "日期（必填）" in [r[0] for r in book["说明"].iter_rows(values_only=True)]
    refused(world.client.get("/api/v1/entries/import/template.xlsx",
                             headers=world.as_("a1")), 403, "committee_only")


def test_a_clean_sheet_is_created_through_create_entry(world: World, db: Session) -> None:
    world.add_member("zhang_b", world.branch_b, name="张三")
    world.add_member("zhang_a", world.branch_a, name="张三")
    revision = branch_revision(db, world.branch_a)
    before, audits = entry_count(db), created_audits(db)
    data = sheet_csv(
        ["a1", "", "", "2025-03-14", "P01", "2", "", "三月集中学习"],
        ["", "a2", "", "2025/4/2", "b01", "", "4", ""],
        ["", "张三", "", "2025年5月6日", "N02", "", "", "缺学"],   # sec_a sees one 张三 only
        ["a4", "a4", "第一支部", "2025-06-30", "V01", "", "", "受到党内警告处分"],
        ["a3", "", "", "2025-12-31", "D01", "", "7", ""],
        ["sec_a", "", "", "2025-07-01", "P05", "1", "", "本人"],
    )
    body = ok(upload(world, "sec_a", data), 201)
    assert body["created"] == 6 and len(body["entry_ids"]) == 6 and body["errors"] == []
    assert entry_count(db) == before + 6 and created_audits(db) == audits + 6
    assert branch_revision(db, world.branch_a) != revision
    a1 = entries_of(world, "sec_a", "a1")
    assert [(e["rule_code"], e["occurred_on"], e["quantity"], e["points"], e["status"],
             e["note"]) for e in a1] == [("P01", "2025-03-14", 2, 4, "approved", "三月集中学习")]
    assert [(e["rule_code"], e["points"]) for e in entries_of(world, "sec_a", "a2")] == \
        [("B01", 4)]
    assert [(e["rule_code"], e["points"]) for e in entries_of(world, "sec_a", "zhang_a")] == \
        [("N02", -3)]
    assert [(e["rule_code"], e["points"]) for e in entries_of(world, "sec_a", "a4")] == \
        [("V01", 0)]
    assert [(e["rule_code"], e["points"]) for e in entries_of(world, "sec_a", "a3")] == \
        [("D01", -7)]
    # An entry about the recorder themself waits for another committee member, as by hand.
    own = entries_of(world, "sec_a", "sec_a")
    assert [(e["rule_code"], e["status"], e["decided_by"]) for e in own] == \
        [("P05", "pending", None)]


def test_dry_run_previews_and_writes_nothing(world: World, db: Session) -> None:
    before, audits = entry_count(db), created_audits(db)
    data = sheet_csv(["a1", "", "", "2025-03-14", "P07", "3", "", ""],
                     ["sec_a", "", "", "2025-03-15", "B01", "", "2", ""])
    body = ok(upload(world, "sec_a", data, dry_run=True))
    assert body["dry_run"] is True and body["created"] == 0 and body["errors"] == []
    assert [(r["row"], r["member_id"], r["rule_code"], r["quantity"], r["signed_points"],
             r["starts_as"]) for r in body["rows"]] == [
        (2, world.members["a1"], "P07", 3, 3, "approved"),
        (3, world.members["sec_a"], "B01", None, 2, "pending")]
    assert entry_count(db) == before and created_audits(db) == audits
    # The flag may also come in the query string.
    answer = world.client.post("/api/v1/entries/import?dry_run=true", headers=world.as_("sec_a"),
                               files={"file": ("s.csv", data)}, data={"year": "2025"})
    assert answer.status_code == 200 and entry_count(db) == before


def test_every_bad_row_is_named_and_nothing_is_written(world: World, db: Session) -> None:
    finalize_q1(world, world.branch_a)
    world.add_member("li_1", world.branch_a, name="李四")
    world.add_member("li_2", world.branch_a, name="李四")
    before = entry_count(db)
    data = sheet_csv(
        ["a1", "", "", "2025-05-01", "P01", "1", "", "good row"],          # 2: fine
        ["a1", "", "", "2025-05-01", "X99", "", "", ""],                  # 3
        ["a1", "", "", "2024-12-31", "P01", "", "", ""],                  # 4
        ["a1", "", "", "2026-01-11", "P01", "", "", ""],                  # 5 (year 2026)
        ["a1", "", "", "2025-02-03", "P01", "", "", ""],                  # 6 frozen Q1
        ["a1", "", "", "2025-05-01", "B01", "", "6", ""],                 # 7
        ["a1", "", "", "2025-05-01", "P01", "2.5", "", ""],               # 8
        ["a1", "", "", "2025-05-01", "P01", "0", "", ""],                 # 9
        ["nobody", "", "", "2025-05-01", "P01", "", "", ""],              # 10
        ["b1", "", "", "2025-05-01", "P01", "", "", ""],                  # 11 not managed
        ["", "李四", "", "2025-05-01", "P01", "", "", ""],                 # 12 ambiguous
        ["", "", "", "2025-05-01", "P01", "", "", ""],                    # 13 nobody named
        ["a1", "", "", "2025-13-01", "B01", "", "", ""],                  # 14 two errors
        ["a1", "a2", "", "2025-05-01", "P01", "", "", "x" * 1001],        # 15 two errors
        ["a1", "", "", "2025-05-01", "P01", "", "3", ""],                 # 16
        ["a1", "", "", "2025-05-01", "V02", "1", "", "违法"],             # 17 veto + qty 1 ok
        ["a1", "", "", "2025-05-01", "P01", "²", "", ""],                 # 18 not 0-9
    )
    expected = {
        (3, "rule_code", "unknown_rule"), (4, "occurred_on", "date_outside_year"),
        (5, "occurred_on", "date_outside_year"), (6, "occurred_on", "quarter_locked"),
        (7, "points", "points_out_of_range"), (8, "quantity", "quantity_invalid"),
        (9, "quantity", "quantity_out_of_range"), (10, "username", "member_not_found"),
        (11, "username", "member_not_found"), (12, "name", "member_ambiguous"),
        (13, "name", "member_required"), (14, "occurred_on", "date_invalid"),
        (14, "points", "points_required"), (15, "name", "name_mismatch"),
        (15, "note", "note_too_long"), (16, "points", "points_not_allowed"),
        (18, "quantity", "quantity_invalid"),
    }
    preview = ok(upload(world, "sec_a", data, dry_run=True))
    assert {(e["row"], e["column"], e["code"]) for e in preview["errors"]} == expected
    assert [e["row"] for e in preview["errors"]] == sorted(e["row"] for e in preview["errors"])
    body = refused(upload(world, "sec_a", data), 422, "import_invalid")
    assert {(e["row"], e["column"], e["code"]) for e in body["errors"]} == expected
    assert all(e["message"] for e in body["errors"])
    # One shape with the members import: column is the key, heading the Chinese heading.
    first = body["errors"][0]
    assert (first["row"], first["column"], first["heading"], first["value"]) == \
        (3, "rule_code", "规则编号", "X99")
    assert set(first) == {"row", "column", "heading", "code", "message", "value"}
    assert entry_count(db) == before
    # In 2026 (the clock's 2026-01-10), 2026-01-11 is in the future.
    future = sheet_csv(["a1", "", "", "2026-01-11", "P01", "", "", ""])
    body = refused(upload(world, "sec_a", future, year=2026), 422, "import_invalid")
    assert [(e["row"], e["column"], e["code"]) for e in body["errors"]] == \
        [(2, "occurred_on", "future_date")]
    assert entry_count(db) == before


SHARED_STRING_999 = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                     'main"><sheetData><row r="1"><c r="A1" t="s"><v>999</v></c></row>'
                     '</sheetData></worksheet>')


def broken_workbook(part: str, text: str) -> bytes:
    """A real workbook with one part replaced: it opens, then fails as its rows are read."""
    book = Workbook()
    assert book.active is not None
    book.active.append(HEADINGS)
    good = io.BytesIO()
    book.save(good)
    source, out = zipfile.ZipFile(good), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, text if info.filename == part else source.read(info))
    return out.getvalue()


def test_files_that_are_not_sheets_are_refused(world: World, db: Session) -> None:
    """A file that is no sheet is one problem for the whole file, as in the members' import:
    422 import_invalid on import, the same problem in a 200 preview on dry_run."""
    before = entry_count(db)

    def whole_file(data: bytes, name: str = "x.csv") -> tuple[int, str]:
        body = refused(upload(world, "sec_a", data, name), 422, "import_invalid")
        (problem,) = body["errors"]
        assert problem["column"] is None and problem["heading"] == "", problem
        preview = ok(upload(world, "sec_a", data, name, dry_run=True))
        assert preview["errors"] == body["errors"] and preview["created"] == 0
        return problem["row"], problem["code"]

    assert whole_file(b"PK\x03\x04 not really a zip", "x.xlsx") == (1, "bad_file")
    assert whole_file(b"\x00\x01\x02\xff\xfe") == (1, "bad_file")
    assert whole_file(b"") == (1, "bad_file")
    for part, text in (("xl/worksheets/sheet1.xml", "<<<"), ("xl/styles.xml", "<<<"),
                       ("xl/worksheets/sheet1.xml", SHARED_STRING_999)):
        assert whole_file(broken_workbook(part, text), "x.xlsx") == (1, "bad_file")
    missing = sheet_csv(["a1", "2025-05-01"], headings=["用户名", "日期"])
    body = refused(upload(world, "sec_a", missing), 422, "import_invalid")
    assert [(e["row"], e["column"], e["heading"], e["code"]) for e in body["errors"]] == [
        (1, "rule_code", "规则编号", "column_missing")]
    assert whole_file(sheet_csv()) == (2, "empty_import")
    refused(upload(world, "sec_a", sheet_csv(["a1", "", "", "2025-05-01", "P01", "", "", ""]),
                   year=1999), 422)
    assert entry_count(db) == before


def test_who_may_import_for_whom(world: World, db: Session) -> None:
    row = sheet_csv(["a1", "", "", "2025-05-01", "P01", "", "", ""])
    refused(upload(world, "a1", row), 403, "committee_only")
    body = refused(upload(world, "sec_b", row), 422, "import_invalid")
    assert [(e["column"], e["code"]) for e in body["errors"]] == [("username", "member_not_found")]
    # The 党委's committee covers both branches; an administrator covers everything.
    both = sheet_csv(["a1", "", "", "2025-05-01", "P01", "", "", ""],
                     ["b1", "", "", "2025-05-02", "P02", "", "", ""])
    assert ok(upload(world, "party_sec", both), 201)["created"] == 2
    assert ok(upload(world, "admin", row), 201)["created"] == 1
    statuses = [e["status"] for e in entries_of(world, "sec_a", "a1")]
    assert statuses == ["approved", "approved"]


def test_same_name_in_two_branches_needs_the_branch(world: World) -> None:
    world.add_member("wang_a", world.branch_a, name="王五")
    world.add_member("wang_b", world.branch_b, name="王五")
    plain = sheet_csv(["", "王五", "", "2025-05-01", "P01", "", "", ""])
    body = ok(upload(world, "party_sec", plain, dry_run=True))
    assert [(e["column"], e["code"]) for e in body["errors"]] == [("name", "member_ambiguous")]
    branch = sheet_csv(["", "王五", "第二支部", "2025-05-01", "P01", "", "", ""])
    body = ok(upload(world, "party_sec", branch, dry_run=True))
    assert body["errors"] == [] and body["rows"][0]["member_id"] == world.members["wang_b"]
    wrong = sheet_csv(["", "王五", "第九支部", "2025-05-01", "P01", "", "", ""])
    body = ok(upload(world, "party_sec", wrong, dry_run=True))
    assert [(e["column"], e["code"]) for e in body["errors"]] == [("branch", "member_not_found")]


def test_a_sheet_imported_twice_is_flagged(world: World) -> None:
    data = sheet_csv(["a1", "", "", "2025-05-01", "P01", "2", "", ""],
                     ["a1", "", "", "2025-05-02", "P02", "", "", ""],
                     ["a1", "", "", "2025-05-02", "P02", "", "", ""])
    first = ok(upload(world, "sec_a", data, dry_run=True))
    assert [(w["row"], w["code"]) for w in first["warnings"]] == \
        [(3, "duplicate_row"), (4, "duplicate_row")]
    ok(upload(world, "sec_a", data), 201)
    again = ok(upload(world, "sec_a", data, dry_run=True))
    assert [(w["row"], w["code"]) for w in again["warnings"]] == \
        [(1, "entries_already_imported"), (2, "duplicate_entry"), (3, "duplicate_entry"),
         (4, "duplicate_entry")]
    # Another committee member's preview of the same file: the entries it repeats.
    other = ok(upload(world, "vice_a", data, dry_run=True))
    assert [(w["row"], w["code"]) for w in other["warnings"]] == \
        [(2, "duplicate_entry"), (3, "duplicate_entry"), (4, "duplicate_entry")]


def _export(world: World, who: str, member: str, fmt: str = "xlsx", year: int = 2025) -> Any:
    return world.client.get(f"/api/v1/members/{world.members[member]}/entries/export",
                            params={"year": year, "format": fmt}, headers=world.as_(who))


def test_the_export_has_real_cell_types_and_is_for_the_member_and_their_committee(
        world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2025-03-14", quantity=2, note="学习")
    world.entry("sec_a", "a1", "D01", "2025-04-01", points=3)
    for who in ("a1", "sec_a", "party_sec", "admin"):
        assert _export(world, who, "a1").status_code == 200, who
    for who in ("a2", "sec_b", "b1"):
        refused(_export(world, who, "a1"), 404)
    answer = _export(world, "a1", "a1")
    assert answer.headers["content-type"] == XLSX_TYPE
    assert answer.headers["cache-control"] == "no-store"
    ws = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    assert ws.freeze_panes == "A2"
    heads = [c.value for c in ws[1]]
    assert heads[:8] == HEADINGS and {"状态", "积分", "审核时间"} <= set(heads)
    rows = [dict(zip(heads, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [(r["规则编号"], r["日期"], r["数量"], r["分值"], r["积分"], r["状态"]) for r in rows] \
        == [("P01", datetime(2025, 3, 14), 2, None, 4, "已通过"),
            ("D01", datetime(2025, 4, 1), None, 3, -3, "已通过")]
    assert isinstance(rows[0]["审核时间"], datetime) and rows[0]["用户名"] == "a1"
    text = _export(world, "sec_a", "a1", "csv").content.decode("utf-8")
    assert text.startswith("\ufeff用户名,姓名,支部,日期,规则编号,数量,分值,说明")
    assert "a1,a1,第一支部,2025-03-14,P01,2,,学习" in text
    refused(_export(world, "a1", "a1", "pdf"), 422)


def test_export_then_import_for_another_member_round_trips(world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2025-03-14", quantity=2, note="学习")
    world.entry("sec_a", "a1", "B01", "2025-04-01", points=3)
    world.entry("sec_a", "a1", "N02", "2025-05-01", quantity=1)
    world.entry("sec_a", "a1", "V01", "2025-06-01", note="受处分")
    reported = world.entry("a1", "a1", "P07", "2025-07-01", quantity=5)     # stays pending
    rejected = world.entry("a1", "a1", "P08", "2025-07-02")
    ok(world.post("sec_a", f"/entries/{rejected['id']}/reject", {"reason": "无记录"}))
    revoked = world.entry("sec_a", "a1", "D01", "2025-08-01", points=9)
    ok(world.post("sec_a", f"/entries/{revoked['id']}/revoke", {"reason": "记错了"}))
    assert reported["status"] == "pending"
    book = load_workbook(io.BytesIO(_export(world, "sec_a", "a1").content))
    ws = book.worksheets[0]
    for (cell,) in ws.iter_rows(min_row=2, min_col=1, max_col=1):
        cell.value = "a2"
    for (cell,) in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        cell.value = "a2"
    out = io.BytesIO()
    book.save(out)
    body = ok(upload(world, "sec_a", out.getvalue(), "a1-2025.xlsx"), 201)
    assert body["created"] == 5

    def kept(e: dict[str, Any]) -> tuple[Any, ...]:
        return e["rule_code"], e["occurred_on"], e["quantity"], e["points"], e["note"]

    original = [kept(e) for e in entries_of(world, "sec_a", "a1")
                if e["status"] in ("approved", "pending")]
    copied = entries_of(world, "sec_a", "a2")
    assert [kept(e) for e in copied] == original
    assert original == [("P01", "2025-03-14", 2, 4, "学习"), ("B01", "2025-04-01", 1, 3, ""),
                        ("N02", "2025-05-01", 1, -3, ""), ("V01", "2025-06-01", 1, 0, "受处分"),
                        ("P07", "2025-07-01", 5, 5, "")]
    assert {e["status"] for e in copied} == {"approved"}


def test_a_csv_export_comes_back_after_revoking(world: World) -> None:
    first = world.entry("sec_a", "a1", "P03", "2025-09-09", quantity=3)
    second = world.entry("sec_a", "a1", "B01", "2025-10-10", points=5)
    exported = _export(world, "sec_a", "a1", "csv").content
    for entry in (first, second):
        ok(world.post("sec_a", f"/entries/{entry['id']}/revoke", {"reason": "重录"}))
    assert ok(upload(world, "vice_a", exported, "a1.csv"), 201)["created"] == 2
    again = [(e["rule_code"], e["occurred_on"], e["quantity"], e["points"])
             for e in entries_of(world, "sec_a", "a1") if e["status"] == "approved"]
    assert again == [("P03", "2025-09-09", 3, 6), ("B01", "2025-10-10", 1, 5)]


def test_an_xlsx_sheet_with_real_dates_and_numbers(world: World, db: Session) -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["日期", "规则编号", "数量", "用户名", "分值"])   # any column order
    ws.append([date(2025, 3, 3), "p02", 3, "a1", None])
    ws.append([datetime(2025, 3, 4, 0, 0), "B01", None, "a2", 2.0])
    out = io.BytesIO()
    book.save(out)
    body = ok(upload(world, "sec_a", out.getvalue(), "march.xlsx"), 201)
    assert body["created"] == 2
    points = db.exec(select(Entry.points).where(col(Entry.id).in_(body["entry_ids"]))
                     .order_by(col(Entry.id))).all()
    assert list(points) == [3, 2]
