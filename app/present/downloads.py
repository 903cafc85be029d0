"""Files as answers: a download's name (RFC 6266) and a table as .xlsx or CSV."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import Query
from fastapi.responses import Response
from sqlmodel import Session

from app.points import RuleSet
from app.present.exports import Export
from app.services import entry_export
from app.services.access import Actor
from app.services.sheets import CSV_TYPE, XLSX_TYPE, write_csv, write_xlsx

Format = Literal["xlsx", "csv"]


class ExportFormat(StrEnum):
    """A table's file: xlsx, or csv (UTF-8 with a BOM, one sheet)."""

    xlsx = "xlsx"
    csv = "csv"


class SummarySheet(StrEnum):
    """The sheets of an organisation's summary: one row per branch, or per member."""

    branches = "branches"
    members = "members"


FormatQuery = Annotated[ExportFormat, Query(description="xlsx (default) or csv (UTF-8 with "
                                                        "BOM)")]
SUMMARY_SHEETS: tuple[SummarySheet, ...] = tuple(SummarySheet)


def content_disposition(filename: str, ascii_name: str, inline: bool = False) -> str:
    """A download's name (RFC 6266): `filename*` in UTF-8 for the Chinese, `filename` in
    plain ASCII for old clients."""
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(export: Export, format: Format | ExportFormat, sheet: int | None = None, *,
                  cache_control: str = "private, no-store") -> Response:
    """The export as a download: every sheet in the .xlsx (or only `sheet`), one in the CSV."""
    if format == "csv":
        body, media = write_csv(export.sheets[sheet or 0]), CSV_TYPE
    else:
        chosen = export.sheets if sheet is None else (export.sheets[sheet],)
        body, media = write_xlsx(*chosen), XLSX_TYPE
    return Response(body, media_type=media, headers={
        "Content-Disposition": content_disposition(f"{export.name}.{format}",
                                                   f"{export.ascii_name}.{format}"),
        "Cache-Control": cache_control})


def entry_template_response(rules: RuleSet, year: int) -> Response:
    """The sheet a recorder fills in, with the year's rule items and notes on every column."""
    return Response(entry_export.template(rules), media_type=XLSX_TYPE, headers={
        "Content-Disposition": content_disposition(f"积分记录导入模板-{year}.xlsx",
                                                   f"entries-import-template-{year}.xlsx")})


def member_year_response(session: Session, actor: Actor, member_id: int, year: int,
                         format: Format | ExportFormat, now: datetime) -> Response:
    """A member's entries of a year, in the import's columns (the page and the API)."""
    member, sheet = entry_export.export_member_year(session, actor, member_id, year, now)
    return file_response(Export((sheet,), f"{member.name}-{year}年积分记录",
                                f"entries-{member.id}-{year}"), format,
                         cache_control="no-store")
