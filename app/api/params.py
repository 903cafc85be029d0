"""Path and query parameters that many routes share, each with its OpenAPI description."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.points import RULE_CODE_PATTERN
from app.schemas import Id, Year

OrgIdPath = Annotated[Id, Path(description="The organisation's id.")]
MemberIdPath = Annotated[Id, Path(description="The member's id.")]
EntryIdPath = Annotated[Id, Path(description="The entry's id.")]
ReviewIdPath = Annotated[Id, Path(description="The quarterly review's id.")]
RatingIdPath = Annotated[Id, Path(description="The annual rating's id.")]
ObjectionIdPath = Annotated[Id, Path(description="The objection's id.")]
SuspensionIdPath = Annotated[Id, Path(description="The suspension's id.")]
CaseIdPath = Annotated[Id, Path(description="The disposal case's id.")]
YearPath = Annotated[Year, Path(description="The calendar year, e.g. 2026.")]
RuleCodePath = Annotated[str, Path(pattern=RULE_CODE_PATTERN,
                                   description="The rule item's code, e.g. P01.")]

# A year to read: this year (Beijing) when left out.
YearQuery = Annotated[Year | None, Query(description="The year; default: this year.")]
# A year to filter a list by: every year when left out.
YearFilter = Annotated[Year | None, Query(description="Only this year's; default: every "
                                                      "year.")]
OrgFilter = Annotated[Id | None, Query(description="Only this organisation's and those "
                                                   "below it; 404 outside the caller's view.")]
MemberFilter = Annotated[Id | None, Query(description="Only this member's.")]
