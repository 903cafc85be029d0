"""The JSON API, /api/v1 (docs/api.md)."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from app.api import (
    appraisal,
    attendance,
    audit,
    auth,
    cases,
    entries,
    entry_import,
    exports,
    member_import,
    members,
    notices,
    orgs,
    passwords,
    printing,
    ratings,
    reviews,
    rules,
    rules_file,
)
from app.api.deps import errors

router = APIRouter(prefix="/api/v1")


def _document_body_limit(module_router: APIRouter) -> None:
    """Every route that takes a body may answer 413 (app.limits); said before inclusion,
    which builds the routes' answer schemas."""
    for route in module_router.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses = {**route.responses, **errors(413)}


for module in (auth, passwords, orgs, member_import, members, rules, rules_file, entries,
               attendance, reviews, ratings, audit, entry_import,
               exports, notices, printing, appraisal, cases):
    _document_body_limit(module.router)
    router.include_router(module.router)
