"""The rows of a recorder's sheet of entries (app/services/entry_import.py reads the sheet and
imports it): whom each row names, and each row checked against the year's rules and the
branch's state, every problem named by row and column."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from app.models import Account, EntryStatus, Member, Org
from app.points import RuleItem, RuleSet, quarter_of
from app.services.access import Actor, managed_org_filter
from app.services.entries import (
    MAX_QUANTITY,
    NewEntry,
    NoteRequired,
    left_by,
    require_reason,
    signed_points,
)
from app.services.errors import Invalid
from app.services.sheets import Row, RowProblem, parse_day

_SKIPPED_STATUSES = {"rejected", "revoked", "未通过", "已撤销"}
_IMPORTED_STATUSES = {"", "pending", "approved", "待审核", "已通过"}

_IN_CHUNK = 500  # values per IN (...): well inside every database's limit on parameters
_V = TypeVar("_V", int, str)

@dataclass(frozen=True)
class PlannedRow:
    row: int
    member_id: int | None
    member_name: str
    branch_name: str
    org_id: int | None
    occurred_on: date | None
    rule_code: str
    item_name: str
    kind: str
    quantity: int | None
    points: int | None      # as typed: the chosen points of a B01/D01 row
    signed_points: int | None
    note: str
    starts_as: str          # "approved", "pending", or "skipped" (a rejected/revoked export row)
    cells: tuple[tuple[str, str], ...] = ()   # the row as typed

    def typed(self, key: str) -> str:
        return dict(self.cells).get(key, "")

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "member_id": self.member_id, "name": self.member_name,
                "branch": self.branch_name, "occurred_on": self.occurred_on,
                "rule_code": self.rule_code, "item_name": self.item_name, "kind": self.kind,
                "quantity": self.quantity, "points": self.points,
                "signed_points": self.signed_points, "note": self.note,
                "starts_as": self.starts_as}



def chunks(values: Iterable[_V]) -> Iterable[list[_V]]:
    items = sorted({v for v in values if v})
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i:i + _IN_CHUNK]


class People:
    """The members a sheet names, among those the recorder manages (username or name)."""

    def __init__(self, session: Session, actor: Actor, rows: list[Row]) -> None:
        self.actor = actor
        self.by_username: dict[str, tuple[Member, Org]] = {}
        self.by_name: dict[str, list[tuple[Member, Org]]] = defaultdict(list)
        for chunk in chunks(r.values.get("username", "") for r in rows):
            for username, member, org in session.execute(
                    select(Account.username, Member, Org)
                    .join(Member, col(Member.id) == Account.member_id)
                    .join(Org, col(Org.id) == Member.org_id)
                    .where(col(Account.username).in_(chunk))).all():
                if actor.manages(org):
                    self.by_username[username] = (member, org)
        for chunk in chunks(r.values.get("name", "") for r in rows):
            for member, org in session.execute(
                    select(Member, Org).join(Org, col(Org.id) == Member.org_id)
                    .where(col(Member.name).in_(chunk), managed_org_filter(actor))
                    .order_by(col(Member.id))).all():
                self.by_name[member.name].append((member, org))

    def find(self, row: Row, errors: list[RowProblem]) -> tuple[Member, Org] | None:
        username = row.values.get("username", "")
        name = row.values.get("name", "")
        branch = row.values.get("branch", "")
        n = row.number
        if username:
            found = self.by_username.get(username)
            if found is None:
                errors.append(RowProblem(n, "username", "member_not_found",
                                       f"No member with username {username!r} in a branch "
                                       "you manage.", username))
                return None
            if name and name != found[0].name:
                errors.append(RowProblem(n, "name", "name_mismatch",
                                       f"Username {username!r} is {found[0].name}, not {name}.",
                                       name, (("name", found[0].name),)))
            if branch and branch != found[1].name:
                errors.append(RowProblem(n, "branch", "branch_mismatch",
                                       f"{found[0].name} is in {found[1].name}, not {branch}.",
                                       branch, (("branch", found[1].name),)))
            return found
        if not name:
            errors.append(RowProblem(n, "name", "member_required",
                                   "Fill in the username (or the name) of the member."))
            return None
        candidates = [c for c in self.by_name.get(name, []) if not branch or c[1].name == branch]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            column, value = ("branch", branch) if branch and self.by_name.get(name) \
                else ("name", name)
            where = f" in {branch}" if branch else " in a branch you manage"
            errors.append(RowProblem(n, column, "member_not_found",
                                   f"No member named {name}{where}.", value))
            return None
        errors.append(RowProblem(n, "name", "member_ambiguous",
                               f"{len(candidates)} members are named {name}; fill in the "
                               "username (or the branch).", name))
        return None


def _digits(text: str) -> bool:
    """0-9 only: str.isdigit() also takes '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def _parse_count(text: str) -> int | str | None:
    """A whole number, None for blank, or the text itself when it is not one."""
    text = text.strip()
    if not text:
        return None
    if text.endswith(".0"):
        text = text[:-2]
    return int(text) if _digits(text) and len(text) <= 6 else text


# Errors of entries.signed_points, by the column they are about.
_AMOUNT_COLUMN = {"veto_has_no_points": "quantity", "points_required": "points",
                  "points_out_of_range": "points", "quantity_not_allowed": "quantity",
                  "points_not_allowed": "points", "quantity_out_of_range": "quantity"}


