"""Logging in (with throttling kept in the database) and out, and administrator accounts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from app.models import Account, LoginAttempt, Member, RevokedSession, ServiceAccount, Standing
from app.security import (
    SessionClaims,
    burn_verify,
    hash_password,
    issue_device_token,
    issue_token,
    new_session_id,
    read_device_token,
    verify_password,
)
from app.services import audit
from app.services.access import Actor, require_person
from app.services.errors import NotFound, TooManyAttempts, WorkflowConflict
from app.services.locking import lock_username
from app.services.text import bad_character
from app.settings import get_settings


def _failed_logins(username: str, now: datetime, since: datetime | None,
                   device: str | None) -> list[sa.ColumnElement[bool]]:
    """Failed logins within the window (and, when given, from `since` on) that count
    against `device`: its own, or for an unknown device (None) those of unknown devices."""
    window = timedelta(minutes=get_settings().login_window_minutes)
    conditions = [col(LoginAttempt.username) == username,
                  col(LoginAttempt.success) == sa.false(), col(LoginAttempt.at) > now - window,
                  col(LoginAttempt.device).is_(None) if device is None
                  else col(LoginAttempt.device) == device]
    if since is not None:
        conditions.append(col(LoginAttempt.at) >= since)
    return conditions


def recent_failures(session: Session, username: str, now: datetime,
                    since: datetime | None = None, device: str | None = None) -> int:
    """Failed logins within the window (and, when given, from `since` on) that count
    against the device (None: the unknown devices, together)."""
    return session.exec(select(func.count()).select_from(LoginAttempt)
                        .where(*_failed_logins(username, now, since, device))).one()


def check_throttle(session: Session, username: str, now: datetime,
                   password_changed_at: datetime | None, device: str | None = None) -> None:
    """TooManyAttempts after too many failures; a new password (a reset) starts afresh,
    so a member locked out by forgetting it can log in as soon as it is reset.

    Failures are counted per device (docs/api/keys.md, "The login throttle"): a device that
    logged in to this username before (`device`, from its device token) by its own failures
    only; every other device by the failures of unknown devices together. Whoever guesses
    at a person's password from elsewhere locks out only the unknown devices, never the
    person's own phone."""
    settings = get_settings()
    lock_username(session, username)
    if recent_failures(session, username, now, password_changed_at, device) >= \
            settings.login_max_failures:
        raise TooManyAttempts(
            f"Too many failed logins for this username from this device; try again in "
            f"{settings.login_window_minutes} minutes.",
            retry_after=_seconds_until_allowed(session, username, now, password_changed_at,
                                               device))


def _seconds_until_allowed(session: Session, username: str, now: datetime,
                           since: datetime | None, device: str | None) -> int:
    """When the window no longer holds login_max_failures failures: the one that many back
    from the newest leaves it (asked only of a refused login, so no cost on the way in)."""
    settings = get_settings()
    oldest_counted = session.exec(
        select(LoginAttempt.at).where(*_failed_logins(username, now, since, device))
        .order_by(col(LoginAttempt.at).desc())
        .offset(max(0, settings.login_max_failures - 1)).limit(1)).first()
    window = timedelta(minutes=settings.login_window_minutes)
    if oldest_counted is None:
        return 1
    return max(1, math.ceil((oldest_counted + window - now).total_seconds()))


def known_device(device_token: str | None, account: Account | None,
                 now: datetime) -> str | None:
    """The id of the device a login comes from, if it logged in to this very account before
    (its device token, signed by this app, names the account and its username); else None."""
    claims = read_device_token(device_token or "", now) if account is not None else None
    if claims is None or account is None or claims.account_id != account.id or \
            claims.username != account.username:
        return None
    return claims.device_id


def device_token_for(account: Account, device: str | None, now: datetime) -> str:
    """A device token renewed at a successful login: the device's id kept, or a new one."""
    assert account.id is not None
    return issue_device_token(device or new_session_id(), account.id, account.username, now)


@dataclass(frozen=True)
class Authenticated:
    account: Account
    # Given back to the device (a cookie, `device_token`): known at its next logins.
    device_token: str


