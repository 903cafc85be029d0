"""Organisations (a tree: 党委 → 总支 → 支部) and committee grants."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models import Member, Org, OrgKind, RoleGrant
from app.services import audit
from app.services.access import Actor, get_org, managed_org_filter, require_admin
from app.services.errors import Invalid, NotFound, WorkflowConflict
from app.services.locking import lock_branch
from app.services.paging import Feed, Listing, page
from app.services.sync import SyncRead
from app.services.tree import tree_order


def create_org(session: Session, actor: Actor, name: str, parent_id: int | None, kind: str,
               now: datetime) -> Org:
    require_admin(actor)
    if kind not in OrgKind._value2member_map_:
        raise Invalid(f"kind must be one of {', '.join(OrgKind)}.", "org_kind_invalid")
    parent = None
    if parent_id is not None:
        parent = session.get(Org, parent_id)
        if parent is None:
            raise Invalid(f"parent_id {parent_id} is not an organisation.", "unknown_parent")
        if parent.kind == OrgKind.branch:
            raise Invalid(f"{parent.name} is a branch; branches have no organisations below "
                          "them.", "parent_is_branch")
    if not name.strip():
        raise Invalid("name must not be empty.", "name_required")
    org = Org(name=name.strip(), parent_id=parent_id, kind=OrgKind(kind), created_at=now)
    session.add(org)
    session.flush()
    org.path = f"{parent.path if parent else '/'}{org.id}/"
    session.add(org)
    audit.record(session, actor_id=actor.account_id, action="org.create", object_type="org",
                 object_id=org.id, at=now, after=audit.snapshot(org))
    return org


def _ancestor_ids(paths: list[str]) -> set[int]:
    return {int(part) for path in paths for part in path.strip("/").split("/") if part}


FEED = Feed("orgs", col(Org.updated_at), col(Org.id))


def list_orgs(session: Session, actor: Actor, limit: int, offset: int,
              sync: SyncRead | None = None) -> Listing[Org]:
    """The organisations the actor sees, in tree order, or by (updated_at, id) for a sync
    read."""
    own = [p for p in (actor.member_org_path, *actor.committee_paths) if p]
    query = select(Org).where(sa.or_(managed_org_filter(actor),
                                     col(Org.id).in_(_ancestor_ids(own))))
    return page(session, query, tree_order(session), limit=limit, offset=offset, sync=sync,
                feed=FEED)


def grant_committee(session: Session, actor: Actor, org_id: int, member_id: int,
                    now: datetime) -> RoleGrant:
    org = get_org(session, actor, org_id)  # 404 outside the caller's scope, then 403
    require_admin(actor)
    member = session.get(Member, member_id)
    if member is None:
        raise Invalid(f"member_id {member_id} is not a member.", "unknown_member")
    lock_branch(session, member.org_id)  # the member's pages show the committee's links
    exists = session.exec(select(RoleGrant.id).where(
        RoleGrant.org_id == org_id, RoleGrant.member_id == member_id,
        RoleGrant.role == "committee")).first()
    if exists is not None:
        raise WorkflowConflict(f"Member {member_id} is already on the committee of {org.name}.",
                               "grant_exists")
    grant = RoleGrant(member_id=member_id, org_id=org_id, role="committee", created_at=now)
    session.add(grant)
    session.flush()
    audit.record(session, actor_id=actor.account_id, action="committee.grant",
                 object_type="role_grant", object_id=grant.id, at=now,
                 after=audit.snapshot(grant))
    return grant


def revoke_committee(session: Session, actor: Actor, org_id: int, member_id: int,
                     now: datetime) -> None:
    get_org(session, actor, org_id)  # 404 outside the caller's scope, then 403
    require_admin(actor)
    grant = session.exec(select(RoleGrant).where(
        RoleGrant.org_id == org_id, RoleGrant.member_id == member_id,
        RoleGrant.role == "committee")).first()
    if grant is None:
        raise NotFound(f"Member {member_id} is not on the committee of organisation {org_id}.")
    member = session.get(Member, member_id)
    if member is not None:
        lock_branch(session, member.org_id)
    audit.record(session, actor_id=actor.account_id, action="committee.revoke",
                 object_type="role_grant", object_id=grant.id, at=now,
                 before=audit.snapshot(grant))
    session.delete(grant)


def committee_of(session: Session, org_id: int) -> list[RoleGrant]:
    return list(session.exec(select(RoleGrant).where(RoleGrant.org_id == org_id)
                             .order_by(col(RoleGrant.member_id))).all())
