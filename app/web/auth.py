"""Logging in and out of the pages, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.clock import ClockDep
from app.db import SessionDep
from app.present import i18n
from app.present.headers import NO_STORE
from app.present.i18n import _
from app.present.messages import message_for
from app.services import accounts
from app.services.errors import TooManyAttempts
from app.web.deps import (
    DEVICE_COOKIE,
    WebAccount,
    ensure_csrf_token,
    open_session,
    remember_device,
    renew_session,
    session_claims,
)
from app.web.forms import safe_next
from app.web.render import flash, redirect, render

router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    ensure_csrf_token(request)
    return render(request, "pages/login.html", {"next": safe_next(next)})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    context = {"next": safe_next(next), "username": username}
    try:
        done = accounts.authenticate(session, username.strip(), password, clock.now(),
                                     request.cookies.get(DEVICE_COOKIE))
    except TooManyAttempts as refused:
        context["error"] = message_for(refused)
        response = render(request, "pages/login.html", context, status_code=429)
        response.headers["Retry-After"] = str(refused.retry_after)
        return response
    if done is None:
        context["error"] = _("用户名或密码不正确。")
        return render(request, "pages/login.html", context, status_code=401)
    open_session(request, done.account, clock.now())
    landed = redirect(request, safe_next(next))
    remember_device(landed, done.device_token)
    landed.headers.update(NO_STORE)
    return landed


@router.post("/logout")
def logout(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """Ends the session on the server too: a copy of the cookie kept from before is refused."""
    claims = session_claims(request.session, clock)
    if claims is not None:
        accounts.end_session(session, claims, clock.now())
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language
    return redirect(request, "/login")


@router.post("/logout-everywhere")
def logout_everywhere(request: Request, session: SessionDep, actor: WebAccount,
                      clock: ClockDep) -> Response:
    """退出所有设备: every other page session and API token of the account ends; this one
    stays (it pressed the button, as after a password change)."""
    account = accounts.end_all_sessions(session, actor, clock.now())
    renew_session(request, account)
    flash(request, _("其他手机或电脑上的登录都已退出。"))
    return redirect(request, "/password")


@router.post("/language")
def switch_language(
    request: Request,
    language: Annotated[str, Form(max_length=10)] = i18n.DEFAULT_LANGUAGE,
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    request.session["lang"] = language if language in i18n.LANGUAGES else \
        i18n.DEFAULT_LANGUAGE
    return redirect(request, safe_next(next))
