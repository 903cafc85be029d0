"""The logged-in person of the HTML pages (session cookie), and CSRF protection."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from starlette.formparsers import MultiPartException

from app.clock import Clock, ClockDep
from app.db import SessionDep
from app.models import Account
from app.present import i18n
from app.security import SESSION_ID_MAX, SessionClaims, new_session_id
from app.services.access import Actor, session_actor
from app.services.errors import DomainError, Forbidden, Invalid
from app.services.passwords import require_own_password
from app.services.stamps import use_clock
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
        try:
            sent = str((await request.form()).get("csrf_token") or "")
        except MultiPartException as unreadable:  # more than 1,000 fields, a broken upload
            raise Invalid(f"The form could not be read: {unreadable.message}",
                          "form_unreadable") from None
    expected = str(request.session.get("csrf", ""))
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("The form has expired; reload the page and try again.", "csrf_failed")


def session_claims(data: dict[str, Any], clock: Clock) -> SessionClaims | None:
    """The page session's claims (the signed cookie), or None: not logged in, expired, or
    opened by an older release (no session id: logged in again once)."""
    account_id, stamp, generation, started, session_id = (
        data.get(key) for key in ("aid", "pwd", "gen", "at", "sid"))
    if not (isinstance(account_id, int) and isinstance(stamp, int) and
            isinstance(generation, int) and isinstance(started, int) and
            isinstance(session_id, str) and len(session_id) <= SESSION_ID_MAX):
        return None
    expires = datetime.fromtimestamp(started, UTC) + \
        timedelta(minutes=get_settings().token_ttl_minutes)
    if clock.now() > expires:
        return None
    return SessionClaims(account_id=account_id, password_stamp=stamp, generation=generation,
                         session_id=session_id, expires_at=expires)


def open_session(request: Request, account: Account, now: datetime) -> None:
    """Log this browser in: a new session (new id, new CSRF token), the language kept."""
    language = request.session.get("lang")
    request.session.clear()
    request.session.update({"aid": account.id, "sid": new_session_id(),
                            "at": int(now.timestamp()),
                            "lang": language or i18n.DEFAULT_LANGUAGE})
    renew_session(request, account)
    ensure_csrf_token(request)


# The device token of this browser's last login (app/services/accounts.py): failed logins
# from elsewhere do not lock it out. Not the session: logging out keeps it.
DEVICE_COOKIE = "jifen_device"


def remember_device(response: Response, device_token: str) -> None:
    """Give the browser its device token, kept as long as a device stays known."""
    settings = get_settings()
    response.set_cookie(DEVICE_COOKIE, device_token, max_age=settings.device_days * 86_400,
                        httponly=True, samesite="lax", secure=bool(settings.cookie_secure))


def renew_session(request: Request, account: Account) -> None:
    """This session takes the account's new stamps: it stays logged in after its own password
    change or 退出所有设备, which end every other."""
    request.session.update({"pwd": int(account.password_changed_at.timestamp()),
                            "gen": account.session_generation})


def web_account(request: Request, session: SessionDep, clock: ClockDep) -> Actor:
    """The logged-in person, even one who must change their password first (for 修改密码
    and 退出所有设备 only)."""
    use_clock(session, clock)  # the request's time on every updated_at it writes
    claims = session_claims(request.session, clock)
    actor = session_actor(session, claims) if claims else None
    if actor is None:
        request.session.pop("aid", None)
        raise LoginRequired("Log in first (the session has ended or expired).")
    request.state.actor = actor
    return actor


def web_actor(request: Request, session: SessionDep, clock: ClockDep) -> Actor:
    """The logged-in person; one whose password someone else set is sent to 修改密码
    (app/web/errors.py) from every page until they have set their own."""
    actor = web_account(request, session, clock)
    require_own_password(actor)
    return actor


WebAccount = Annotated[Actor, Depends(web_account)]
WebActor = Annotated[Actor, Depends(web_actor)]