def authenticate(session: Session, username: str, password: str, now: datetime,
                 device_token: str | None = None) -> Authenticated | None:
    """The account for these credentials, or None (the failure is recorded and throttled).
    `device_token`: what an earlier login gave this device, if it sends it back."""
    if bad_character(username, one_line=True):
        # No account has such a name (usernames are letters, digits and _ . @ -), and the
        # attempt could not be recorded as typed: a wrong login, like any other.
        burn_verify(password)
        return None
    # The member's standing in the same statement: one who has left logs in no more. A
    # service account never logs in with a password (it has none: API keys only).
    row = session.execute(select(Account, Member.standing, ServiceAccount.account_id)
                          .outerjoin(Member, col(Member.id) == Account.member_id)
                          .outerjoin(ServiceAccount,
                                     col(ServiceAccount.account_id) == Account.id)
                          .where(Account.username == username)).first()
    account, standing, service = row if row is not None else (None, None, None)
    device = known_device(device_token, account, now)
    check_throttle(session, username, now, account.password_changed_at if account else None,
                   device)
    if account is None or service is not None:
        burn_verify(password)
    ok = account is not None and service is None and \
        verify_password(password, account.password_hash) and standing != Standing.left
    session.add(LoginAttempt(username=username[:64], at=now, success=ok, device=device))
    # This username's attempts past the retention go as it logs in again (an index range
    # under the username lock already held): the table stays a few rows per user.
    cutoff = now - timedelta(days=get_settings().login_history_days)
    session.execute(sa.delete(LoginAttempt).where(
        col(LoginAttempt.username) == username[:64], col(LoginAttempt.at) < cutoff))
    if not ok or account is None:
        return None
    return Authenticated(account, device_token_for(account, device, now))


@dataclass(frozen=True)
class Login:
    token: str
    # Someone else set the password: nothing but changing it until it is changed.
    password_change_required: bool
    device_token: str


def login(session: Session, username: str, password: str, now: datetime,
          device_token: str | None = None) -> Login | None:
    """A bearer token, or None for bad credentials."""
    done = authenticate(session, username, password, now, device_token)
    if done is None or done.account.id is None:
        return None
    return Login(token_for(done.account, now), done.account.must_change_password,
                 done.device_token)


def token_seconds() -> int:
    """How long a new token (and a page session) lasts."""
    return get_settings().token_ttl_minutes * 60


def token_for(account: Account, now: datetime) -> str:
    """A new bearer token of the account's current password and session generation."""
    assert account.id is not None
    return issue_token(account.id, account.password_changed_at, account.session_generation,
                       now)


def end_session(session: Session, claims: SessionClaims, now: datetime) -> None:
    """Log one session (a page cookie, an API token) out: its id is refused from now until
    it would have expired anyway. Ended sessions past that are pruned on the way (a range
    of the expires_at index), so the table holds only the last token lifetime's logouts."""
    session.execute(sa.delete(RevokedSession).where(col(RevokedSession.expires_at) <= now))
    if claims.expires_at <= now:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    # The same session logged out twice at once (two tabs) is no conflict.
    session.execute(insert(RevokedSession).values(
        session_id=claims.session_id, expires_at=claims.expires_at).on_conflict_do_nothing())


def end_all_sessions(session: Session, actor: Actor, now: datetime) -> Account:
    """退出所有设备: every page session and token of the actor's account is refused from now
    on. The account comes back with its new generation, for the caller to keep its own
    session (app/web/deps.py renew_session) if it wants to."""
    require_person(actor, "log out everywhere (an administrator revokes its keys)")
    account = session.get(Account, actor.account_id)
    if account is None:
        raise NotFound("The account no longer exists.")
    # In SQL, so two presses at once both count: neither keeps the other's generation.
    account.session_generation = Account.session_generation + 1
    session.add(account)
    session.flush()
    session.refresh(account, ["session_generation"])
    audit.record(session, actor_id=actor.account_id, action="account.logout_everywhere",
                 object_type="account", object_id=account.id, at=now,
                 after={"session_generation": account.session_generation})
    return account


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
