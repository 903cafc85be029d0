"""Entries in bulk: the import template, a sheet's import (or its preview), a member's export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse

from app.api.deps import REPLAYED, CurrentActor, codes_said, download, errors
from app.api.params import MemberIdPath, YearQuery
from app.api.problems import problem
from app.clock import ClockDep
from app.db import SessionDep
from app.present.downloads import (
    ExportFormat,
    FormatQuery,
    entry_template_response,
    member_year_response,
)
from app.schemas import ImportRefusedOut, Year, problems_out
from app.schemas.imports import EntryImportOut, EntryImportRowOut
from app.services import entry_import
from app.services.entry_import import HEADINGS, ImportPlan
from app.services.rules import load_rule_set
from app.services.sheets import CSV_TYPE, XLSX_TYPE, ImportRefused

IMPORT_PATH = "/api/v1/entries/import"  # a multipart post here may be as large as a photo

router = APIRouter(tags=["entries"])


def _out(plan: ImportPlan, dry_run: bool, entry_ids: list[int],
         imported_at: datetime | None = None) -> dict[str, Any]:
    out = EntryImportOut(year=plan.year, dry_run=dry_run, created=len(entry_ids),
                         entry_ids=entry_ids, imported_at=imported_at,
                         rows=[EntryImportRowOut(**r.as_dict()) for r in plan.rows],
                         errors=problems_out(plan.errors, HEADINGS),
                         warnings=problems_out(plan.warnings, HEADINGS))
    return out.model_dump(mode="json")


@router.get("/entries/import/template.xlsx", response_class=Response,
            responses={**download("The template (.xlsx)", XLSX_TYPE),
                       **errors(401, 403, 422)})
def entry_import_template(session: SessionDep, actor: CurrentActor, clock: ClockDep,
                    year: YearQuery = None) -> Response:
    """The sheet to fill in, with the year's rule items and notes on every column."""
    entry_import.require_importer(actor)
    year = year or clock.today().year
    return entry_template_response(load_rule_set(session, year, clock.now()), year)


@router.post("/entries/import", status_code=status.HTTP_201_CREATED, response_model=EntryImportOut,
             responses={200: {"model": EntryImportOut, "description": "The preview (dry_run)"},
                        422: {"model": ImportRefusedOut,
                              "description": "The file has errors; nothing was written. "
                              "`errors` lists every problem of the file." + codes_said(
                                  ("import_invalid", "validation_error"))},
                        **errors(401, 403, 413)})
def import_entries(
    request: Request, response: Response, session: SessionDep, actor: CurrentActor, clock: ClockDep,
    file: Annotated[UploadFile, File(description=".xlsx or CSV in the template's columns",
                                     examples=["entries.xlsx"])],
    dry_run: Annotated[bool, Form(description="Only the preview: nothing is written.",
                                  examples=[True])] = False,
    year: Annotated[Year | None, Form(description="The year imported; default this year",
                                      examples=[2026])] = None,
    dry_run_query: Annotated[bool, Query(alias="dry_run", description="The same as the "
                                         "form field dry_run.")] = False,
) -> Any:
    """Import a sheet of entries: all rows, or (on any error, 422 listing all) none.

    With dry_run: only the preview (200), rows and errors, nothing written. Entries start
    approved, except those about the caller themself (pending, like a hand-recorded one).
    The same rows sent again by the same caller create nothing: the answer is the first
    import's, with `Idempotent-Replayed: true` (a preview warns first).
    """
    data = file.file.read()
    name = file.filename or "file"
    year = year or clock.today().year
    if dry_run or dry_run_query:
        try:
            plan = entry_import.plan_import(session, actor, data, name, year, clock.now(),
                                            clock.today())
        except ImportRefused as error:  # no sheet at all: the preview is that one problem
            plan = entry_import.ImportPlan(year=year, rows=[], errors=error.errors,
                                           warnings=[])
        response.status_code = status.HTTP_200_OK
        return _out(plan, True, [])
    try:
        imported = entry_import.commit_import(session, actor, data, name, year, clock.now(),
                                              clock.today())
    except ImportRefused as error:
        # Nothing was written (the service's savepoint was rolled back).
        return problem(request.url.path, 422, error.detail, error.code,
                       errors=problems_out(error.errors, HEADINGS))
    out = _out(imported.plan, False, imported.entry_ids, imported.imported_at)
    if imported.again:
        return JSONResponse(out, status_code=201, headers={REPLAYED: "true"})
    return out


@router.get("/members/{member_id}/entries/export", response_class=Response,
            responses={**download("The entries, as an attachment", XLSX_TYPE, CSV_TYPE),
                       **errors(401, 404, 422)})
def export_member_entries(member_id: MemberIdPath, session: SessionDep, actor: CurrentActor,
                          clock: ClockDep, year: YearQuery = None,
                          format: FormatQuery = ExportFormat.xlsx) -> Response:
    """A member's entries of a year, in the import's columns plus status, points, dates."""
    year = year or clock.today().year
    return member_year_response(session, actor, member_id, year, format, clock.now())
