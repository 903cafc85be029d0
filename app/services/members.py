"""Members and their accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.clock import CHINA
from app.models import Account, ExemptionReason, Member, Org, OrgKind, Standing
from app.security import hash_password
from app.services import audit, standing
from app.services.access import (
    Actor,
    get_managed_org,
    get_member,
    get_org,
    managed_org_filter,
    require_manages,
    require_person,
)
from app.services.errors import Invalid, WorkflowConflict
from app.services.locking import Precondition, lock_branch
from app.services.paging import Feed, Listing, page
from app.services.passwords import check_policy
from app.services.sync import SyncRead


@dataclass(frozen=True)
class NewMember:
    name: str
    org_id: int
    category: str
    joined_on: date
    username: str
    password: str
    standing: Standing = Standing.full


def username_taken(session: Session, username: str) -> bool:
    return session.exec(select(Account.id).where(Account.username == username)).first() \
        is not None


def create_member(session: Session, actor: Actor, new: NewMember, now: datetime,
                  today: date, password_hash: str | None = None,
                  must_change_password: bool = False) -> tuple[Member, Account]:
    """A member and their account; `password_hash` is new.password's hash when the caller
    computed it beforehand (an import hashes outside its transaction);
    `must_change_password`: the member sets their own at their first login (an import).
    Never by a service account: whoever sets or receives a member's password can log in as
    them, and vote in their ballot."""
    require_person(actor, "create member accounts (whoever sets their password could log "
                   "in as them)")
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
    if new.standing == Standing.left:
        raise Invalid("A new member is full or probationary.", "leave_required")
    if new.standing == Standing.probationary:
        standing.check_probation(new.joined_on, today)
    member = Member(name=new.name.strip(), org_id=new.org_id, category=new.category,
                    joined_on=new.joined_on, created_at=now, standing=new.standing)
    session.add(member)
    session.flush()
    account = Account(username=new.username,
                      password_hash=password_hash or hash_password(new.password),
                      member_id=member.id, password_changed_at=now, created_at=now,
                      must_change_password=must_change_password)
    session.add(account)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="member.create",
                 object_type="member", object_id=member.id, at=now,
                 after=audit.snapshot(member) | {"username": new.username} | (
                     {"must_change_password": True} if must_change_password else {}))
    return member, account


def update_member(session: Session, actor: Actor, member_id: int, changes: dict[str, object],
                  now: datetime, precondition: Precondition | None = None) -> Member:
    member, org = get_member(session, actor, member_id)
    require_manages(actor, org)
    lock_branch(session, org.id or 0, member)
    if precondition is not None:
        precondition()
    before = audit.snapshot(member)
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name:
            raise Invalid("name must not be empty.", "name_required")
        member.name = name
    if "category" in changes:
        member.category = str(changes["category"])
    if "standing" in changes:
        standing.change_standing(member, Standing(str(changes["standing"])),
                                 changes.get("full_since"),  # type: ignore[arg-type]
                                 now.astimezone(CHINA).date())
    elif changes.get("full_since") is not None:
        raise Invalid("full_since goes with standing full (转正).", "full_since_not_full")
    session.add(member)
    if audit.snapshot(member) != before:
        audit.record(session, actor_id=actor.account_id, action="member.update",
                     object_type="member", object_id=member.id, at=now, before=before,
                     after=audit.snapshot(member))
    if "exempt" in changes or "exempt_reason" in changes:
        session.flush()
        _this_years_exemption(session, actor, member, changes, now)
    return member


def _this_years_exemption(session: Session, actor: Actor, member: Member,
                          changes: dict[str, object], now: datetime) -> None:
    """The old `exempt`/`exempt_reason` of PATCH /members/{id}: this year's exemption
    recorded (reason kind other, the reason as its note) or withdrawn."""
    assert member.id is not None
    year = standing.beijing_year(now)
    today = now.astimezone(CHINA).date()
    current = standing.active_exemptions(session, [member.id], year).get(member.id)
    reason = str(changes.get("exempt_reason") or "").strip()
    exempt = bool(changes["exempt"]) if "exempt" in changes else current is not None
    if exempt:
        if current is not None and not reason:
            if "exempt_reason" in changes:
                raise Invalid("An exempt member needs exempt_reason.", "exempt_reason_required")
            return
        if not reason:
            raise Invalid("Marking a member exempt (免评) needs exempt_reason.",
                          "exempt_reason_required")
        kind = current.reason_kind if current is not None else ExemptionReason.other
        standing.record_exemption(session, actor, member.id, year, standing.ExemptionIn(
            kind, reason, current.parent_consent_on if current else None,
            current.meeting_on if current else None), now, today)
    elif current is not None:
        standing.withdraw_exemption(session, actor, member.id, year,
                                    reason or "exempt cleared (PATCH exempt=false)", now)


FEED = Feed("members", col(Member.updated_at), col(Member.id))


def list_members(session: Session, actor: Actor, org_id: int | None, limit: int,
                 offset: int, sync: SyncRead | None = None) -> Listing[Member]:
    """Members the actor may see (optionally of an organisation's subtree: 404 outside the
    actor's view), by id, or by (updated_at, id) for a sync read."""
    query = select(Member).join(Org, col(Org.id) == Member.org_id).where(
        sa.or_(col(Member.id) == actor.member_id, managed_org_filter(actor)))
    if org_id is not None:
        org = get_org(session, actor, org_id)
        query = query.where(col(Org.path).startswith(org.path, autoescape=True))
    return page(session, query, col(Member.id), limit=limit, offset=offset, sync=sync,
                feed=FEED)


def usernames(session: Session, member_ids: list[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = session.exec(select(Account.member_id, Account.username)
                        .where(col(Account.member_id).in_(member_ids))).all()
    return {m: u for m, u in rows if m is not None}

