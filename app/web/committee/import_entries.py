"""A recorder's sheet of entries on the committee's pages; a member's year as a download.

Upload → preview (every error by row and column, in Chinese; nothing written) → confirm.
The confirm needs no second upload: the preview page carries the rows it read, signed for
the account and the year (app/web/committee/imports.py). The confirm checks every row again
under the branches' locks before anything is written; the same rows confirmed again (a double
click, a resubmitted form) create nothing and are told when they were imported.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.downloads import Format, entry_template_response, member_year_response
from app.present.i18n import _
from app.present.labels import beijing
from app.present.messages import MESSAGES, message_for
from app.schemas import Id
from app.services import entry_export, entry_import
from app.services.access import Actor
from app.services.entry_import import HEADINGS, ImportPlan
from app.services.errors import DomainError
from app.services.rules import load_rule_set
from app.services.sheets import ImportRefused, Row, RowProblem
from app.web.committee.common import CommitteeActor, page
from app.web.committee.imports import PAYLOAD_MAX, carry, row_message, uncarry
from app.web.forms import year_or
from app.web.render import flash, redirect

router = APIRouter()

PAGE_PATH = "/committee/import/entries"
CONFIRM_PATH = "/committee/import/entries/confirm"
# The carried rows: like the year field, a plain form field of the confirm.
Field = Annotated[str, Form(max_length=PAYLOAD_MAX)]


def _purpose(year: int) -> str:
    return f"entry-import|{year}"


def _years(today_year: int) -> list[int]:
    return [today_year, today_year - 1]


def _page(request: Request, actor: Actor, year: int, this_year: int,
          context: dict[str, Any], status_code: int = 200) -> Response:
    base = {"year": year, "years": _years(this_year), "plan": None, "error": None,
            "row_message": row_message, "headings": HEADINGS,
            "columns": entry_export.IMPORT_COLUMNS, "status_column": entry_export.STATUS_COLUMN}
    response = page(request, "pages/committee/import_entries.html", base | context,
                    status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _preview(request: Request, actor: Actor, plan: ImportPlan, this_year: int,
             carried: dict[str, str] | None, status_code: int = 200) -> Response:
    by_row: dict[int, list[RowProblem]] = {}
    for error in plan.errors:
        by_row.setdefault(error.row, []).append(error)
    bad = {(e.row, e.column) for e in plan.errors}
    counts = {s: sum(1 for r in plan.rows if r.starts_as == s)
              for s in ("approved", "pending", "skipped")}
    return _page(request, actor, plan.year, this_year, {
        "plan": plan, "by_row": sorted(by_row.items()), "bad": bad, "counts": counts,
        "warnings": plan.warnings, "carried": carried if not plan.errors else None,
        "bad_rows": len(by_row)}, status_code)


def _pick_year(text: str, this_year: int) -> int:
    return year_or(text, this_year - 1, this_year, this_year)


@router.get(PAGE_PATH)
def import_page(request: Request, actor: CommitteeActor, clock: ClockDep,
                year: str = "") -> Response:
    """Download the template, upload a filled-in sheet."""
    this_year = clock.today().year
    return _page(request, actor, _pick_year(year, this_year), this_year, {})


@router.get(PAGE_PATH + "/template.xlsx")
def template(session: SessionDep, actor: CommitteeActor, clock: ClockDep,
             year: str = "") -> Response:
    year_ = _pick_year(year, clock.today().year)
    return entry_template_response(load_rule_set(session, year_, clock.now()), year_)


@router.post(PAGE_PATH)
def preview_upload(request: Request, session: SessionDep, actor: CommitteeActor,
                   clock: ClockDep, file: Annotated[UploadFile | None, File()] = None,
                   year: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Check the sheet and show every row and error; nothing is written."""
    this_year = clock.today().year
    year_ = _pick_year(year, this_year)
    data = file.file.read() if file is not None else b""
    filename = (file.filename or "file")[-200:] if file is not None else ""
    if not data:
        return _page(request, actor, year_, this_year,
                     {"error": _("请选择要导入的文件。")}, 422)
    try:
        rows = entry_import.read_sheet(data, filename)
        plan = entry_import.preview_rows(session, actor, rows, year_, clock.now(),
                                         clock.today())
    except ImportRefused as refused:  # no sheet at all: problems of the whole file
        empty = entry_import.ImportPlan(year=year_, rows=[], errors=refused.errors,
                                        warnings=[])
        return _preview(request, actor, empty, this_year, None, 422)
    except DomainError as error:
        return _page(request, actor, year_, this_year, {"error": message_for(error)},
                     error.status_code)
    carried = carry(actor, _purpose(year_), rows, clock.now().timestamp()) | {"year": str(year_)}
    if len(carried["payload"]) > PAYLOAD_MAX:
        return _page(request, actor, year_, this_year,
                     {"error": _(MESSAGES["import_too_large"])}, 413)
    return _preview(request, actor, plan, this_year, carried,
                    422 if plan.errors else 200)


@router.post(CONFIRM_PATH)
def confirm_import(request: Request, session: SessionDep, actor: CommitteeActor,
                   clock: ClockDep, payload: Field = "", year: Field = "",
                   token: Field = "") -> Response:
    """Import the previewed rows: every one, or (if anything changed meanwhile) none."""
    this_year = clock.today().year
    year_ = year_or(year, 1000, 9999, 0)
    rows: list[Row] | None = None
    if year_:
        rows = uncarry(actor, _purpose(year_), payload, token, clock.now().timestamp())
    if rows is None:
        return _page(request, actor, _pick_year(year, this_year), this_year,
                     {"error": _(MESSAGES["import_expired"])}, 422)
    try:
        imported = entry_import.commit_rows(session, actor, rows, year_, clock.now(),
                                            clock.today())
    except ImportRefused as rejected:
        # Nothing was written; show why, as the preview would now.
        plan = entry_import.plan_rows(session, actor, rows, year_, clock.now(), clock.today())
        plan = replace(plan, errors=plan.errors or rejected.errors)
        return _preview(request, actor, plan, this_year, None, 422)
    except DomainError as error:
        return _page(request, actor, year_, this_year, {"error": message_for(error)},
                     error.status_code)
    n = len(imported.entry_ids)
    if imported.again:  # a double click, a resubmitted form: the first confirm's result
        text = _("您已于{at}导入过这个文件，共{n}条积分记录，这次没有重复导入。").format(
            at=beijing(imported.imported_at), n=n)
    else:
        text = _("已导入{n}条积分记录。").format(n=n)
    if imported.pending:
        text += _("其中{n}条关于您本人，需其他支委审核。").format(n=imported.pending)
    flash(request, text)
    return redirect(request, "/committee", trigger="scoresChanged")


@router.get("/committee/members/{member_id}/entries/export")
def member_export(session: SessionDep, actor: CommitteeActor, clock: ClockDep,
                  member_id: Id, year: str = "",
                  format: Format = "xlsx") -> Response:
    """A member's entries of a year, for their committee (NotFound outside its scope)."""
    this_year = clock.today().year
    return member_year_response(session, actor, member_id,
                                year_or(year, 2000, this_year, this_year), format, clock.now())
