"""Downloads as .xlsx or CSV: a review sheet (公示), a rating, an organisation's summary."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.api.deps import CurrentActor, download, errors
from app.api.params import OrgIdPath, RatingIdPath, ReviewIdPath
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
from app.schemas import Year
from app.services.sheets import CSV_TYPE, XLSX_TYPE

router = APIRouter(tags=["exports"])

_FILE = download("The file, as an attachment", XLSX_TYPE, CSV_TYPE)


def file_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {**_FILE, **errors(*codes)}


@router.get("/reviews/{review_id}/export", response_class=Response,
            responses=file_responses(401, 404, 422))
def export_review(review_id: ReviewIdPath, session: SessionDep, actor: CurrentActor,
                  clock: ClockDep,
                  format: FormatQuery = ExportFormat.xlsx) -> Response:
    """The review sheet (公示表): each member's review score, change, running total,
    objections and the review's state. Whoever may read the review may export it."""
    return file_response(exports.review_export(session, actor, review_id, clock.now()), format)


@router.get("/ratings/{rating_id}/export", response_class=Response,
            responses=file_responses(401, 404, 422))
def export_rating(rating_id: RatingIdPath, session: SessionDep, actor: CurrentActor,
                  format: FormatQuery = ExportFormat.xlsx) -> Response:
    """The annual rating: each member's score, stars, proposed and final grade, the reason
    of a change, and the rating's state. Whoever may read the rating may export it."""
    return file_response(exports.rating_export(session, actor, rating_id), format)


@router.get("/orgs/{org_id}/summary/export", response_class=Response,
            responses=file_responses(401, 403, 404, 422))
def export_summary(org_id: OrgIdPath, session: SessionDep, actor: CurrentActor, clock: ClockDep,
                   year: Annotated[Year | None, Query(description="default: this year")] = None,
                   format: FormatQuery = ExportFormat.xlsx,
                   sheet: Annotated[SummarySheet | None, Query(
                       description="only this sheet; CSV has one, `branches` by default")]
                   = None) -> Response:
    """The year in an organisation, for the level above: one row per branch the caller
    manages in it (members, entries by state, the quarters' reviews, the rating, members
    per grade and per stars), and a second sheet with every member's annual score, stars
    and grade (the rating's where there is one, else the provisional score)."""
    export = exports.summary_export(session, actor, org_id, year or clock.today().year,
                                    clock.now())
    return file_response(export, format, None if sheet is None else
                         SUMMARY_SHEETS.index(sheet))
