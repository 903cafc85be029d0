"""Members and their accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Account, Member, Org, OrgKind
from app.security import hash_password
from app.services import audit
from app.services.access import (
    Actor,
    get_managed_org,
    get_member,
    managed_org_filter,
    require_manages,
)
from app.services.errors import Invalid, WorkflowConflict
from app.services.locking import lock_branch
from app.services.paging import page
from app.services.passwords import check_policy


@dataclass(frozen=True)
class NewMember:
    name: str
    org_id: int
    category: str
    joined_on: date
    username: str
    password: str


def username_taken(session: Session, username: str) -> bool:
    return session.exec(select(Account.id).where(Account.username == username)).first() \
        is not None


def create_member(session: Session, actor: Actor, new: NewMember, now: datetime,
                  today: date, password_hash: str | None = None) -> tuple[Member, Account]:
    """A member and their account; `password_hash` is new.password's hash when the caller
    computed it beforehand (an import hashes outside its transaction)."""
    org = get_managed_org(session, actor, new.org_id)
    if org.kind != OrgKind.branch:
        raise Invalid(f"{org.name} is not a branch; members belong to a branch.",
                      "not_a_branch")
    if new.joined_on > today:
        raise Invalid(f"joined_on {new.joined_on} is in the future.", "future_date")
    if not new.name.strip():
        raise Invalid("name must not be empty.", "name_required")
    if username_taken(session, new.username):
        raise WorkflowConflict(f"The username {new.username!r} is taken; choose another.",
                               "username_taken")
    check_policy(new.password, new.username)
    lock_branch(session, org.id or 0)
    member = Member(name=new.name.strip(), org_id=new.org_id, category=new.category,
                    joined_on=new.joined_on, created_at=now)
    session.add(member)
    session.flush()
    account = Account(username=new.username,
                      password_hash=password_hash or hash_password(new.password),
                      member_id=member.id, password_changed_at=now, created_at=now)
    session.add(account)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="member.create",
                 object_type="member", object_id=member.id, at=now,
                 after=audit.snapshot(member) | {"username": new.username})
    return member, account


def update_member(session: Session, actor: Actor, member_id: int, changes: dict[str, object],
                  now: datetime) -> Member:
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, member)
    before = audit.snapshot(member)
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name:
            raise Invalid("name must not be empty.", "name_required")
        member.name = name
    if "category" in changes:
        member.category = str(changes["category"])
    if "exempt" in changes:
        exempt = bool(changes["exempt"])
        reason = str(changes.get("exempt_reason") or member.exempt_reason or "").strip()
        if exempt and not reason:
            raise Invalid("Marking a member exempt (免评) needs exempt_reason.",
                          "exempt_reason_required")
        member.exempt = exempt
        member.exempt_reason = reason if exempt else None
    elif "exempt_reason" in changes and member.exempt:
        reason = str(changes["exempt_reason"] or "").strip()
        if not reason:
            raise Invalid("An exempt member needs exempt_reason.", "exempt_reason_required")
        member.exempt_reason = reason
    session.add(member)
    audit.record(session, actor_id=actor.account_id, action="member.update",
                 object_type="member", object_id=member.id, at=now, before=before,
                 after=audit.snapshot(member))
    return member


def list_members(session: Session, actor: Actor, org_id: int | None, limit: int,
                 offset: int) -> tuple[list[Member], int]:
    query = select(Member).join(Org, col(Org.id) == Member.org_id).where(
        sa.or_(col(Member.id) == actor.member_id, managed_org_filter(actor)))
    if org_id is not None:
        org = session.get(Org, org_id)
        if org is None:
            return [], 0
        query = query.where(col(Org.path).startswith(org.path, autoescape=True))
    return page(session, query, col(Member.id), limit=limit, offset=offset)


def usernames(session: Session, member_ids: list[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = session.exec(select(Account.member_id, Account.username)
                        .where(col(Account.member_id).in_(member_ids))).all()
    return {m: u for m, u in rows if m is not None}

