"""Logging in and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse

from app.api.deps import CurrentActor, errors
from app.clock import ClockDep
from app.db import SessionDep
from app.schemas import MeOut, RoleOut, TokenOut
from app.services import accounts

router = APIRouter(tags=["auth"])


@router.post("/auth/token", response_model=TokenOut, responses=errors(401, 422, 429))
def token(
    session: SessionDep,
    clock: ClockDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=128)],
) -> TokenOut | JSONResponse:
    """Exchange a username and password for a bearer token."""
    access_token = accounts.login(session, username, password, clock.now())
    if access_token is None:
        # Answered, not raised, so the failed attempt is committed and counts.
        return JSONResponse(
            {"detail": "Wrong username or password.", "code": "bad_credentials"},
            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return TokenOut(access_token=access_token)


@router.get("/me", response_model=MeOut, responses=errors(401))
def me(actor: CurrentActor) -> MeOut:
    """The caller: account, member and roles."""
    roles = [RoleOut(org_id=o, role="committee") for o in actor.committee_org_ids]
    if actor.member_org_id is not None:
        roles.append(RoleOut(org_id=actor.member_org_id, role="member"))
    return MeOut(username=actor.username, member_id=actor.member_id, is_admin=actor.is_admin,
                 roles=roles)
