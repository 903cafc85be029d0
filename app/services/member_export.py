"""The members' table out: the import's template, and the members in its columns (no
passwords), so that export → import (app/services/member_import.py) round-trips."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col

from app.models import Account, Member, Org, OrgKind
from app.services.access import Actor, get_managed_org, managed_org_filter
from app.services.member_import import (
    CATEGORY_HEADINGS,
    COLUMNS,
    STANDING_HEADINGS,
    WRITTEN_COLUMNS,
    require_importer,
)
from app.services.sheets import Cell, Column, Sheet, write_csv, write_xlsx
from app.services.tree import tree_order


def template(fmt: str = "xlsx") -> bytes:
    """An empty table with the headings, and on .xlsx a sheet explaining every column."""
    sheet = Sheet("党员名单", WRITTEN_COLUMNS, [])
    if fmt == "csv":
        return write_csv(sheet)
    notes = [(c.heading + ("（必填）" if c.required else "（选填）"), c.hint) for c in COLUMNS]
    notes.append(("说明", "第一行是标题，请勿修改；从第二行起每行一名党员。带 * 的列必须填写。"
                  "导入前会先预览检查，全部无误才会导入，有任何一行出错则一行也不导入。"))
    return write_xlsx(sheet, notes=notes)


# Last, after the template's columns: the member's id, for programs matching rows to GET
# /api/v1/members (issue 18). The import does not read it (a heading it does not know).
MEMBER_ID = Column("member_id", "党员编号", 10)


def export_members(session: Session, actor: Actor, org_id: int | None,
                   fmt: str = "xlsx") -> bytes:
    """The members of the branches the actor manages (below `org_id` if given), in the
    template's columns without the password, and their ids."""
    require_importer(actor)
    query = (sa.select(col(Member.name), col(Org.name), col(Member.category),
                       col(Member.joined_on), col(Account.username), col(Member.standing),
                       col(Member.id))
             .join(Org, col(Org.id) == Member.org_id)
             .join(Account, col(Account.member_id) == Member.id, isouter=True)
             .where(managed_org_filter(actor), col(Org.kind) == OrgKind.branch))
    if org_id is not None:
        org = get_managed_org(session, actor, org_id)
        query = query.where(col(Org.path).startswith(org.path, autoescape=True))
    rows: list[Sequence[Cell]] = [
        (name, branch, CATEGORY_HEADINGS.get(category, category), joined_on, username,
         STANDING_HEADINGS.get(standing, standing), member_id)
        for name, branch, category, joined_on, username, standing, member_id
        in session.execute(query.order_by(tree_order(session), col(Member.id))).all()]
    sheet = Sheet("党员名单", (*WRITTEN_COLUMNS[:-1], MEMBER_ID), rows)
    return write_csv(sheet) if fmt == "csv" else write_xlsx(sheet)
