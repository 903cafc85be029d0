"""Passwords: change your own, or reset a member's (committee, administrators)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.auth import token_out
from app.api.deps import AccountActor, CurrentActor, errors
from app.api.params import MemberIdPath
from app.api.problems import problem
from app.clock import ClockDep
from app.db import SessionDep
from app.present.headers import NO_STORE
from app.schemas import PasswordChange, PasswordResetBody, PasswordResetOut, TokenOut
from app.services import accounts, passwords

router = APIRouter(tags=["auth"])


@router.post("/auth/password", response_model=TokenOut, responses=errors(
    401, 403, 422, 429, codes={403: ("wrong_password", "service_account"), 422: (
        "password_too_short", "password_too_long", "password_is_username",
        "password_too_simple", "password_unchanged")}))
def change_password(request: Request, body: PasswordChange, session: SessionDep,
                    actor: AccountActor, clock: ClockDep) -> Response:
    """Change your own password; every earlier token stops working, the answer is a new one.

    A wrong current password is 403 `wrong_password` and counts as a failed login (429
    after too many); a weak new one is 422 (`password_too_short`, `password_too_long`,
    `password_is_username`, `password_too_simple`, `password_unchanged`). It is the one
    call open to an account that must change its password first (and clears that). A
    service account has no password: 403 `service_account`.
    """
    now = clock.now()
    account = passwords.change_own_password(session, actor, body.current_password,
                                            body.new_password, now)
    if account is None or account.id is None:
        # Answered, not raised, so the failed attempt is committed and counts.
        return problem(request.url.path, 403, "The current password is wrong.",
                       "wrong_password")
    return token_out(accounts.token_for(account, now))


@router.post("/members/{member_id}/password-reset", response_model=PasswordResetOut,
             responses=errors(401, 403, 404, 409, 422))
def reset_password(member_id: MemberIdPath, session: SessionDep, actor: CurrentActor,
                   clock: ClockDep, response: Response,
                   body: PasswordResetBody | None = None) -> PasswordResetOut:
    """Set a member's password (given, or 8 generated digits); their tokens stop working,
    and they must change it at their next login (`password_change_required`).

    Administrators; a committee for the members it manages, but not for committee members
    of its own level (403 `committee_member_account`: a higher committee or an
    administrator does it) nor for its own account (403 `own_account`); never a service
    account's key (403 `service_account`). A member who has left has no login to reset:
    409 `member_left`.
    """
    reset = passwords.reset_password(session, actor, member_id,
                                     body.password if body else None, clock.now())
    response.headers.update(NO_STORE)
    return PasswordResetOut(member_id=reset.member_id, username=reset.account.username,
                            password=reset.generated)
