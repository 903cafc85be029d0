"""The administrator's pages: the organisation tree, members, the rules of a year, service
accounts."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.admin import members, orgs, rules, service_accounts

router = APIRouter()
for module in (orgs, members, rules, service_accounts):
    router.include_router(module.router)
