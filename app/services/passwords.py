"""Changing one's own password, and a committee or administrator resetting a member's.

Either way the account's password stamp moves on, so every token and page session
issued before it is refused (app/api/deps.py, app/web/deps.py).

A password someone else set (a reset here, a members import) is known to them: the account
must change it (Account.must_change_password) before anything else, on the pages and in the
API alike (require_own_password). Changing one's own clears that; a reset sets it again.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Account, LoginAttempt, Member, Org, RoleGrant, ServiceAccount, Standing
from app.security import hash_password, verify_password
from app.services import audit
from app.services.access import Actor, get_member, require_manages, require_person
from app.services.accounts import check_throttle, known_device
from app.services.errors import Forbidden, Invalid, NotFound, WorkflowConflict

MIN_LENGTH = 8
MAX_LENGTH = 128
# Digits only: read out over the phone and typed on a phone keypad by elderly members.
GENERATED_DIGITS = 8


def _too_simple(password: str) -> bool:
    """One character repeated (11111111), a run up or down (12345678, 87654321, abcdefgh),
    or a short pattern over and over (12121212, 123123123): the first a person tries."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(password)}
    if len(steps) == 1 and steps <= {-1, 0, 1}:
        return True
    return any(password == (password[:n] * len(password))[:len(password)] for n in (2, 3))


def check_policy(password: str, username: str) -> None:
    """8 to 128 characters, not the username, not one character repeated, not a run
    (12345678) nor a short pattern repeated (12121212)."""
    if len(password) < MIN_LENGTH:
        raise Invalid(f"The password needs at least {MIN_LENGTH} characters.",
                      "password_too_short")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"The password may have at most {MAX_LENGTH} characters.",
                      "password_too_long")
    if password.casefold() == username.casefold():
        raise Invalid("The password must not be the username.", "password_is_username")
    if _too_simple(password):
        raise Invalid("The password must not be one character repeated, a run such as "
                      "12345678, or a short pattern repeated such as 12121212.",
                      "password_too_simple")


def generate_password(username: str) -> str:
    while True:
        password = "".join(secrets.choice("0123456789") for _ in range(GENERATED_DIGITS))
        try:
            check_policy(password, username)
        except Invalid:
            continue
        return password


def _set_password(account: Account, password: str, now: datetime, *,
                  set_by_another: bool) -> None:
    # Tokens carry the stamp in whole seconds, so it must move on by at least one second.
    floor = account.password_changed_at.replace(microsecond=0) + timedelta(seconds=1)
    account.password_hash = hash_password(password)
    account.password_changed_at = max(now, floor)
    account.must_change_password = set_by_another


def require_own_password(actor: Actor) -> None:
    """Refused until the person has replaced a password someone else set for them (every
    request but changing it, reading one's own account and logging out)."""
    if actor.must_change_password:
        raise Forbidden("Your password was set by someone else (an import or a reset): "
                        "change it first with POST /api/v1/auth/password.",
                        "password_change_required")


def change_own_password(session: Session, actor: Actor, current: str, new: str,
                        now: datetime, device_token: str | None = None) -> Account | None:
    """The account with its new password; None when `current` is wrong.

    A wrong current password is a failed login attempt for the account's username, from
    the device `device_token` names if it is a known one (the caller answers rather than
    raises, so the attempt is committed and counts).
    """
    require_person(actor, "change a password (it has none: API keys only)")
    account = session.get(Account, actor.account_id)
    if account is None:
        raise NotFound("The account no longer exists.")
    device = known_device(device_token, account, now)
    check_throttle(session, account.username, now, account.password_changed_at, device)
    if not verify_password(current, account.password_hash):
        session.add(LoginAttempt(username=account.username, at=now, success=False,
                                 device=device))
        return None
    check_policy(new, account.username)
    if new == current:
        raise Invalid("The new password is the same as the current one.", "password_unchanged")
    required = account.must_change_password
    _set_password(account, new, now, set_by_another=False)
    session.add(account)
    audit.record(session, actor_id=actor.account_id, action="account.password_change",
                 object_type="account", object_id=account.id, at=now,
                 before={"must_change_password": True} if required else None,
                 after={"password": "changed"} | (
                     {"must_change_password": False} if required else {}))
    return account


