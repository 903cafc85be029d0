"""The committee pages (支委, 支部书记): home, entries, recording, reviews, ratings, imports."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.committee import (
    appraisal,
    entries,
    home,
    import_entries,
    import_members,
    ratings,
    record,
    reviews,
)

router = APIRouter()
for module in (home, entries, record, reviews, ratings, import_members, import_entries,
               appraisal):
    router.include_router(module.router)
