"""The JSON API, /api/v1 (api.md)."""

from fastapi import APIRouter

from app.api import audit, auth, entries, members, orgs, ratings, reviews, rules

router = APIRouter(prefix="/api/v1")
for module in (auth, orgs, members, rules, entries, reviews, ratings, audit):
    router.include_router(module.router)
