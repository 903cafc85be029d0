"""Tables in and out: .xlsx through openpyxl and CSV, the two forms branches keep data in.

A sheet is a list of `Column`s (a Chinese heading people see, an English key programs
use) and rows of plain values. Writing keeps real cell types (numbers stay numbers,
dates stay dates) and freezes the heading row. Reading accepts either heading for a
column, in any order, and keeps each row's number in the file for error messages.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from app.services.errors import Invalid
from app.services.text import CODE as TEXT_CODE
from app.services.text import bad_character, shown

Cell = str | int | Decimal | float | bool | date | datetime | None

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
MAX_ROWS = 20_000
# An .xlsx is a zip: a few KB can expand to gigabytes. Refused before openpyxl opens it.
MAX_UNZIPPED = 50 * 1024 * 1024


# How spreadsheets in China write a day: 2025-03-14, 2025/3/14, 2025.3.14, 2025年3月14日,
# possibly with a time after it (an Excel date-time).
_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                  r"(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")


def parse_day(text: str) -> date | None:
    """The day a cell names, None if it names none."""
    match = _DAY.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


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
class RowProblem:
    """One problem of an imported file, named by row and column for the person to fix it."""

    row: int            # the row's number in the file (the heading row is 1)
    column: str | None  # the column's key; None for the whole row or file
    code: str           # the stable code of app/present/messages.py
    message: str        # English, for programs; pages show a Chinese text by code
    value: str = ""     # the cell as typed (never a password)
    params: tuple[tuple[str, object], ...] = ()  # details for the Chinese text


def text_problems(row: Row, one_line: Collection[str] = (),
                  unchecked: Collection[str] = ("password",)) -> list[RowProblem]:
    """A problem for each cell holding what stored text may not (app/services/text.py): a
    `\x01` from another program's CSV is named by row and column, not met at the write."""
    problems = []
    for key, value in row.values.items():
        found = None if key in unchecked else bad_character(value, key in one_line)
        if found is not None:
            problems.append(RowProblem(row.number, key, TEXT_CODE,
                                       f"The cell holds a character text may not hold: "
                                       f"{found}; remove it.", shown(value, key in one_line),
                                       (("character", found.split(" at ")[0]),)))
    return problems


class ImportRefused(Invalid):
    """The file has problems: nothing was written. `errors` lists every one."""

    def __init__(self, errors: Sequence[RowProblem]) -> None:
        rows = sorted({e.row for e in errors})
        super().__init__(f"The file has {len(errors)} problem(s) in row(s) "
                         f"{', '.join(map(str, rows[:20]))}{' …' if len(rows) > 20 else ''}; "
                         "nothing was imported. Fix them and send the file again.",
                         "import_invalid")
        self.errors = list(errors)


@dataclass(frozen=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Cell]]


# What a spreadsheet program takes as the start of a formula in a CSV cell (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Control characters an .xlsx file cannot hold (XML 1.0); tab, newline and CR it can.
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_value(value: Cell) -> Cell:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)   # Excel has no time zones; stored times are UTC
    if isinstance(value, str):
        # Text stored before such characters were refused must not break a whole export.
        return _NOT_IN_XLSX.sub("", value)
    return value


def write_xlsx(*sheets: Sheet, notes: Sequence[tuple[str, str]] = ()) -> bytes:
    """One workbook: each sheet with a bold, frozen heading row; `notes` as a last sheet."""
    # openpyxl (and the numpy it brings) imported where used: a third of a second off
    # every process's start, paid once by the first export or import instead.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

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
            for cell in ws[ws.max_row]:
                if cell.data_type == "f":  # text is never a formula: a name "=HYPERLINK(…)"
                    cell.data_type = "s"
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
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, "'")):
        # Text is never a formula: a note "=HYPERLINK(…)" opens as the text it is (and text
        # that starts with an apostrophe keeps it, so reading back gives the same text).
        return "'" + value
    return str(value)


def write_csv(sheet: Sheet) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese as Chinese; text that
    would start a formula is written after an apostrophe, which reading takes off again."""
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


def _unquoted(cell: str) -> str:
    """A CSV cell as it was before write_csv kept it from being a formula."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith((*FORMULA_STARTS, "'")) \
        else cell


def _raw_rows(data: bytes, filename: str) -> list[list[str]]:
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook  # where used: see write_xlsx
        from openpyxl.utils.exceptions import InvalidFileException

        # A broken workbook fails while its rows are read too (bad XML, a shared string
        # that is not there, a date that is not one): all of it is "not readable", not a 500.
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unzipped = sum(info.file_size for info in archive.infolist())
            if unzipped > MAX_UNZIPPED:
                raise Invalid(f"{filename}: the workbook expands to more than "
                              f"{MAX_UNZIPPED // (1024 * 1024)} MB", "bad_file")
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                ws = book.worksheets[0]
                rows = [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
            finally:
                book.close()
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError, IndexError,
                TypeError, AttributeError, InvalidFileException) as exc:
            raise Invalid(f"{filename}: not a readable .xlsx file ({exc.__class__.__name__})",
                          "bad_file") from exc
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
    try:
        return [[_unquoted(c).strip() for c in row]
                for row in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:  # a cell over csv's field limit (128 KB), a broken quote
        raise Invalid(f"{filename}: not a readable CSV file ({exc})", "bad_file") from exc


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
    missing = [c for c in columns if c.required and c.key not in header]
    if missing:
        raise ImportRefused([RowProblem(1, c.key, "column_missing",
                                        f"{filename}: row 1 has no column {c.heading}; use "
                                        "the template's heading row") for c in missing])
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
