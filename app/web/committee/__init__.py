"""The committee pages (支委, 支部书记): home, entries, recording, reviews, ratings, imports."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.committee import (
    appraisal,
    approvals,
    cases,
    entries,
    home,
    import_entries,
    import_members,
    login_slips,
    paper_ballots,
    rating_steps,
    ratings,
    record,
    register,
    reviews,
)

router = APIRouter()
for module in (home, entries, record, register, reviews, ratings, rating_steps, paper_ballots,
               approvals, cases, import_members, import_entries, appraisal, login_slips):
    router.include_router(module.router)