@dataclass(frozen=True)
class PasswordReset:
    account: Account
    member_id: int
    # The generated password, shown once; None when the person resetting gave one.
    generated: str | None
    name: str = ""  # the member's, and their branch's: for the login slip
    branch: str = ""


def _outranked_by(actor: Actor, org_path: str) -> bool:
    """The actor is on the committee of an organisation strictly above this one."""
    return any(org_path.startswith(p) and org_path != p for p in actor.committee_paths)


def resettable_account(session: Session, actor: Actor, member_id: int) -> tuple[Member, Account]:
    """The member and the account whose password the actor may reset, or the refusal."""
    member, _org, account = _resettable(session, actor, member_id)
    return member, account


def _resettable(session: Session, actor: Actor, member_id: int) -> tuple[Member, Org, Account]:
    """The member, their branch and their account, if the actor may reset its password.

    Administrators reset anyone's; a committee resets those of the members it manages,
    except administrators and committee members of its own level (a committee member's
    is reset from above, so nobody takes over a colleague's approvals).
    """
    # A key that could set a person's password could log in as them, and so vote, object
    # and read their disposal case: what a service account never does.
    require_person(actor, "reset a person's password")
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    if member.standing == Standing.left:
        raise WorkflowConflict(f"{member.name} left the membership on {member.left_on}: their "
                               "logins stay stopped, and their password is not reset.",
                               "member_left")
    if actor.member_id == member_id:
        raise Forbidden("Change your own password with POST /api/v1/auth/password.",
                        "own_account")
    account = session.exec(select(Account).where(Account.member_id == member_id)).first()
    if account is None:
        raise WorkflowConflict(f"Member {member_id} has no login account.", "no_account")
    if not actor.is_admin:
        if account.is_admin:
            raise Forbidden("Only an administrator may reset an administrator's password.",
                            "admin_only")
        grant_paths = session.exec(
            select(Org.path).join(RoleGrant, col(RoleGrant.org_id) == Org.id)
            .where(RoleGrant.member_id == member_id)).all()
        if not all(_outranked_by(actor, path) for path in grant_paths):
            raise Forbidden("This member is on a committee; a higher committee or an "
                            "administrator resets their password.", "committee_member_account")
    return member, org, account


def reset_password(session: Session, actor: Actor, member_id: int, password: str | None,
                   now: datetime) -> PasswordReset:
    """A new password for a member's account: given, or generated (digits)."""
    member, org, account = _resettable(session, actor, member_id)
    generated: str | None
    if password is None:
        generated = new = generate_password(account.username)
    else:
        check_policy(password, account.username)
        generated, new = None, password
    # Given or generated, the one resetting knows it: the member sets their own at login.
    _set_password(account, new, now, set_by_another=True)
    session.add(account)
    audit.record(session, actor_id=actor.account_id, action="account.password_reset",
                 object_type="account", object_id=account.id, at=now,
                 after={"member_id": member_id, "password": "reset",
                        "generated": generated is not None, "must_change_password": True})
    return PasswordReset(account=account, member_id=member_id, generated=generated,
                         name=member.name, branch=org.name)


def set_password(session: Session, username: str, password: str, now: datetime) -> Account:
    """`jifen set-password`: the operator's way in when an administrator is locked out (the
    operator chose it: no change required at login)."""
    account = session.exec(select(Account).where(Account.username == username)).first()
    if account is None:
        raise NotFound(f"There is no account {username!r}.")
    if session.get(ServiceAccount, account.id) is not None:
        raise WorkflowConflict(f"{username!r} is a service account: it has no password, only "
                               "API keys (an administrator adds and revokes them).",
                               "service_account")
    check_policy(password, account.username)
    _set_password(account, password, now, set_by_another=False)
    session.add(account)
    audit.record(session, actor_id=None, action="account.password_set", object_type="account",
                 object_id=account.id, at=now, after={"password": "set"})
    return account


def awaiting_change(session: Session, usernames: Collection[str]) -> set[str]:
    """The usernames among these whose account still has the password someone else set (a
    login slip printed later shows no password the member has replaced since)."""
    names = sorted(set(usernames))
    waiting: set[str] = set()
    for start in range(0, len(names), 500):
        waiting.update(session.exec(select(Account.username).where(
            col(Account.username).in_(names[start:start + 500]),
            col(Account.must_change_password) == sa.true())).all())
    return waiting
