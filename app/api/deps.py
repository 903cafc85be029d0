"""Dependencies shared by the JSON routes: the caller, the clock, paging, sync reads, and the
refusal of query parameters a route does not take."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BeforeValidator

from app.clock import ClockDep
from app.db import SAFE_METHODS, SessionDep
from app.schemas import ErrorOut
from app.security import SessionClaims, looks_like_api_key, read_token
from app.services import service_accounts
from app.services.access import Actor, session_actor
from app.services.errors import Forbidden, Invalid, Unauthorized
from app.services.passwords import require_own_password
from app.services.stamps import use_clock
from app.services.sync import SyncRead

_bearer = HTTPBearer(auto_error=False, description=(
    "A token from POST /api/v1/auth/token, or a service account's API key (jfk_...)."))
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def token_claims(clock: ClockDep, credentials: Bearer) -> SessionClaims:
    """The bearer token's claims: well signed and not expired (no I/O, so async). An API
    key has none: it is no login session (an administrator revokes it)."""
    if credentials is None:
        raise Unauthorized("Log in first: send Authorization: Bearer <token>.")
    if looks_like_api_key(credentials.credentials):
        raise Forbidden("An API key is no login session: nothing to log out. An "
                        "administrator revokes a key that is no longer wanted.",
                        "service_account")
    claims = read_token(credentials.credentials, clock.now())
    if claims is None:
        raise Unauthorized("The token is invalid or expired; log in again.", "invalid_token")
    return claims


TokenClaims = Annotated[SessionClaims, Depends(token_claims)]


def credential_caller(session: SessionDep, sent: str,
                      now: datetime) -> tuple[Actor, service_accounts.KeyUse | None]:
    """The caller a bearer credential speaks for now, a person's token or a service
    account's API key (with its use, to note); 401 `invalid_token` for one refused."""
    if looks_like_api_key(sent):
        use = service_accounts.key_actor(session, sent, now)
        if use is None:
            raise Unauthorized("The API key is unknown or revoked.", "invalid_token")
        return use.actor, use
    claims = read_token(sent, now)
    if claims is None:
        raise Unauthorized("The token is invalid or expired; log in again.", "invalid_token")
    actor = session_actor(session, claims)
    if actor is None:
        raise Unauthorized("The token is invalid, expired or logged out; log in again.",
                           "invalid_token")
    return actor, None


def account_actor(request: Request, session: SessionDep, clock: ClockDep,
                  credentials: Bearer) -> Actor:
    """The caller, even one who must change their password first (for that change, GET /me
    and the logouts): a person's token, or a service account's API key (403
    `read_only_key` for a `read` key on anything but GET)."""
    use_clock(session, clock)  # the request's time on every updated_at it writes
    if credentials is None:
        raise Unauthorized("Log in first: send Authorization: Bearer <token or API key>.")
    now = clock.now()
    actor, use = credential_caller(session, credentials.credentials, now)
    if use is not None:
        if actor.read_only and request.method not in SAFE_METHODS:
            raise Forbidden("This API key's service account may only read (GET); to change "
                            "things, an administrator creates a read-write service account.",
                            "read_only_key")
        if use.note_key is not None:
            request.state.api_key_use = (use.note_key, now)
    return actor


AccountActor = Annotated[Actor, Depends(account_actor)]


async def note_key_use(request: Request, session: SessionDep) -> AsyncIterator[None]:
    """Once the request has done its work, just before its commit: the API key's
    last_used_at, when due (at most once a minute; nothing if the request failed). Async:
    a thread only for the once-a-minute write, no hop on every request."""
    yield
    use = getattr(request.state, "api_key_use", None)
    if use is not None:
        await anyio.to_thread.run_sync(service_accounts.note_use, session, *use)


async def current_actor(actor: AccountActor) -> Actor:
    """The caller; 403 `password_change_required` while someone else's password stands.
    A coroutine: it does no I/O, and a plain function would cost every API request a hop
    to a worker thread and back."""
    require_own_password(actor)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]

# On the answer to an import confirmed again: the first import's answer, nothing created now.
REPLAYED = "Idempotent-Replayed"


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


async def paging(
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many items.")] = 50,
    # Beyond 2**31 - 1 nothing is there, and PostgreSQL's OFFSET would refuse 2**63.
    offset: Annotated[int, Query(ge=0, le=2**31 - 1,
                                 description="Skip this many items first.")] = 0,
) -> Paging:
    return Paging(limit, offset)


# Dependencies that do no I/O are async: a sync one costs a worker-thread hop per request.
PagingDep = Annotated[Paging, Depends(paging)]


