"""The logged-in person of the HTML pages (session cookie), and CSRF protection."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.services.access import Actor, get_account, load_actor
from app.services.errors import DomainError, Forbidden
from app.settings import get_settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(DomainError):
    status_code = 401
    default_code = "login_required"


def ensure_csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


async def csrf_protect(request: Request) -> None:
    """Every unsafe request carries the session's token: a form field or an HTMX header."""
    ensure_csrf_token(request)
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = str((await request.form()).get("csrf_token") or "")
    expected = str(request.session.get("csrf", ""))
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("The form has expired; reload the page and try again.", "csrf_failed")


def password_unchanged(data: dict[str, Any], changed_at: datetime) -> bool:
    """The session was opened after the account's last password change."""
    return bool(data.get("pwd") == int(changed_at.timestamp()))


def session_expired(data: dict[str, Any], clock: Clock) -> bool:
    started = data.get("at", 0)
    return not isinstance(started, int) or \
        clock.now().timestamp() - started > get_settings().token_ttl_minutes * 60


def web_actor(request: Request, session: SessionDep, clock: ClockDep) -> Actor:
    account_id = request.session.get("aid")
    account = get_account(session, account_id) if isinstance(account_id, int) else None
    if account is None or not password_unchanged(request.session,
                                                 account.password_changed_at):
        request.session.pop("aid", None)
        raise LoginRequired("Log in first.")
    if session_expired(request.session, clock):
        request.session.pop("aid", None)
        raise LoginRequired("The session has expired; log in again.")
    actor = load_actor(session, account)
    request.state.actor = actor
    return actor


WebActor = Annotated[Actor, Depends(web_actor)]
