"""Dependencies shared by the JSON routes: the caller, the clock, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.clock import ClockDep
from app.db import SessionDep
from app.schemas import ErrorOut
from app.security import SessionClaims, read_token
from app.services.access import Actor, load_actor, session_account
from app.services.errors import Unauthorized
from app.services.passwords import require_own_password

_bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/token")


async def token_claims(
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> SessionClaims:
    """The bearer token's claims: well signed and not expired (no I/O, so async)."""
    if credentials is None:
        raise Unauthorized("Log in first: send Authorization: Bearer <token>.")
    claims = read_token(credentials.credentials, clock.now())
    if claims is None:
        raise Unauthorized("The token is invalid or expired; log in again.", "invalid_token")
    return claims


TokenClaims = Annotated[SessionClaims, Depends(token_claims)]


def account_actor(session: SessionDep, claims: TokenClaims) -> Actor:
    """The caller, even one who must change their password first (for that change, GET /me
    and the logouts)."""
    account = session_account(session, claims)
    if account is None:
        raise Unauthorized("The token is invalid, expired or logged out; log in again.",
                           "invalid_token")
    return load_actor(session, account)


AccountActor = Annotated[Actor, Depends(account_actor)]


def current_actor(actor: AccountActor) -> Actor:
    """The caller; 403 `password_change_required` while someone else's password stands."""
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
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    # Beyond 2**31 - 1 nothing is there, and PostgreSQL's OFFSET would refuse 2**63.
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Paging:
    return Paging(limit, offset)


# Dependencies that do no I/O are async: a sync one costs a worker-thread hop per request.
PagingDep = Annotated[Paging, Depends(paging)]

_MEANINGS = {
    401: "No or bad credentials",
    403: "Authenticated but not allowed",
    404: "Unknown or outside the caller's scope",
    409: "Refused by the workflow (a lock, a wrong state, a cap)",
    412: "If-Match names a representation that is no longer the current one (code "
         "precondition_failed); nothing was changed",
    413: "The request body is too large (code body_too_large)",
    422: "Invalid input",
    429: "Too many attempts",
}


def errors(*statuses: int, codes: dict[int, tuple[str, ...]] | None = None
           ) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give, with the `code` values a
    status may carry where the route names them."""
    given = codes or {}
    return {status: {"model": ErrorOut, "description": _MEANINGS[status] + (
        " Codes: " + ", ".join(f"`{c}`" for c in given[status]) + "." if status in given
        else "")} for status in statuses}
