"""The JSON API, /api/v1 (docs/api.md)."""

from fastapi import APIRouter, Depends
from fastapi.dependencies.models import Dependant
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
from app.api.deps import UNKNOWN_PARAMETER, current_actor, errors, known_parameters

# Every route refuses a query parameter it does not take (app/api/deps.py).
router = APIRouter(prefix="/api/v1", dependencies=[Depends(known_parameters)])


def _document_body_limit(module_router: APIRouter) -> None:
    """Every route that takes a body may answer 413 (app.limits); said before inclusion,
    which builds the routes' answer schemas."""
    for route in module_router.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses = {**route.responses, **errors(413)}


def _calls(dependant: Dependant, call: object) -> bool:
    return any(d.call is call or _calls(d, call) for d in dependant.dependencies)


CHANGE_FIRST = ("`password_change_required`: the caller's password was set by someone else "
                "(a members import, a reset); change it with POST /api/v1/auth/password first.")


def _document_change_first(module_router: APIRouter) -> None:
    """Every route of a caller (all but changing the password, GET /me and the logouts)
    may answer 403 `password_change_required` (app/api/deps.py)."""
    for route in module_router.routes:
        if isinstance(route, APIRoute) and _calls(route.dependant, current_actor):
            given = route.responses.get(403) or errors(403)[403]
            said = str(given.get("description", "")).rstrip(".")
            # A new dict: a route's responses may be shared with others (one constant).
            route.responses = {**route.responses, 403: {
                **given, "description": f"{said}. Also {CHANGE_FIRST}"}}


def _document_unknown_parameter(module_router: APIRouter) -> None:
    """Every route may answer 422 `unknown_parameter` (app/api/deps.known_parameters)."""
    for route in module_router.routes:
        if isinstance(route, APIRoute):
            given = route.responses.get(422) or errors(422)[422]
            said = str(given.get("description", "")).rstrip(".")
            route.responses = {**route.responses, 422: {
                **given, "description": f"{said}. Also {UNKNOWN_PARAMETER}"}}


for module in (auth, passwords, orgs, member_import, members, rules, rules_file, entries,
               attendance, reviews, ratings, audit, entry_import,
               exports, notices, printing, appraisal, cases):
    _document_body_limit(module.router)
    _document_change_first(module.router)
    _document_unknown_parameter(module.router)
    router.include_router(module.router)