def _check_amount(n: int, item: RuleItem, quantity: int | None, points: int | None,
                  errors: list[RowProblem]) -> int | None:
    """The signed points the row would count, or None after adding its error."""
    try:
        return signed_points(item, NewEntry(0, item.code, date.min, quantity, points))[1]
    except Invalid as error:
        column = _AMOUNT_COLUMN.get(error.code, "points")
        if error.code == "veto_has_no_points" and quantity is None:
            column = "points"
        value = points if column == "points" else quantity
        errors.append(RowProblem(n, column, error.code, error.detail,
                               "" if value is None else str(value),
                               (("code", item.code), ("low", item.min_points or 0),
                                ("high", item.max_points or 0), ("max", MAX_QUANTITY))))
        return None



def is_skipped(row: Row) -> bool:
    return row.values.get("status", "").strip().lower() in _SKIPPED_STATUSES


def plan_row(row: Row, who: tuple[Member, Org] | None, rules: RuleSet, year: int,
              today: date, locked: set[tuple[int, int]], errors: list[RowProblem],
              actor: Actor) -> PlannedRow:
    n, v = row.number, row.values
    member, org = who if who else (None, None)
    status = v.get("status", "").strip().lower()
    skipped = is_skipped(row)
    if not skipped and status not in _IMPORTED_STATUSES:
        errors.append(RowProblem(n, "status", "status_invalid",
                               "Status must be blank or one of 待审核, 已通过, 未通过, 已撤销.",
                               v.get("status", "")))
    mine: list[RowProblem] = []
    day_text = v.get("occurred_on", "")
    day = parse_day(day_text)
    if not day_text:
        mine.append(RowProblem(n, "occurred_on", "date_required", "Fill in the date."))
    elif day is None:
        mine.append(RowProblem(n, "occurred_on", "date_invalid",
                             f"{day_text!r} is not a date such as 2025-03-14.", day_text))
    elif day.year != year:
        mine.append(RowProblem(n, "occurred_on", "date_outside_year",
                             f"{day} is not in {year}, the year being imported.",
                             day_text, (("year", year),)))
    elif day > today:
        mine.append(RowProblem(n, "occurred_on", "future_date", f"{day} is in the future.",
                             day_text))
    elif member is not None and day < member.joined_on:
        mine.append(RowProblem(n, "occurred_on", "before_joined",
                             f"{day} is before {member.name} joined ({member.joined_on}).",
                             day_text, (("joined_on", member.joined_on.isoformat()),)))
    elif member is not None and left_by(member, day):
        mine.append(RowProblem(n, "occurred_on", "member_left",
                             f"{member.name} left the membership on {member.left_on}: nothing "
                             "dated on or after that day is recorded for them.", day_text,
                             (("name", member.name), ("left_on", str(member.left_on)))))
    elif org is not None and (org.id, quarter_of(day)) in locked:
        mine.append(RowProblem(n, "occurred_on", "quarter_locked",
                             f"{year} Q{quarter_of(day)} is finalized for {org.name}.",
                             day_text, (("quarter", quarter_of(day)),)))
    code = v.get("rule_code", "").strip().upper()
    item = rules.item(code)
    if not code:
        mine.append(RowProblem(n, "rule_code", "rule_required", "Fill in the rule code."))
    elif item is None:
        mine.append(RowProblem(n, "rule_code", "unknown_rule",
                             f"Unknown rule code {code!r} for {year}.", v.get("rule_code", "")))
    elif member is not None and not item.applies_to(member.category):
        mine.append(RowProblem(n, "rule_code", "category_not_applicable",
                             f"{code} does not apply to members of category "
                             f"{member.category}.", code))
    quantity, points = _parse_count(v.get("quantity", "")), _parse_count(v.get("points", ""))
    if isinstance(quantity, str):
        mine.append(RowProblem(n, "quantity", "quantity_invalid",
                             f"Quantity {quantity!r} is not a whole number.", quantity))
    if isinstance(points, str):
        mine.append(RowProblem(n, "points", "points_not_number",
                             f"Points {points!r} is not a whole number.", points))
    signed = None
    if item is not None and not isinstance(quantity, str) and not isinstance(points, str):
        signed = _check_amount(n, item, quantity, points, mine)
    note = v.get("note", "")
    if len(note) > 1000:
        mine.append(RowProblem(n, "note", "note_too_long", "The note is over 1000 characters.",
                             note[:20] + "…"))
    if item is not None and signed is not None:
        try:
            require_reason(item.kind, signed, note, rules.params)
        except NoteRequired as error:
            mine.append(RowProblem(n, "note", error.code, error.detail,
                                   params=(("points", error.threshold),)))
    if not skipped:
        errors.extend(mine)
    by_committee = org is not None and actor.manages(org)
    starts = "skipped" if skipped else \
        (EntryStatus.approved if by_committee and member is not None
         and member.id != actor.member_id else EntryStatus.pending)
    return PlannedRow(
        row=n, member_id=member.id if member else None,
        member_name=member.name if member else (v.get("name") or v.get("username", "")),
        branch_name=org.name if org else v.get("branch", ""),
        org_id=org.id if org else None, occurred_on=day, rule_code=code,
        item_name=item.name if item else "", kind=item.kind.value if item else "",
        quantity=quantity if isinstance(quantity, int) else None,
        points=points if isinstance(points, int) else None, signed_points=signed, note=note,
        starts_as=starts, cells=tuple(v.items()))
