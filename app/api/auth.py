"""Logging in and out, and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from app.api.deps import AccountActor, TokenClaims, errors
from app.api.problems import problem
from app.clock import ClockDep
from app.db import SessionDep
from app.models import ServiceAccess
from app.present.headers import NO_STORE
from app.schemas import MeOut, Role, RoleOut, TokenOut
from app.security import DEVICE_TOKEN_MAX
from app.services import accounts

router = APIRouter(tags=["auth"])


def token_out(token: str, **fields: object) -> JSONResponse:
    """A token answer: with how long it lasts, and kept by no cache."""
    body = TokenOut(access_token=token, expires_in=accounts.token_seconds(), **fields)
    return JSONResponse(body.model_dump(mode="json"), headers=NO_STORE)


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
    device_token: Annotated[str | None, Form(
        max_length=DEVICE_TOKEN_MAX,
        description="The `device_token` of this device's last login, if it has one: "
                    "failed logins from other devices then do not lock it out.",
        examples=["eyJhbGciOiJIUzI1NiJ9.eyJ0eXAiOiJkZXZpY2UifQ.c2lnbmF0dXJl"])] = None,
) -> Response:
    """Exchange a username and password for a bearer token (and a device token).

    `password_change_required: true`: someone else set this password (a members import, a
    reset); change it with POST /api/v1/auth/password before anything else (every other
    call but GET /api/v1/me and the logouts answers 403 `password_change_required`).

    429 after 5 failed logins in 15 minutes, counted per device: a device that sends back
    its `device_token` by its own failures only, all other devices together (Retry-After
    says when to try again). A service account does not log in here: its API key is sent
    as the bearer credential itself."""
    login = accounts.login(session, username, password, clock.now(), device_token)
    if login is None:
        # Answered, not raised, so the failed attempt is committed and counts.
        return problem(request.url.path, 401, "Wrong username or password.",
                       "bad_credentials", {"WWW-Authenticate": "Bearer"})
    return token_out(login.token, password_change_required=login.password_change_required,
                     device_token=login.device_token)


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
    before anything else). For a service account's API key: its name, no member, the role
    `service` on its organisation, and `access` (`read` or `read-write`)."""
    if actor.service:
        # A service account's key: its organisation's subtree, read or read-write.
        return MeOut(username=actor.username, member_id=None, is_admin=False,
                     roles=[RoleOut(org_id=o, role=Role.service)
                            for o in actor.committee_org_ids],
                     service=True, access=ServiceAccess.read if actor.read_only
                     else ServiceAccess.read_write)
    roles = [RoleOut(org_id=o, role=Role.committee) for o in actor.committee_org_ids]
    if actor.member_org_id is not None:
        roles.append(RoleOut(org_id=actor.member_org_id, role=Role.member))
    return MeOut(username=actor.username, member_id=actor.member_id, is_admin=actor.is_admin,
                 roles=roles, password_change_required=actor.must_change_password)
