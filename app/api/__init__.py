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
    photos,
    printing,
    ratings,
    reviews,
    rules,
    rules_file,
    service_accounts,
)
from app.api.deps import (
    UNKNOWN_PARAMETER,
    account_actor,
    current_actor,
    errors,
    known_parameters,
    note_key_use,
)
from app.api.document import operation_id
from app.api.retries import prepare as prepare_retries

# Every operation's id is its function's name, for new routes too (app/api/document.py).
# Every route refuses a query parameter it does not take (app/api/deps.py); every call of
# an API key has its last use noted after the work, before the commit.
router = APIRouter(prefix="/api/v1", generate_unique_id_function=operation_id,
                   dependencies=[Depends(known_parameters),
                                 Depends(note_key_use, scope="function")])


def _document_body_limit(module_router: APIRouter) -> None:
    """Every route that takes a body may answer 413 (app.limits), unless it says its own
    413 (a photo upload); said before inclusion, which builds the routes' answer schemas."""
    for route in module_router.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses = {**errors(413), **route.responses}  # the route's own first


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


READ_ONLY = ("`read_only_key`: the caller is a service account's `read` API key, which "
             "may only GET.")
_SAFE = {"GET", "HEAD", "OPTIONS"}


def _document_read_only(module_router: APIRouter) -> None:
    """Every route of a caller that changes something may answer 403 `read_only_key` to a
    read API key (app/api/deps.py)."""
    for route in module_router.routes:
        if isinstance(route, APIRoute) and (route.methods or set()) - _SAFE and \
                _calls(route.dependant, account_actor):
            given = route.responses.get(403) or errors(403)[403]
            said = str(given.get("description", "")).rstrip(".")
            route.responses = {**route.responses, 403: {
                **given, "description": f"{said}. Also {READ_ONLY}"}}


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
               exports, notices, printing, appraisal, cases, photos, service_accounts):
    _document_body_limit(module.router)
    _document_change_first(module.router)
    _document_read_only(module.router)
    prepare_retries(module.router)  # Idempotency-Key, ETag, If-Match (docs/api/retries.md)
    _document_unknown_parameter(module.router)
    router.include_router(module.router)
