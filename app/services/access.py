"""Who may see and do what: the one place roles and scopes are decided (docs/api.md, Roles)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
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
        return self.is_admin or any(org.path.startswith(p) for p in self.committee_paths)

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


# Built once: every request runs it.
_ACCOUNT = (
    select(Account, Member, Org, session_ended())
    .outerjoin(Member, col(Member.id) == Account.member_id)
    .outerjoin(Org, col(Org.id) == Member.org_id)
    .where(col(Account.id) == sa.bindparam("account"))
)


def session_account(session: Session, claims: SessionClaims) -> Account | None:
    """The account a login session (a token, a page cookie) still speaks for, or None: the
    account is gone, its password or session generation has moved on since (a password
    change, 退出所有设备), the session was logged out, or its member has left the
    membership (appraisal.md §1). One statement, which also loads the account's member and
    branch (for load_actor)."""
    row = session.execute(_ACCOUNT, {"account": claims.account_id,
                                     "session": claims.session_id}).first()
    if row is None:
        return None
    account, member, org, ended = row
    # Held for the session, so load_actor and get_member(the actor) find them in the
    # identity map (which keeps objects only while something refers to them).
    session.info.setdefault("jifen_pinned", []).extend(o for o in (member, org) if o)
    if ended or not claims.admits(account.password_changed_at, account.session_generation):
        return None
    if member is not None and member.standing == Standing.left:
        return None
    return account  # type: ignore[no-any-return]


# Built once (every request runs it).
_GRANTS = (
    sa.select(col(Org.id), col(Org.path)).join(RoleGrant, col(RoleGrant.org_id) == Org.id)
    .where(col(RoleGrant.member_id) == sa.bindparam("member"),
           col(RoleGrant.role) == "committee")
    .order_by(col(Org.id))
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


def get_member(session: Session, actor: Actor, member_id: int) -> tuple[Member, Org]:
    """A member the actor may see (themself, or in a managed subtree), with their branch."""
    member = session.get(Member, member_id)
    org = session.get(Org, member.org_id) if member else None
    if member is None or org is None or not (actor.member_id == member.id or actor.manages(org)):
        raise NotFound(f"Member {member_id} does not exist or is outside your scope.")
    return member, org
