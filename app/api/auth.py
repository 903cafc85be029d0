"""Logging in and out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.api.deps import AccountActor, TokenClaims, errors
from app.api.problems import problem
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas import MeOut, Role, RoleOut, TokenOut
from app.services import accounts

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenOut,
             responses=errors(401, 422, 429, codes={401: ("bad_credentials",)}))
def log_in(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    username: Annotated[str, Form(max_length=64, description="The account's username.",
                                  examples=["shuji1"])],
    password: Annotated[str, Form(max_length=128, description="Its password.",
                                  examples=["jifen-demo-2025"])],
) -> TokenOut | Response:
    """Exchange a username and password for a bearer token.

    `password_change_required: true`: someone else set this password (a members import, a
    reset); change it with POST /api/v1/auth/password before anything else (every other
    call but GET /api/v1/me and the logouts answers 403 `password_change_required`)."""
    login = accounts.login(session, username, password, clock.now())
    if login is None:
        # Answered, not raised, so the failed attempt is committed and counts.
        return problem(request.url.path, 401, "Wrong username or password.",
                       "bad_credentials", {"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=login.token,
                    password_change_required=login.password_change_required)


@router.post("/auth/logout", status_code=204, response_class=Response,
             responses=errors(401, 403))
def logout(session: SessionDep, actor: AccountActor, claims: TokenClaims,
           clock: ClockDep) -> Response:
    """Log this token out: from now on it is refused (401 `invalid_token`), not only once it
    expires. Other tokens and page sessions of the account stay logged in."""
    accounts.end_session(session, claims, clock.now())
    return Response(status_code=204)


@router.post("/auth/logout-everywhere", status_code=204, response_class=Response,
             responses=errors(401, 403))
def logout_everywhere(session: SessionDep, actor: AccountActor, clock: ClockDep) -> Response:
    """Log the account out everywhere (退出所有设备): every token, this one included, and
    every page session are refused from now on; log in again for a new token."""
    accounts.end_all_sessions(session, actor, clock.now())
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, responses=errors(401))
def read_me(actor: AccountActor) -> MeOut:
    """The caller: account, member and roles (and whether they must change their password
    before anything else)."""
    roles = [RoleOut(org_id=o, role=Role.committee) for o in actor.committee_org_ids]
    if actor.member_org_id is not None:
        roles.append(RoleOut(org_id=actor.member_org_id, role=Role.member))
    return MeOut(username=actor.username, member_id=actor.member_id, is_admin=actor.is_admin,
                 roles=roles, password_change_required=actor.must_change_password)
