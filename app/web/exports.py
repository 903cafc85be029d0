"""Download links of the pages (session cookie): the same exports as /api/v1/…/export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present import exports
from app.present.downloads import (
    SUMMARY_SHEETS,
    ExportFormat,
    FormatQuery,
    SummarySheet,
    file_response,
)
from app.web.deps import WebActor

router = APIRouter()


@router.get("/committee/reviews/{review_id}/export")
def export_review(review_id: int, session: SessionDep, actor: WebActor, clock: ClockDep,
                  format: FormatQuery = ExportFormat.xlsx) -> Response:
    return file_response(exports.review_export(session, actor, review_id, clock.now()), format)


@router.get("/committee/ratings/{rating_id}/export")
def export_rating(rating_id: int, session: SessionDep, actor: WebActor,
                  format: FormatQuery = ExportFormat.xlsx) -> Response:
    return file_response(exports.rating_export(session, actor, rating_id), format)


@router.get("/admin/orgs/{org_id}/summary/export")
def export_summary(org_id: int, session: SessionDep, actor: WebActor, clock: ClockDep,
                   year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                   format: FormatQuery = ExportFormat.xlsx,
                   sheet: Annotated[SummarySheet | None, Query()] = None) -> Response:
    export = exports.summary_export(session, actor, org_id, year or clock.today().year,
                                    clock.now())
    return file_response(export, format, None if sheet is None else
                         SUMMARY_SHEETS.index(sheet))
