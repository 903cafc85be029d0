"""The administrator's pages: the organisation tree, members, the rules of a year."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.admin import members, orgs, rules

router = APIRouter()
for module in (orgs, members, rules):
    router.include_router(module.router)
