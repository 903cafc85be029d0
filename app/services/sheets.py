"""Tables in and out: .xlsx through openpyxl and CSV, the two forms branches keep data in.

A sheet is a list of `Column`s (a Chinese heading people see, an English key programs
use) and rows of plain values. Writing keeps real cell types (numbers stay numbers,
dates stay dates) and freezes the heading row. Reading accepts either heading for a
column, in any order, and keeps each row's number in the file for error messages.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from app.services.errors import Invalid

Cell = str | int | Decimal | float | bool | date | datetime | None

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Column:
    key: str            # English, for programs: "username"
    heading: str        # Chinese, for people: "用户名"
    width: int = 12     # in characters, for the .xlsx
    required: bool = False
    hint: str = ""      # shown in the template's second sheet


@dataclass(frozen=True)
class Row:
    number: int         # the row's number in the file, the heading row being 1
    values: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Cell]]


def _xlsx_value(value: Cell) -> Cell:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)   # Excel has no time zones; stored times are UTC
    return value


def write_xlsx(*sheets: Sheet, notes: Sequence[tuple[str, str]] = ()) -> bytes:
    """One workbook: each sheet with a bold, frozen heading row; `notes` as a last sheet."""
    book = Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        ws.append([c.heading for c in sheet.columns])
        for cell in ws[1]:
            cell.font = bold
            cell.alignment = Alignment(vertical="center")
        for i, column in enumerate(sheet.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = column.width
        for row in sheet.rows:
            ws.append([_xlsx_value(v) for v in row])
        for i, _ in enumerate(sheet.columns, start=1):
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
    if notes:
        ws = book.create_sheet("说明")
        ws.append(["项目", "说明"])
        for cell in ws[1]:
            cell.font = bold
        for item in notes:
            ws.append(list(item))
        ws.column_dimensions["A"].width = 16
        ws.column_dimensions["B"].width = 80
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(sheet: Sheet) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese as Chinese."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.heading for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value).strip()


def _raw_rows(data: bytes, filename: str) -> list[list[str]]:
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise Invalid(f"{filename}: not a readable .xlsx file ({exc.__class__.__name__})",
                          "bad_file") from exc
        ws = book.worksheets[0]
        rows = [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        book.close()
        return rows
    if name.endswith(".xls"):
        raise Invalid(f"{filename}: old .xls files cannot be read; save it as .xlsx or CSV",
                      "bad_file")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid(f"{filename}: not a text CSV file (neither UTF-8 nor GB18030)", "bad_file")
    if "\x00" in text:
        raise Invalid(f"{filename}: not a text CSV file", "bad_file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)]


def read_rows(data: bytes, filename: str, columns: Sequence[Column]) -> list[Row]:
    """The file's rows keyed by column key; headings in Chinese or English, any order.

    Raises Invalid naming the problem for a file that is not a table, a heading row
    missing a required column, or more rows than MAX_ROWS. Blank rows are skipped.
    """
    raw = _raw_rows(data, filename or "file")
    while raw and not any(raw[0]):
        raw.pop(0)
    if not raw:
        raise Invalid(f"{filename}: the file is empty; fill in the template", "bad_file")
    known = {}
    for column in columns:
        known[column.key.lower()] = column.key
        known[column.heading] = column.key
    header = [known.get(h.strip().rstrip("*").strip()) or known.get(h.strip().lower())
              for h in raw[0]]
    missing = [c.heading for c in columns if c.required and c.key not in header]
    if missing:
        raise Invalid(f"{filename}: row 1 has no column {'、'.join(missing)}; "
                      "use the template's heading row", "bad_file")
    rows = []
    for number, cells in enumerate(raw[1:], start=2):
        if not any(cells):
            continue
        values = {key: (cells[i] if i < len(cells) else "")
                  for i, key in enumerate(header) if key is not None}
        rows.append(Row(number, values))
        if len(rows) > MAX_ROWS:
            raise Invalid(f"{filename}: more than {MAX_ROWS} rows; split the file", "bad_file")
    return rows
