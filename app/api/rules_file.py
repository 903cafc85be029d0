"""A year's rule set as a YAML file: export, and import (or only check) into a year."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import CurrentActor, codes_said, errors
from app.api.params import YearPath
from app.api.problems import problem
from app.api.rules import _rules_out, params_out
from app.clock import ClockDep
from app.db import SessionDep
from app.points import RuleSet
from app.schemas import RuleItemOut, RulesOut
from app.schemas.rules_file import (
    RulesFileErrorOut,
    RulesFileProblemOut,
    RulesImportOut,
)
from app.services import rules_file
from app.services.access import require_admin
from app.services.errors import Invalid
from app.services.rules import frozen_since, rules_updated_at

router = APIRouter(tags=["rules"])

YAML_TYPE = "text/yaml; charset=utf-8"


async def rules_upload(request: Request) -> bytes:
    """The file: a multipart upload's `file` field, or else the raw body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is None:
            raise Invalid("Send the rule file as the multipart field `file`, or as the raw "
                          "body (Content-Type: application/yaml).", "rules_file_missing")
        if isinstance(upload, str):
            return upload.encode()
        return await upload.read(rules_file.MAX_FILE_BYTES + 1)
    return await request.body()


def _loc(path: str) -> list[str | int]:
    """items[3].points → ["body", "items", 3, "points"]."""
    return ["body", *(int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path))]


_EXAMPLE = "format: jifen-rules/1\nyear: 2026\nitems:\n- code: P01\n  ...\n"
_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/yaml": {"schema": {"type": "string", "format": "binary"},
                         "example": _EXAMPLE},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary",
                                "description": "The rule file (YAML, jifen-rules/1)"}}},
        "example": {"file": _EXAMPLE}},
}}}


@router.get("/rules/{year}/export.yaml", response_class=Response,
            # YAML is text, and readers (schemathesis too) parse it: no `format: binary`.
            responses={200: {"description": "The rule file (jifen-rules/1)",
                             "content": {"text/yaml": {}}},
                       **errors(401, 404, 422)})
def export_rules(year: YearPath, session: SessionDep, actor: CurrentActor,
                 clock: ClockDep) -> Response:
    """The year's rule set as a YAML rule file, to import into another year or deployment."""
    text = rules_file.export_rule_set(session, year, clock.now())
    return Response(text, media_type=YAML_TYPE, headers={
        "Content-Disposition": f'attachment; filename="jifen-rules-{year}.yaml"'})


def _import_out(session: SessionDep, result: rules_file.ImportResult,
                clock: ClockDep) -> RulesImportOut:
    rules: RuleSet = result.rules
    if result.dry_run:
        # What the file would make; nothing changed, so the stored rules' time stays.
        frozen_at = frozen_since(session, rules.year)
        updated_at = rules_updated_at(session, rules.year, frozen_at)
        base = RulesOut(year=rules.year, frozen=frozen_at is not None, items=[
            RuleItemOut(code=i.code, kind=i.kind, name=i.name, points=i.points, cap=i.cap,
                        min_points=i.min_points, max_points=i.max_points,
                        categories=sorted(i.categories), updated_at=updated_at)
            for i in rules.items], params=params_out(rules.params), updated_at=updated_at)
    else:
        base = _rules_out(session, rules.year, clock)
    return RulesImportOut(
        **base.model_dump(), dry_run=result.dry_run, created=result.created,
        added=list(result.added), removed=list(result.removed), changed=list(result.changed),
        params_changed=result.params_changed)


@router.post("/rules/{year}/import", response_model=RulesImportOut, openapi_extra=_BODY,
             responses={201: {"model": RulesImportOut,
                              "description": "The year's rule set, created by the import"},
                        **errors(401, 403, 404, 409, 413, codes={409: ("rules_frozen",)}),
                        422: {"model": RulesFileErrorOut,
                              "description": "Invalid input; a bad file (code "
                                             "rules_file_invalid) lists every problem in "
                                             "`errors`: [{loc, msg, type, path}], path as in "
                                             "items[3].points." + codes_said((
                                                 "rules_file_invalid", "rules_file_missing",
                                                 "validation_error"))}})
def import_rules(request: Request, year: YearPath, session: SessionDep,
                 actor: CurrentActor, clock: ClockDep,
                 data: Annotated[bytes, Depends(rules_upload)],
                 dry_run: Annotated[bool, Query(description="Only check the file: nothing is "
                                                            "written.")] = False) -> Response:
    """Replace the year's rule set with a rule file's (or only check it, `dry_run`);
    refused once the year is frozen unless only the procedural parameters (ballot_required,
    rating_notice_days, rectify_months, min_notice_days) differ, or when it drops or
    re-kinds a code entries use."""
    require_admin(actor)
    try:
        result = rules_file.import_rule_set(session, actor.account_id, year, data,
                                            clock.now(), dry_run=dry_run)
    except rules_file.RulesFileInvalid as refused:
        return problem(request.url.path, 422, refused.detail, refused.code, errors=[
            RulesFileProblemOut(loc=_loc(p.path), msg=p.message, type=p.code, path=p.path)
            for p in refused.problems])
    out = _import_out(session, result, clock)
    return JSONResponse(out.model_dump(mode="json"),
                        status_code=201 if result.created and not dry_run else 200)
