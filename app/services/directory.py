"""Read-only views of the organisation tree and its people, for the administrator's pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.models import (
    Account,
    Member,
    MemberExemption,
    Org,
    OrgKind,
    RoleGrant,
    RuleSetRow,
    Standing,
)
from app.services.access import Actor, get_managed_org, managed_org_filter
from app.services.standing import active_exemptions
from app.services.tree import tree_order

CANDIDATE_LIMIT = 20


@dataclass(frozen=True)
class Person:
    """A member as the pages name them: id, name and login."""

    member_id: int
    name: str
    username: str | None


@dataclass
class OrgNode:
    """One organisation of the tree, with the members of its subtree and its committee."""

    org: Org
    depth: int
    member_count: int = 0
    committee: list[Person] = field(default_factory=list)
    children: list[OrgNode] = field(default_factory=list)

    @property
    def id(self) -> int:
        assert self.org.id is not None
        return self.org.id


@dataclass(frozen=True)
class CommitteeRole:
    org_id: int
    org_name: str


@dataclass(frozen=True)
class MemberLine:
    """A member of a branch with their login and the committees they sit on."""

    member: Member
    username: str | None
    roles: tuple[CommitteeRole, ...]
    exemption: MemberExemption | None = None  # the year's (this year's on the pages)

    @property
    def id(self) -> int:
        assert self.member.id is not None
        return self.member.id


def _people(session: Session, member_ids: set[int]) -> dict[int, Person]:
    if not member_ids:
        return {}
    rows = session.exec(
        select(Member.id, Member.name, Account.username)
        .join(Account, col(Account.member_id) == Member.id, isouter=True)
        .where(col(Member.id).in_(member_ids))).all()
    return {m: Person(m, name, username) for m, name, username in rows if m is not None}


def managed_orgs(session: Session, actor: Actor) -> list[Org]:
    """Every organisation the actor manages (all of them for an administrator), by path."""
    return list(session.exec(select(Org).where(managed_org_filter(actor))
                             .order_by(tree_order(session))).all())


def managed_branches(session: Session, actor: Actor, under: Org | None = None) -> list[Org]:
    """The branches the actor manages, optionally only those below one organisation."""
    query = select(Org).where(managed_org_filter(actor), Org.kind == OrgKind.branch)
    if under is not None:
        query = query.where(col(Org.path).startswith(under.path, autoescape=True))
    return list(session.exec(query.order_by(tree_order(session))).all())


def org_tree(session: Session, actor: Actor) -> list[OrgNode]:
    """The managed organisations as a tree (党委 → 总支 → 支部), siblings by id.

    Member counts cover each organisation's whole subtree, members who have left aside.
    """
    orgs = managed_orgs(session, actor)
    nodes = {o.id: OrgNode(org=o, depth=0) for o in orgs if o.id is not None}
    if not nodes:
        return []
    counts = dict(session.exec(
        select(Member.org_id, func.count()).where(col(Member.org_id).in_(nodes),
                                                  Member.standing != Standing.left)
        .group_by(col(Member.org_id))).all())
    for node in nodes.values():
        direct = counts.get(node.id, 0)
        for part in node.org.path.strip("/").split("/"):
            if part and int(part) in nodes:
                nodes[int(part)].member_count += direct
    grants = session.exec(select(RoleGrant.org_id, RoleGrant.member_id)
                          .where(col(RoleGrant.org_id).in_(nodes),
                                 RoleGrant.role == "committee")
                          .order_by(col(RoleGrant.id))).all()
    people = _people(session, {m for _, m in grants})
    for org_id, member_id in grants:
        if member_id in people:
            nodes[org_id].committee.append(people[member_id])
    roots: list[OrgNode] = []
    for node in sorted(nodes.values(), key=lambda n: n.id):
        parent = nodes.get(node.org.parent_id) if node.org.parent_id is not None else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)

    def set_depth(node: OrgNode, depth: int) -> None:
        node.depth = depth
        for child in node.children:
            set_depth(child, depth + 1)

    for root in roots:
        set_depth(root, 0)
    return roots


def committee_people(session: Session, org_id: int) -> list[Person]:
    """The committee of one organisation, in the order they were granted."""
    ids = list(session.exec(select(RoleGrant.member_id)
                            .where(RoleGrant.org_id == org_id, RoleGrant.role == "committee")
                            .order_by(col(RoleGrant.id))).all())
    people = _people(session, set(ids))
    return [people[m] for m in ids if m in people]


def committee_candidates(session: Session, actor: Actor, org_id: int, name: str) -> list[Person]:
    """Members of the organisation's subtree whose name contains `name`, not yet on its
    committee (at most CANDIDATE_LIMIT)."""
    org = get_managed_org(session, actor, org_id)
    name = name.strip()
    if not name:
        return []
    sitting = select(RoleGrant.member_id).where(RoleGrant.org_id == org_id,
                                                RoleGrant.role == "committee")
    rows = session.exec(
        select(Member.id, Member.name, Account.username)
        .join(Org, col(Org.id) == Member.org_id)
        .join(Account, col(Account.member_id) == Member.id, isouter=True)
        .where(col(Org.path).startswith(org.path, autoescape=True),
               sa.or_(col(Member.name).contains(name, autoescape=True),
                      col(Account.username).contains(name, autoescape=True)),
               col(Member.id).not_in(sitting))
        .order_by(col(Member.name), col(Member.id)).limit(CANDIDATE_LIMIT)).all()
    return [Person(m, n, u) for m, n, u in rows if m is not None]


def _lines(session: Session, members: list[Member]) -> list[MemberLine]:
    ids = [m.id for m in members if m.id is not None]
    if not ids:
        return []
    names = dict(session.exec(select(Account.member_id, Account.username)
                              .where(col(Account.member_id).in_(ids))).all())
    roles: dict[int, list[CommitteeRole]] = defaultdict(list)
    for member_id, org_id, org_name in session.exec(
            select(RoleGrant.member_id, Org.id, Org.name)
            .join(Org, col(Org.id) == RoleGrant.org_id)
            .where(col(RoleGrant.member_id).in_(ids), RoleGrant.role == "committee")
            .order_by(tree_order(session))).all():
        if org_id is not None:
            roles[member_id].append(CommitteeRole(org_id, org_name))
    return [MemberLine(m, names.get(m.id), tuple(roles.get(m.id or 0, ())))
            for m in members]


def branch_members(session: Session, actor: Actor, org_id: int, year: int) -> list[MemberLine]:
    """The members of one managed branch, by id, with logins, committee roles and the
    year's exemption."""
    get_managed_org(session, actor, org_id)
    members = list(session.exec(select(Member).where(Member.org_id == org_id)
                                .order_by(col(Member.id))).all())
    return _with_exemptions(session, _lines(session, members), year)


def member_line(session: Session, member: Member, year: int) -> MemberLine:
    """One member's line; the caller has already checked the actor may see them."""
    return _with_exemptions(session, _lines(session, [member]), year)[0]


def _with_exemptions(session: Session, lines: list[MemberLine], year: int) -> list[MemberLine]:
    exemptions = active_exemptions(session, [line.id for line in lines], year)
    return [replace(line, exemption=exemptions.get(line.id)) for line in lines]


def rule_years(session: Session) -> list[int]:
    """The years that have a rule set, oldest first."""
    return list(session.exec(select(RuleSetRow.year).order_by(col(RuleSetRow.year))).all())
