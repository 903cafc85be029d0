"""Importing members from a table (and exporting them) on the committee's pages.

Upload → preview (every problem by row and column; nothing written) → confirm. The confirm
does not upload the file again: the preview page carries the rows it read, signed
(app/web/committee/imports.py). The rows are checked again under the branches' locks at the confirm.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.headers import NO_STORE
from app.present.i18n import _
from app.present.labels import beijing
from app.present.messages import MESSAGES
from app.services import directory, member_export, member_import
from app.services.access import Actor
from app.services.errors import DomainError, attempt
from app.services.member_import import Preview
from app.services.sheets import CSV_TYPE, XLSX_TYPE, ImportRefused
from app.web.committee.common import CommitteeActor, page
from app.web.committee.imports import PAYLOAD_MAX, carry, row_message, uncarry
from app.web.committee.login_slips import SLIPS_PATH, Slip, slip_fields
from app.web.forms import id_or_none

router = APIRouter()

IMPORT_PATH = "/committee/import"
CONFIRM_PATH = "/committee/import/confirm"
# Multipart posts here may be as large as a photo (app/limits.py).
UPLOAD_PATHS = (IMPORT_PATH, CONFIRM_PATH)
PURPOSE = "member-import"


def _no_store(response: Response) -> Response:
    # The preview carries the file's passwords, the result the generated ones.
    response.headers.update(NO_STORE)
    return response


def _page(request: Request, session: SessionDep, actor: Actor, context: dict[str, Any],
          status_code: int = 200) -> Response:
    base = {"columns": member_import.COLUMNS, "headings": member_import.HEADINGS,
            "branches": directory.managed_branches(session, actor), "message": row_message,
            "max_rows": member_import.MAX_IMPORT_ROWS, "preview": None, "created": None,
            "slips_path": SLIPS_PATH}
    return _no_store(page(request, "pages/committee/import_members.html", base | context,
                          status_code=status_code))


def _preview_page(request: Request, session: SessionDep, actor: Actor, preview: Preview,
                  now: float, status_code: int = 200) -> Response:
    bad: dict[int, set[str]] = {}
    for error in preview.errors:
        bad.setdefault(error.row, set()).add(error.column or "")
    context: dict[str, Any] = {"preview": preview, "by_row": preview.errors_by_row(),
                               "bad": bad,
                               "file_errors": [e for e in preview.errors
                                               if e.row not in {ln.number
                                                                for ln in preview.lines}]}
    if preview.ok:
        context |= {"carried": carry(actor, PURPOSE, preview.lines, now)}
    return _page(request, session, actor, context, status_code)


@router.get(IMPORT_PATH)
def import_page(request: Request, session: SessionDep, actor: CommitteeActor) -> Response:
    """Download the template or the members, upload a filled-in file."""
    member_import.require_importer(actor)
    return _page(request, session, actor, {})


@router.get("/committee/import/template.xlsx")
def template(actor: CommitteeActor) -> Response:
    return Response(member_export.template(), media_type=XLSX_TYPE, headers={
        "Content-Disposition": 'attachment; filename="members-template.xlsx"'})


@router.get("/committee/import/export")
def export(session: SessionDep, actor: CommitteeActor,
           format: Annotated[Literal["xlsx", "csv"], Query()] = "xlsx",
           org_id: str | None = None) -> Response:
    """The members of my branches (or of one) in the template's columns, no passwords."""
    data = member_export.export_members(session, actor, id_or_none(org_id), format)
    return _no_store(Response(data, media_type=CSV_TYPE if format == "csv" else XLSX_TYPE,
                              headers={"Content-Disposition":
                                       f'attachment; filename="members.{format}"'}))


@router.post(IMPORT_PATH)
def preview(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
            file: Annotated[UploadFile | None, File()] = None) -> Response:
    """The uploaded file checked row by row; nothing is written."""
    data = file.file.read() if file is not None else b""
    name = (file.filename if file is not None else "") or "upload"
    checked = member_import.preview_file(session, actor, data, name, clock.today())
    return _preview_page(request, session, actor, checked, clock.now().timestamp())


@router.post(CONFIRM_PATH)
def confirm(request: Request, session: SessionDep, actor: CommitteeActor, clock: ClockDep,
            payload: Annotated[str, Form(max_length=PAYLOAD_MAX)] = "",
            token: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Import what the preview showed: every row, or none."""
    now = clock.now()
    lines = uncarry(actor, PURPOSE, payload, token, now.timestamp())
    if lines is None:
        return _page(request, session, actor, {"refusal": _(MESSAGES["import_expired"])}, 422)

    try:
        # Outside attempt's savepoint: it ends the read transaction before hashing.
        passwords = member_import.prepare_passwords(session, actor, lines, clock.today())
    except DomainError as refused:
        result: member_import.MembersImported | DomainError = refused
    else:
        result = attempt(session, lambda: member_import.import_rows(
            session, actor, lines, now, clock.today(), passwords))
    if isinstance(result, ImportRefused):
        checked = Preview(lines=lines, errors=result.errors)
        return _preview_page(request, session, actor, checked, now.timestamp(), 422)
    if isinstance(result, DomainError):
        text = MESSAGES.get(result.code)
        return _page(request, session, actor,
                     {"refusal": _(text) if text else result.detail}, result.status_code)
    n = len(result.created)
    # Shown on this answer, not kept for the next page: the list below is the one copy.
    request.state.flashes = [["ok", _("您已于{at}导入过这个文件，共{n}名党员，这次没有重复导入。")
                              .format(at=beijing(result.imported_at), n=n) if result.again
                              else _("已导入{n}名党员。").format(n=n)]]
    context: dict[str, Any] = {"created": result.created, "again": result.again}
    if not result.again:  # the replay of an earlier import has no passwords to hand over
        context["slips"] = slip_fields(actor, (
            Slip(c.name, c.branch, c.username, c.password) for c in result.created),
            now.timestamp())
    return _page(request, session, actor, context)
