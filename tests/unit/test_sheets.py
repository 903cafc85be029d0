"""The table module: what it writes reads back, with real cell types, and bad files are named."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from app.services.errors import Invalid
from app.services.sheets import (
    MAX_ROWS,
    MAX_UNZIPPED,
    Column,
    ImportRefused,
    Sheet,
    read_rows,
    write_csv,
    write_xlsx,
)

COLUMNS = [Column("name", "姓名", required=True), Column("joined_on", "入党日期"),
           Column("points", "分值"), Column("exempt", "免评")]
ROWS = [["张三", date(2020, 1, 2), Decimal("5"), False], ["李四", None, -3, True]]


def test_xlsx_keeps_cell_types_headings_and_frozen_row() -> None:
    data = write_xlsx(Sheet("党员", COLUMNS, ROWS), notes=[("姓名", "必填")])
    book = load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["党员", "说明"]
    ws = book["党员"]
    assert [c.value for c in ws[1]] == ["姓名", "入党日期", "分值", "免评"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert ws["B2"].value == datetime(2020, 1, 2)   # a date cell, shown as a date
    assert ws["B2"].number_format == "yyyy-mm-dd"
    assert ws["C2"].value == 5 and ws["C2"].data_type == "n"
    assert ws["C3"].value == -3
    assert ws["D3"].value is True
    assert ws["B3"].value is None


def test_xlsx_times_lose_their_zone_not_their_value() -> None:
    at = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    ws = load_workbook(io.BytesIO(write_xlsx(Sheet("t", [Column("at", "时间")], [[at]])))).active
    assert ws["A2"].value == datetime(2026, 3, 1, 8, 30)
    assert ws["A2"].number_format == "yyyy-mm-dd hh:mm"


def test_csv_has_a_bom_and_plain_values() -> None:
    data = write_csv(Sheet("党员", COLUMNS, ROWS))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == [
        "姓名,入党日期,分值,免评", "张三,2020-01-02,5,否", "李四,,-3,是"]


@pytest.mark.parametrize("writer", ["xlsx", "csv"])
def test_what_is_written_reads_back(writer: str) -> None:
    sheet = Sheet("党员", COLUMNS, ROWS)
    data = write_xlsx(sheet) if writer == "xlsx" else write_csv(sheet)
    rows = read_rows(data, f"members.{writer}", COLUMNS)
    assert [(r.number, r.values) for r in rows] == [
        (2, {"name": "张三", "joined_on": "2020-01-02", "points": "5", "exempt": "否"}),
        (3, {"name": "李四", "joined_on": "", "points": "-3", "exempt": "是"})]


def test_headings_in_english_any_order_marked_required_and_unknown_ones_ignored() -> None:
    text = "分值, NAME ,备注,姓名*\n1,x,y,z\n\n,,,\n2,,,w\n"
    rows = read_rows(text.encode(), "a.csv", COLUMNS)
    # "NAME" and "姓名*" both name the name column: the later one wins, as in the file.
    assert [(r.number, r.values) for r in rows] == [
        (2, {"points": "1", "name": "z"}), (5, {"points": "2", "name": "w"})]


def test_gb18030_csv_and_semicolons_are_read() -> None:
    rows = read_rows("姓名;分值\n王五;1\n".encode("gb18030"), "a.csv", COLUMNS)
    assert rows[0].values == {"name": "王五", "points": "1"}


@pytest.mark.parametrize(("data", "name", "says"), [
    (b"", "a.csv", "empty"),
    (b"\n\n", "a.csv", "empty"),
    (b"PK\x03\x04 not really a zip", "a.xlsx", "not a readable .xlsx"),
    (b"anything", "old.xls", "old .xls"),
    (b"\xff\xfe\x00\x00\x81", "a.csv", "not a text CSV"),
])
def test_bad_files_are_refused_with_a_reason(data: bytes, name: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        read_rows(data, name, COLUMNS)
    assert says in refused.value.detail
    assert refused.value.code == "bad_file"


def test_too_many_rows_are_refused() -> None:
    text = "姓名\n" + "x\n" * (MAX_ROWS + 1)
    with pytest.raises(Invalid, match="split the file"):
        read_rows(text.encode(), "a.csv", COLUMNS)


def test_a_workbook_that_would_expand_beyond_the_limit_is_refused_unopened() -> None:
    # A few hundred KB of zip holding one part of zeros just over MAX_UNZIPPED: refused from
    # the zip's directory, before openpyxl inflates anything.
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (MAX_UNZIPPED + 1))
    data = out.getvalue()
    assert len(data) < MAX_UNZIPPED // 100
    with pytest.raises(Invalid) as refused:
        read_rows(data, "bomb.xlsx", COLUMNS)
    assert refused.value.code == "bad_file"
    assert "expands to more than 50 MB" in refused.value.detail
    # An ordinary workbook still reads.
    real = write_xlsx(Sheet("党员", COLUMNS, ROWS))
    assert [r.values["name"] for r in read_rows(real, "ok.xlsx", COLUMNS)] == ["张三", "李四"]


def test_a_missing_heading_is_a_problem_of_its_column() -> None:
    columns = [*COLUMNS, Column("code", "规则编号", required=True)]
    with pytest.raises(ImportRefused) as refused:
        read_rows("分值\n1\n".encode(), "a.csv", columns)
    assert [(p.row, p.column, p.code) for p in refused.value.errors] == [
        (1, "name", "column_missing"), (1, "code", "column_missing")]
    assert "no column 姓名" in refused.value.errors[0].message
    assert refused.value.code == "import_invalid"


HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"点此\")", "+1+1", "-2+3", "@SUM(A1:A9)",
           "\tindent", "'=already quoted", "'plain apostrophe", "普通说明", "a-b=c"]


def test_csv_text_never_starts_a_formula_and_reads_back_unchanged() -> None:
    sheet = Sheet("记录", [Column("note", "说明"), Column("points", "分值")],
                  [[text, -3] for text in HOSTILE])
    data = write_csv(sheet)
    lines = data.decode("utf-8-sig").splitlines()[1:]
    cells = [line.rsplit(",", 1) for line in lines]
    for (note, points), text in zip(cells, HOSTILE, strict=True):
        assert points == "-3"   # a number stays a number
        assert not note.lstrip('"').startswith(("=", "+", "-", "@", "\t", "\r")), note
        assert note.lstrip('"').startswith("'") == text.startswith(("=", "+", "-", "@", "\t",
                                                                     "'"))
    back = read_rows(data, "x.csv", sheet.columns)
    # The reader strips the outer blanks of a cell, as it always has (a tab included).
    assert [r.values["note"] for r in back] == [t.strip() for t in HOSTILE]


def test_xlsx_leaves_out_control_characters_it_cannot_hold() -> None:
    sheet = Sheet("记录", [Column("note", "说明")],
                  [["a\x0bb"], ["\x01名\x00字"], ["行一\n行二\t制表"]])
    book = load_workbook(io.BytesIO(write_xlsx(sheet)))
    assert [c.value for (c,) in book["记录"].iter_rows(min_row=2)] == [
        "ab", "名字", "行一\n行二\t制表"]
