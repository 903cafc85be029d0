"""The administrator's pages: the organisation tree, members, the rules of a year."""

from __future__ import annotations

from fastapi import APIRouter

from app.web import admin_members, admin_orgs, admin_rules

router = APIRouter()
for module in (admin_orgs, admin_members, admin_rules):
    router.include_router(module.router)