def _not_a_number(value: object) -> object:
    """Pydantic reads "0.5" as a Unix time; the OpenAPI promises ISO 8601 only."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
        raise ValueError("give an ISO 8601 time with a zone, e.g. 2026-01-10T08:00:00+08:00")
    return value


# A moment in a query: ISO 8601 with a zone.
Moment = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]


async def sync_read(
    clock: ClockDep,
    updated_since: Annotated[Moment | None, Query(
        description="Sync read: only items whose updated_at is at or after this time (ISO "
        "8601 with a zone), oldest change first (docs/api/sync.md).")] = None,
    after: Annotated[str | None, Query(
        description="Sync read: the cursor to go on from, an answer's `next` or `resume` "
        "as given; 422 `invalid_cursor` for anything else.")] = None,
) -> SyncRead:
    """A sync read's parameters: items by (updated_at, id) up to the settle horizon."""
    try:
        since = updated_since.astimezone(UTC) if updated_since else None
    except OverflowError as error:  # year 1 east of Greenwich: before UTC's calendar
        raise Invalid("updated_since: the time is out of range.", "validation_error") from error
    return SyncRead(since, after, clock.now())


SyncDep = Annotated[SyncRead, Depends(sync_read)]
# What a sync read adds to a list's refusals (listed in its OpenAPI).
SYNC_CODES = ("invalid_cursor", "offset_with_cursor", "validation_error")

# Query parameter names each route takes, worked out once per route.
# By id(route) (a route is no dict key), with the route, so a reused id is never mistaken.
_TAKEN: dict[int, tuple[APIRoute, frozenset[str]]] = {}
UNKNOWN_PARAMETER = ("`unknown_parameter`: a query parameter the route does not take (a typo "
                     "is an error, not a filter left out).")


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def taken_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters a route declares, its dependencies' too."""
    cached = _TAKEN.get(id(route))
    if cached is None or cached[0] is not route:
        cached = _TAKEN[id(route)] = (route, frozenset(_query_names(route.dependant)))
    return cached[1]


async def known_parameters(request: Request) -> None:
    """422 `unknown_parameter` naming every query parameter the route does not take, as a
    body's unknown field is refused: ?org=5 for ?org_id=5 must not answer everything."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - taken_parameters(route))
    if unknown:
        taken = ", ".join(sorted(taken_parameters(route))) or "none"
        raise Invalid(f"Unknown query parameter(s): {', '.join(unknown)[:200]}. This route "
                      f"takes: {taken}.", "unknown_parameter")


_MEANINGS = {
    401: "No or bad credentials.",
    403: "Authenticated but not allowed.",
    404: "Unknown or outside the caller's scope.",
    409: "Refused by the workflow (a lock, a wrong state, a cap).",
    412: "If-Match names a representation that is no longer the current one; nothing was "
         "changed.",
    413: "The request body is too large.",
    422: "Invalid input.",
    429: "Too many attempts.",
    503: "The server cannot store this now (nothing was stored): send it again later.",
    507: "The server's storage is full (nothing was stored): send it again later.",
}


def download(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI 200 of a route that answers a file: bytes (`format: binary`) in each of
    its media types, so a generated client reads them as bytes."""
    return {200: {"description": description, "content": {
        media: {"schema": {"type": "string", "format": "binary"}} for media in media_types}}}


# The codes a status carries on any route (app/main.py, the dependencies above, the
# services' defaults), listed after those a route names.
_ANY_ROUTE = {
    404: ("not_found",),
    409: ("concurrent_change",),
    413: ("body_too_large",),
    422: ("validation_error", "value_out_of_range"),
    429: ("too_many_attempts",),
}
# The services' defaults (app/services/errors.py), where a route names no codes.
_UNNAMED = {401: ("not_authenticated", "invalid_token"), 403: ("forbidden",),
            409: ("conflict",)}


def codes_said(codes: tuple[str, ...]) -> str:
    """A status's codes as its OpenAPI description lists them (docs/api/schema.md)."""
    return " Codes: " + ", ".join(f"`{c}`" for c in codes) + "."


def errors(*statuses: int, codes: dict[int, tuple[str, ...]] | None = None
           ) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give, each with the `code` values
    it may carry: those the route names, then those of any route."""
    given = codes or {}
    def listed(status: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*given.get(status, _UNNAMED.get(status, ())),
                                    *_ANY_ROUTE.get(status, ()))))

    return {status: {"model": ErrorOut, "description": _MEANINGS[status] + codes_said(
        listed(status)), **(_RETRY_AFTER if status == 429 else {})} for status in statuses}


# Every 429 says when to try again (tests/api/test_retry_after.py finds them all).
_RETRY_AFTER = {"headers": {"Retry-After": {
    "description": "Seconds until a try can succeed.", "schema": {"type": "integer"}}}}
