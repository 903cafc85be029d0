"""Who may see and do what: the one place roles and scopes are decided (docs/api.md, Roles)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from app.db import core
from app.models import Account, Member, Org, RevokedSession, RoleGrant, Standing
from app.security import SessionClaims
from app.services.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Actor:
    account_id: int
    username: str
    is_admin: bool = False
    member_id: int | None = None
    member_org_id: int | None = None
    member_org_path: str | None = None
    # Paths of the organisations the actor is a committee member of.
    committee_paths: tuple[str, ...] = ()
    committee_org_ids: tuple[int, ...] = ()
    # Someone else set the password (an import, a reset): the person sets their own first.
    must_change_password: bool = False
    # A service account's API key (app/services/service_accounts.py): no member, never an
    # administrator, its organisation's subtree as committee_paths; no part in disposal
    # cases nor ballots (require_person). A `read` key changes nothing (read_only).
    service: bool = False
    read_only: bool = False

    @property
    def is_committee(self) -> bool:
        return bool(self.committee_paths)

    def manages(self, org: Org) -> bool:
        """Admin, or committee on this organisation or one above it."""
        return self.manages_path(org.path)

    def manages_path(self, path: str) -> bool:
        """manages() of the organisation at this path."""
        return self.is_admin or any(path.startswith(p) for p in self.committee_paths)

    def manages_above(self, org: Org) -> bool:
        """Admin, or committee on an organisation above this one (not on itself)."""
        return self.is_admin or any(
            org.path.startswith(p) and org.path != p for p in self.committee_paths)

    def can_see_org(self, org: Org) -> bool:
        if self.manages(org):
            return True
        # Own branch and the organisations above it, and those above a committee's.
        own = [self.member_org_path] if self.member_org_path else []
        return any(p.startswith(org.path) for p in (*own, *self.committee_paths))


def session_ended() -> sa.Label[bool]:
    """Whether the session :session was ended by a logout: a primary-key probe, asked inside
    the statement that reads the account (no statement of its own on the hot path)."""
    return sa.exists().where(
        col(RevokedSession.session_id) == sa.bindparam("session")).label("session_ended")


@dataclass(frozen=True)
class MemberBrief:
    """A member as their score reads them, with their branch's name and path: one prebuilt
    statement, no ORM objects (the score's, member_score; the login check reads the
    caller's own)."""

    id: int
    org_id: int
    name: str
    joined_on: date
    created_at: datetime | None
    org_name: str
    org_path: str


# Where the login check leaves the caller's own MemberBrief, for own_brief in the same
# request (the ORM's identity map did this for the objects it loaded).
_OWN_BRIEF = "jifen_own_member"

# Built once: every request runs it. Plain columns (no ORM objects): the caller as an
# Actor needs a few of the account's, its member's and branch's.
_ACCOUNT: sa.Select[*tuple[Any, ...]] = (
    sa.select(col(Account.id), col(Account.username), col(Account.is_admin),
              col(Account.password_changed_at), col(Account.session_generation),
              col(Account.must_change_password), col(Member.id).label("member_id"),
              col(Member.org_id), col(Member.name), col(Member.joined_on),
              col(Member.created_at), col(Member.standing), col(Org.name).label("org_name"),
              col(Org.path).label("org_path"), session_ended(),
              # On a committee: then its organisations are read (below); most are not.
              sa.exists().where(col(RoleGrant.member_id) == Member.id,
                                col(RoleGrant.role) == "committee").label("committee"))
    .select_from(Account)
    .outerjoin(Member, col(Member.id) == Account.member_id)
    .outerjoin(Org, col(Org.id) == Member.org_id)
    .where(col(Account.id) == sa.bindparam("account"))
)


# Built once (load_actor).
_GRANTS = (
    sa.select(col(Org.id), col(Org.path)).join(RoleGrant, col(RoleGrant.org_id) == Org.id)
    .where(col(RoleGrant.member_id) == sa.bindparam("member"),
           col(RoleGrant.role) == "committee")
    .order_by(col(Org.id))
)


# A committee member's organisations, with their own branch, as ORM objects: the
# committee's requests go on to read them (get_org, the branch's lock), and held for the
# request (the identity map keeps objects only while something refers to them) they cost
# no statement of their own. `granted`: a committee's organisation (the own branch may not be).
_GRANTED = col(Org.id).in_(
    sa.select(col(RoleGrant.org_id)).where(col(RoleGrant.member_id) == sa.bindparam("member"),
                                           col(RoleGrant.role) == "committee"))
_COMMITTEE_ORGS = (
    select(Org, _GRANTED.label("granted"))
    .where(sa.or_(col(Org.id) == sa.bindparam("org"), _GRANTED))
    .order_by(col(Org.id))
)


def session_actor(session: Session, claims: SessionClaims) -> Actor | None:
    """The caller a login session (a token, a page cookie) still speaks for, or None: the
    account is gone, its password or session generation has moved on since (a password
    change, 退出所有设备), the session was logged out, or its member has left the
    membership (appraisal.md §1). One statement of plain columns for the account, its
    member and branch; for a committee member one more, for its organisations."""
    row = core(session, _ACCOUNT, {"account": claims.account_id,
                                   "session": claims.session_id}).first()
    if row is None or row.session_ended or \
            not claims.admits(row.password_changed_at, row.session_generation):
        return None
    if row.member_id is not None and row.standing == Standing.left:
        return None
    grants: list[tuple[int, str]] = []
    if row.committee:
        orgs = session.execute(_COMMITTEE_ORGS, {"member": row.member_id,
                                                 "org": row.org_id}).all()
        session.info.setdefault("jifen_pinned", []).extend(org for org, _ in orgs)
        grants = [(org.id, org.path) for org, granted in orgs if granted]
    if row.member_id is not None and row.org_path is not None:
        session.info[_OWN_BRIEF] = MemberBrief(
            id=row.member_id, org_id=row.org_id, name=row.name, joined_on=row.joined_on,
            created_at=row.created_at, org_name=row.org_name, org_path=row.org_path)
    return Actor(
        account_id=row.id,
        username=row.username,
        is_admin=row.is_admin,
        member_id=row.member_id,
        member_org_id=row.org_id if row.org_path is not None else None,
        member_org_path=row.org_path,
        committee_paths=tuple(path for _, path in grants),
        committee_org_ids=tuple(org_id for org_id, _ in grants if org_id is not None),
        must_change_password=row.must_change_password,
    )


def load_actor(session: Session, account: Account) -> Actor:
    assert account.id is not None
    member = session.get(Member, account.member_id) if account.member_id else None
    org = session.get(Org, member.org_id) if member else None
    grants = core(session, _GRANTS, {"member": member.id}).all() \
        if member else []
    session.info.setdefault("jifen_pinned", []).extend(o for o in (member, org) if o)
    return Actor(
        account_id=account.id,
        username=account.username,
        is_admin=account.is_admin,
        member_id=member.id if member else None,
        member_org_id=org.id if org else None,
        member_org_path=org.path if org else None,
        committee_paths=tuple(path for _, path in grants),
        committee_org_ids=tuple(org_id for org_id, _ in grants if org_id is not None),
        must_change_password=account.must_change_password,
    )


def managed_org_filter(actor: Actor) -> sa.ColumnElement[bool]:
    """A WHERE clause on Org selecting what the actor manages."""
    if actor.is_admin:
        return sa.true()
    if not actor.committee_paths:
        return sa.false()
    return sa.or_(*(col(Org.path).startswith(p, autoescape=True) for p in actor.committee_paths))


def own_or_managed(actor: Actor, member_id: Any, org_id: Any) -> sa.ColumnElement[bool]:
    """A WHERE clause on rows filed under a member and the member's branch (`member_id`,
    `org_id` columns, as an entry is): the actor's own, and those of the branches they
    manage. By the row's own columns, no join: an index on (org_id, ...) then serves a
    committee's read branch by branch. A committee member's own rows are in a branch they
    manage almost always; the clause then names the branches alone (an OR beside them would
    keep the database from using that index)."""
    if actor.is_admin:
        return sa.true()
    own: sa.ColumnElement[bool] | None = (
        member_id == actor.member_id if actor.member_id is not None else None)
    if not actor.committee_paths:
        return own if own is not None else sa.false()
    managed: sa.ColumnElement[bool] = org_id.in_(
        select(col(Org.id)).where(managed_org_filter(actor)))
    if own is None or actor.manages_path(actor.member_org_path or ""):
        return managed
    return sa.or_(own, managed)


def under_org(org: Org, org_id: Any) -> sa.ColumnElement[bool]:
    """A WHERE clause on a row's `org_id` column: the organisation and those under it."""
    under: sa.ColumnElement[bool] = org_id.in_(
        select(col(Org.id)).where(col(Org.path).startswith(org.path, autoescape=True)))
    return under


def get_org(session: Session, actor: Actor, org_id: int) -> Org:
    org = session.get(Org, org_id)
    if org is None or not actor.can_see_org(org):
        raise NotFound(f"Organisation {org_id} does not exist or is outside your scope.")
    return org


def get_managed_org(session: Session, actor: Actor, org_id: int) -> Org:
    org = get_org(session, actor, org_id)
    require_manages(actor, org)
    return org


def require_manages(actor: Actor, org: Org) -> None:
    if not actor.manages(org):
        raise Forbidden(
            f"Only the committee of {org.name} (or an administrator) may do this.",
            "committee_only",
        )


def require_branch_committee(actor: Actor, org: Org) -> None:
    """The branch's own committee (or an administrator): the steps of its annual rating
    and of its disposal cases are the branch's (appraisal.md §4, §5); the committees above
    see them and approve or return the result, and may not grade, publish or submit it
    themselves (they would then approve what they made)."""
    require_manages(actor, org)
    if not takes_branch_steps(actor, org):
        raise Forbidden(f"Only the committee of {org.name} itself takes this step (of its "
                        "annual rating or a disposal case); the committees above prereview, "
                        "approve or return.", "branch_committee_only")


def takes_branch_steps(actor: Actor, org: Org) -> bool:
    """Whether the actor takes the branch's own steps (require_branch_committee): the pages
    offer those buttons only to them."""
    return actor.is_admin or org.id in actor.committee_org_ids


def require_committee(actor: Actor, doing: str) -> None:
    """A committee member (of any organisation) or an administrator; `doing` says what,
    for the refusal: "import entries"."""
    if not (actor.is_committee or actor.is_admin):
        raise Forbidden(f"Only committee members and administrators may {doing}.",
                        "committee_only")


def require_person(actor: Actor, doing: str) -> None:
    """A person, not a service account's key: what a committee does in a meeting or for a
    member in confidence (a disposal case, a ballot) is no program's. `doing` says what:
    "take part in a disposal case"."""
    if actor.service:
        raise Forbidden(f"A service account (an API key) may not {doing}; a person does.",
                        "service_account")


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only an administrator may do this.", "admin_only")


# Built once: a member not yet in the session, with their branch, in one statement.
_MEMBER_AND_ORG = (
    select(Member, Org).join(Org, col(Org.id) == Member.org_id)
    .where(col(Member.id) == sa.bindparam("member"))
)


def get_member(session: Session, actor: Actor, member_id: int) -> tuple[Member, Org]:
    """A member the actor may see (themself, or in a managed subtree), with their branch."""
    member: Member | None
    org: Org | None
    if identity_key(Member, member_id) in session.identity_map:
        member = session.get(Member, member_id)
        org = session.get(Org, member.org_id) if member else None
    else:
        row = session.execute(_MEMBER_AND_ORG, {"member": member_id}).first()
        member, org = (row[0], row[1]) if row is not None else (None, None)
    if member is None or org is None or not (actor.member_id == member.id or actor.manages(org)):
        raise NotFound(f"Member {member_id} does not exist or is outside your scope.")
    return member, org


# What a MemberBrief reads, from Member joined to its Org.
BRIEF_COLUMNS: tuple[Any, ...] = (
    col(Member.id), col(Member.org_id), col(Member.name), col(Member.joined_on),
    col(Member.created_at), col(Org.name).label("org_name"), col(Org.path).label("org_path"))


def brief_of(row: sa.Row[Any]) -> MemberBrief:
    """A MemberBrief from a row of BRIEF_COLUMNS."""
    return MemberBrief(id=row.id, org_id=row.org_id, name=row.name, joined_on=row.joined_on,
                       created_at=row.created_at, org_name=row.org_name,
                       org_path=row.org_path)


def own_brief(session: Session, actor: Actor, member_id: int) -> MemberBrief | None:
    """The caller's own member as the login check read them, when `member_id` is theirs."""
    own = session.info.get(_OWN_BRIEF)
    if isinstance(own, MemberBrief) and own.id == member_id == actor.member_id:
        return own
    return None


def brief_in_scope(actor: Actor, row: sa.Row[Any] | None, member_id: int) -> MemberBrief:
    """The member of a row of BRIEF_COLUMNS (None: no such member) if the actor may see
    them (themself, or in a managed subtree); NotFound otherwise, as get_member."""
    if row is None or not (actor.member_id == row.id or actor.manages_path(row.org_path)):
        raise NotFound(f"Member {member_id} does not exist or is outside your scope.")
    return brief_of(row)

