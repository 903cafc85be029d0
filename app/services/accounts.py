"""Logging in (with throttling kept in the database) and administrator accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, func, select

from app.models import Account, LoginAttempt
from app.security import burn_verify, hash_password, issue_token, verify_password
from app.services import audit
from app.services.errors import TooManyAttempts, WorkflowConflict
from app.settings import get_settings


def recent_failures(session: Session, username: str, now: datetime) -> int:
    window = timedelta(minutes=get_settings().login_window_minutes)
    return session.exec(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.username == username, LoginAttempt.success == False,  # noqa: E712
        LoginAttempt.at > now - window)).one()


def authenticate(session: Session, username: str, password: str, now: datetime) -> Account | None:
    """The account for these credentials, or None (the failure is recorded and throttled)."""
    settings = get_settings()
    if recent_failures(session, username, now) >= settings.login_max_failures:
        raise TooManyAttempts(
            f"Too many failed logins for this username; try again in "
            f"{settings.login_window_minutes} minutes.")
    account = session.exec(select(Account).where(Account.username == username)).first()
    if account is None:
        burn_verify(password)
    ok = account is not None and verify_password(password, account.password_hash)
    session.add(LoginAttempt(username=username[:64], at=now, success=ok))
    return account if ok else None


def login(session: Session, username: str, password: str, now: datetime) -> str | None:
    """A bearer token, or None for bad credentials."""
    account = authenticate(session, username, password, now)
    if account is None or account.id is None:
        return None
    return issue_token(account.id, account.password_changed_at, now)


def create_admin(session: Session, username: str, password: str, now: datetime) -> Account:
    if session.exec(select(Account.id).where(Account.username == username)).first():
        raise WorkflowConflict(f"The username {username!r} is taken.", "username_taken")
    account = Account(username=username, password_hash=hash_password(password), is_admin=True,
                      password_changed_at=now, created_at=now)
    session.add(account)
    session.flush()
    audit.record(session, actor_id=None, action="account.create_admin", object_type="account",
                 object_id=account.id, at=now, after=audit.snapshot(account))
    return account
