"""The summary of the annual appraisal for the level above (appraisal.md §3, §6)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.models import BallotStatus, RatingStatus


class GradeCountsOut(BaseModel):
    """Graded lines per grade, as the committee set them (never the ballot's tally)."""

    excellent: int
    qualified: int
    basically_qualified: int
    unqualified: int


class BranchAppraisalOut(BaseModel):
    org_id: int
    name: str
    rating_id: int | None = Field(description="Null while the branch has no rating of the "
                                  "year; everything below is then null too.")
    status: RatingStatus | None
    ballot: BallotStatus | None = Field(description="The ballot (民主测评): none (never "
                                        "opened), open or closed.")
    members: int | None = Field(description="Lines on the rating.")
    graded: int | None = Field(description="n: full members, not exempt.")
    exempt: int | None
    probationary: int | None
    voters: int | None = Field(description="Who may vote, counted when the ballot opened; "
                               "null while it has not.")
    cast_online: int | None
    cast_paper: int | None
    turnout: float | None = Field(description="(cast_online + cast_paper) / voters, to 4 "
                                  "places; null when no ballot was opened.")
    grades: GradeCountsOut | None
    excellent_limit: int | None = Field(description="⌊n / the year's excellent divisor⌋.")
    open_objections: int | None


class StatusCountsOut(BaseModel):
    """Branches by the state of their rating."""

    not_rated: int
    draft: int
    published: int
    submitted: int
    approved: int


class AppraisalTotalsOut(BaseModel):
    branches: int
    rated: int = Field(description="Branches with a rating of the year.")
    statuses: StatusCountsOut
    members: int
    graded: int
    exempt: int
    probationary: int
    voters: int = Field(description="Over the branches whose ballot was opened.")
    cast_online: int
    cast_paper: int
    turnout: float | None = Field(description="Ballots cast over voters, over the branches "
                                  "whose ballot was opened; null if none was.")
    grades: GradeCountsOut
    excellent_limit: int = Field(description="The branches' limits added up.")
    open_objections: int


class AppraisalSummaryOut(BaseModel):
    org_id: int
    year: int
    branches: list[BranchAppraisalOut] = Field(
        description="In the organisation tree's order, never by any score.")
    totals: AppraisalTotalsOut
