"""修改密码 for everyone logged in, and 重置密码 of a member by a committee or an administrator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present.headers import NO_STORE
from app.present.i18n import _
from app.present.messages import message_for
from app.services import passwords
from app.services.access import require_committee
from app.services.errors import DomainError, Invalid, TooManyAttempts
from app.web.committee.login_slips import SLIPS_PATH, Slip, slip_fields
from app.web.deps import DEVICE_COOKIE, WebAccount, WebActor, renew_session
from app.web.forms import safe_next
from app.web.render import flash, redirect, render

router = APIRouter()

Secret = Annotated[str, Form(max_length=1024)]
PAGE = "pages/password.html"
RESET_PAGE = "pages/password_reset.html"


@router.get("/password")
def password_page(request: Request, actor: WebAccount) -> Response:
    """Change my password: the current one, and the new one twice. Where a person whose
    password someone else set is sent from every page (app/web/errors.py)."""
    return render(request, PAGE, {"min_length": passwords.MIN_LENGTH})


@router.post("/password")
def change_password(request: Request, session: SessionDep, actor: WebAccount, clock: ClockDep,
                    current_password: Secret = "", new_password: Secret = "",
                    new_password_again: Secret = "") -> Response:
    context: dict[str, object] = {"min_length": passwords.MIN_LENGTH}
    try:
        if new_password != new_password_again:
            raise Invalid("The new password was typed differently twice.", "password_mismatch")
        account = passwords.change_own_password(session, actor, current_password, new_password,
                                                clock.now(), request.cookies.get(DEVICE_COOKIE))
    except DomainError as error:
        context["error"] = message_for(error)
        response = render(request, PAGE, context, status_code=error.status_code)
        if isinstance(error, TooManyAttempts):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    if account is None:
        # Rendered, not raised, so the failed attempt is committed and counts.
        context["error"] = message_for(Invalid("", "wrong_password"))
        return render(request, PAGE, context, status_code=403)
    # This session stays logged in; every other one (and every API token) is now refused.
    renew_session(request, account)
    flash(request, _("新密码已设置好，以后请用新密码登录。") if actor.must_change_password
          else _("密码已修改。其他手机或电脑上的登录已退出，请用新密码重新登录。"))
    return redirect(request, "/")


def _back(member_id: int, next: str | None) -> str:
    return safe_next(next, f"/committee/members/{member_id}")


@router.get("/members/{member_id}/password-reset")
def reset_page(member_id: int, request: Request, session: SessionDep, actor: WebActor,
               next: str | None = None) -> Response:
    """Ask before resetting; a refusal (not allowed for this member) shows here, not after."""
    require_committee(actor, "open this page")
    member, account = passwords.resettable_account(session, actor, member_id)
    return render(request, RESET_PAGE, {"member": member, "username": account.username,
                                        "back": _back(member_id, next),
                                        "min_length": passwords.MIN_LENGTH,
                                        "digits": passwords.GENERATED_DIGITS})


@router.post("/members/{member_id}/password-reset")
def reset_password(member_id: int, request: Request, session: SessionDep, actor: WebActor,
                   clock: ClockDep, password: Secret = "",
                   next: Annotated[str, Form(max_length=500)] = "") -> Response:
    """The new password, shown on this answer only (never kept in the session cookie)."""
    require_committee(actor, "open this page")
    member, account = passwords.resettable_account(session, actor, member_id)
    context: dict[str, object] = {"member": member, "username": account.username,
                                  "back": _back(member_id, next),
                                  "min_length": passwords.MIN_LENGTH,
                                  "digits": passwords.GENERATED_DIGITS}
    try:
        reset = passwords.reset_password(session, actor, member_id, password or None,
                                         clock.now())
    except DomainError as error:
        context["error"] = message_for(error)
        return render(request, RESET_PAGE, context, status_code=error.status_code)
    context |= {"done": True, "generated": reset.generated, "slips_path": SLIPS_PATH,
                "slips": slip_fields(actor, [Slip(reset.name, reset.branch, account.username,
                                                  reset.generated)], clock.now().timestamp())}
    response = render(request, RESET_PAGE, context)
    response.headers.update(NO_STORE)
    return response
