"""Members in and out as a table: the template, the import (preview or all-or-nothing), the
export in the template's columns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response

from app.api.deps import REPLAYED, CurrentActor, codes_said, download, errors
from app.api.params import OrgFilter
from app.api.problems import problem
from app.clock import ClockDep
from app.db import SessionDep
from app.present.downloads import ExportFormat, FormatQuery
from app.present.headers import NO_STORE
from app.schemas import ImportRefusedOut, problems_out
from app.schemas.imports import CreatedOut, ImportOut, PreviewOut, PreviewRowOut
from app.services import member_export, member_import
from app.services.member_import import HEADINGS, Preview
from app.services.sheets import CSV_TYPE, XLSX_TYPE, ImportRefused

router = APIRouter(tags=["members"])

IMPORT_PATH = "/api/v1/members/import"  # a multipart post here may be as large as a photo


def _preview_out(preview: Preview) -> PreviewOut:
    bad = {e.row for e in preview.errors}
    return PreviewOut(
        ok=preview.ok, total=len(preview.lines), valid=len(preview.rows),
        rows=[PreviewRowOut(row=line.number,
                            values={k: v for k, v in line.values.items() if k != "password"},
                            password_given=bool(line.values.get("password")),
                            ok=line.number not in bad) for line in preview.lines],
        errors=problems_out(preview.errors, HEADINGS))


def _attachment(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


@router.get("/members/import/template.xlsx", response_class=Response,
            responses={**download("The template (.xlsx)", XLSX_TYPE), **errors(401)})
def member_import_template(_actor: CurrentActor) -> Response:
    """The import template: the heading row and a sheet 说明 explaining every column."""
    return _attachment(member_export.template(), XLSX_TYPE, "members-template.xlsx")


@router.post("/members/import", status_code=status.HTTP_201_CREATED,
             response_model=ImportOut | PreviewOut,
             responses={200: {"model": PreviewOut, "description": "The preview (dry_run)"},
                        422: {"model": ImportRefusedOut,
                              "description": "The file has problems; nothing was written. "
                              "`errors` lists every problem of the file." + codes_said(
                                  ("import_invalid", "validation_error"))},
                        **errors(401, 403, codes={403: ("committee_only", "service_account")})})
def import_members(request: Request, session: SessionDep, actor: CurrentActor, clock: ClockDep,
                   file: Annotated[UploadFile, File(description=".xlsx or CSV (UTF-8 or "
                                                    "GB18030) in the template's columns",
                                                    examples=["members.xlsx"])],
                   dry_run: Annotated[bool, Form(description="Only check every row: nothing "
                                                 "is written.", examples=[True])] = False
                   ) -> Response:
    """Import members from a table: `dry_run` checks every row and writes nothing (200 with
    every row and problem); otherwise all rows are created or, if any row has a problem,
    none (422 listing them all). Passwords left blank are generated and returned once. The
    same rows sent again by the same caller create nothing: the first import's answer, with
    `Idempotent-Replayed: true` and no password (generated ones are kept nowhere). Every
    imported account, its password generated or given in the file, must change it at its
    first login (`password_change_required` in POST /api/v1/auth/token)."""
    data = file.file.read()
    name = file.filename or "upload"
    if dry_run:
        preview = member_import.preview_file(session, actor, data, name, clock.today())
        return JSONResponse(_preview_out(preview).model_dump(mode="json"))
    try:
        imported = member_import.import_file(session, actor, data, name, clock.now(),
                                             clock.today())
    except ImportRefused as refused:
        session.rollback()
        return problem(request.url.path, 422, refused.detail, refused.code,
                       errors=problems_out(refused.errors, HEADINGS))
    body = ImportOut(created=len(imported.created), imported_at=imported.imported_at, members=[
        CreatedOut(row=c.row, member_id=c.member_id, name=c.name, org_id=c.org_id,
                   username=c.username, password=c.password) for c in imported.created])
    # Generated passwords are in it: no cache keeps a copy.
    headers = NO_STORE | ({REPLAYED: "true"} if imported.again else {})
    return JSONResponse(body.model_dump(mode="json"), status_code=201, headers=headers)


@router.get("/members/export", response_class=Response,
            responses={**download("The members, as an attachment", XLSX_TYPE, CSV_TYPE),
                       **errors(401, 403, 404, 422)})
def export_members(session: SessionDep, actor: CurrentActor,
                   format: FormatQuery = ExportFormat.xlsx,
                   org_id: OrgFilter = None) -> Response:
    """Members of the branches the caller manages (optionally below one organisation), in
    the import template's columns without passwords: export → import round-trips."""
    data = member_export.export_members(session, actor, org_id, format)
    media = CSV_TYPE if format == "csv" else XLSX_TYPE
    return _attachment(data, media, f"members.{format}")
