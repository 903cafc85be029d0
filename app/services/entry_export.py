"""The entries sheet's form: its columns, the template to fill in, and a member's year out in
the same columns plus what became of each entry, so that an export, edited, imports again
(the checking and importing are in app/services/entry_import.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.clock import beijing_wall
from app.models import Account, Entry, Member
from app.points import Kind, RuleSet
from app.services.access import Actor, get_member
from app.services.rules import check_year, load_rule_set
from app.services.sheets import Column, Sheet, write_xlsx

IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("username", "用户名", 14, hint="党员的登录用户名；填了用户名就按用户名认人（推荐）"),
    Column("name", "姓名", 10, hint="没有用户名时按姓名认人；重名时须填用户名或支部"),
    Column("branch", "支部", 16, hint="党员所在支部的名称；只在重名时需要"),
    Column("occurred_on", "日期", 12, required=True,
           hint="发生日期，如 2025-03-14；须在导入的年度内、不晚于今天"),
    Column("rule_code", "规则编号", 10, required=True,
           hint="积分项目编号，如 P01、N02、B01；见“积分项目”表"),
    Column("quantity", "数量", 8,
           hint="按次计分项目的次数，1到100，空着算1次；按分值或一票否决项目不填"),
    Column("points", "分值", 8, hint="现实表现加分/扣分（B01、D01）选定的分值；其他项目不填"),
    Column("note", "说明", 40, hint="党员能看到；最多1000字"),
)
STATUS_COLUMN = Column("status", "状态", 10,
                       hint="导出文件里才有；“未通过”“已撤销”的行导入时跳过")
# The member's id, for programs matching rows to GET /api/v1/members (issue 18). Not read
# by the import, which knows people by username (or name and branch): a row edited for
# another member imports for that member, whatever id it still carries.
MEMBER_ID_COLUMN = Column("member_id", "党员编号", 10,
                          hint="导出文件里才有；导入时不读这一列，按用户名（或姓名、支部）认人")
EXPORT_COLUMNS: tuple[Column, ...] = (
    *IMPORT_COLUMNS,
    Column("item_name", "项目名称", 24), Column("kind", "项目类别", 12),
    Column("signed_points", "积分", 8), STATUS_COLUMN,
    Column("created_at", "记录时间", 17), Column("decided_at", "审核时间", 17),
    Column("reason", "理由", 30), Column("revoked_at", "撤销时间", 17),
    Column("entry_id", "记录编号", 10), MEMBER_ID_COLUMN,
)
KIND_TEXT = {"positive": "正向得分", "negative": "反向扣分", "bonus": "现实表现加分",
             "deduction": "现实表现扣分", "veto": "一票否决"}
STATUS_TEXT = {"pending": "待审核", "approved": "已通过", "rejected": "未通过", "revoked": "已撤销"}


def export_member_year(session: Session, actor: Actor, member_id: int, year: int,
                       now: datetime) -> tuple[Member, Sheet]:
    """A member's entries of the year in the import's columns plus what became of them."""
    check_year(year)
    member, org = get_member(session, actor, member_id)
    username = session.exec(select(Account.username).where(
        Account.member_id == member.id)).first() or ""
    rules = load_rule_set(session, year, now)
    entries = session.exec(select(Entry).where(Entry.member_id == member.id, Entry.year == year)
                           .order_by(col(Entry.occurred_on), col(Entry.id))).all()
    rows = []
    for e in entries:
        item = rules.item(e.rule_code)
        chosen = item is not None and item.chosen_points
        fixed = item is not None and not chosen and item.kind is not Kind.veto
        rows.append((username, member.name, org.name, e.occurred_on, e.rule_code,
                     e.quantity if fixed else None, abs(e.points) if chosen else None, e.note,
                     item.name if item else "", KIND_TEXT.get(e.kind, e.kind), e.points,
                     STATUS_TEXT.get(e.status, e.status), beijing_wall(e.created_at),
                     beijing_wall(e.decided_at), e.reason or "", beijing_wall(e.revoked_at), e.id,
                     member.id))
    return member, Sheet(title=f"{year}年积分记录", columns=EXPORT_COLUMNS, rows=rows)


def template_sheets(rules: RuleSet) -> tuple[Sheet, Sheet]:
    """The empty import sheet, and the year's rule items to pick codes from."""
    items = Sheet(title="积分项目", columns=(
        Column("code", "规则编号", 10), Column("name", "项目名称", 30),
        Column("kind", "项目类别", 14), Column("points", "每次分值", 10),
        Column("range", "分值范围", 10), Column("cap", "年度上限", 10)),
        rows=[(i.code, i.name, KIND_TEXT[i.kind.value], i.points,
               f"{i.min_points}–{i.max_points}" if i.chosen_points else None, i.cap)
              for i in rules.items])
    return Sheet(title="积分记录", columns=IMPORT_COLUMNS, rows=[]), items


def template(rules: RuleSet) -> bytes:
    """The .xlsx to fill in: the import sheet, the rule items, and notes on every column."""
    notes = [(c.heading + ("（必填）" if c.required else ""), c.hint)
             for c in (*IMPORT_COLUMNS, STATUS_COLUMN, MEMBER_ID_COLUMN)]
    return write_xlsx(*template_sheets(rules), notes=notes)
