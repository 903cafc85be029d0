"""A recorder's sheet of entries in (a member's year out, in the same columns: entry_export.py).

Import (docs/scoring.md, Workflow 1): every row is checked against the year's rule set and the
branch's state before anything is written; any error refuses the whole file, listing every
error by row and column. Clean, the rows are created in one transaction under the branches'
locks through `create_entry`, so each gets its audit row and the branch a new revision, and
each starts as it would when recorded by hand: approved, except a row about the recorder
themself, which waits for another committee member (pending).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from app.models import Account, Entry, EntryStatus, Member, Org, Review, ReviewStatus
from app.points import RuleItem, RuleSet, quarter_of
from app.services.access import Actor, managed_org_filter, require_committee
from app.services.entries import MAX_QUANTITY, NewEntry, create_entry, signed_points
from app.services.entry_export import EXPORT_COLUMNS, IMPORT_COLUMNS, STATUS_COLUMN
from app.services.errors import DomainError, Invalid
from app.services.locking import lock_branch
from app.services.rules import check_year, load_rule_set
from app.services.sheets import (
    ImportRefused,
    Row,
    RowProblem,
    parse_day,
    read_rows,
    text_problems,
)

_SKIPPED_STATUSES = {"rejected", "revoked", "未通过", "已撤销"}
_IMPORTED_STATUSES = {"", "pending", "approved", "待审核", "已通过"}
HEADINGS = {c.key: c.heading for c in (*EXPORT_COLUMNS,)}
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


@dataclass(frozen=True)
class ImportPlan:
    year: int
    rows: list[PlannedRow]
    errors: list[RowProblem]
    warnings: list[RowProblem]

    @property
    def to_create(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.starts_as != "skipped"]


def _chunks(values: Iterable[_V]) -> Iterable[list[_V]]:
    items = sorted({v for v in values if v})
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i:i + _IN_CHUNK]


class _People:
    """The members a sheet names, among those the recorder manages (username or name)."""

    def __init__(self, session: Session, actor: Actor, rows: list[Row]) -> None:
        self.actor = actor
        self.by_username: dict[str, tuple[Member, Org]] = {}
        self.by_name: dict[str, list[tuple[Member, Org]]] = defaultdict(list)
        for chunk in _chunks(r.values.get("username", "") for r in rows):
            for username, member, org in session.execute(
                    select(Account.username, Member, Org)
                    .join(Member, col(Member.id) == Account.member_id)
                    .join(Org, col(Org.id) == Member.org_id)
                    .where(col(Account.username).in_(chunk))).all():
                if actor.manages(org):
                    self.by_username[username] = (member, org)
        for chunk in _chunks(r.values.get("name", "") for r in rows):
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


def _finalized(session: Session, org_ids: set[int], year: int) -> set[tuple[int, int]]:
    if not org_ids:
        return set()
    return {(org_id, quarter) for org_id, quarter in session.execute(
        select(Review.org_id, Review.quarter).where(
            col(Review.org_id).in_(sorted(org_ids)), Review.year == year,
            Review.status == ReviewStatus.finalized)).all()}


def _duplicate_keys(session: Session, member_ids: set[int], year: int) -> dict[tuple[Any, ...],
                                                                                 int]:
    """Pending and approved entries already there, by what a re-imported row would repeat."""
    keys: dict[tuple[Any, ...], int] = {}
    for chunk in _chunks(member_ids):
        for e in session.exec(select(Entry).where(
                col(Entry.member_id).in_(chunk), Entry.year == year,
                col(Entry.status).in_((EntryStatus.pending, EntryStatus.approved)))).all():
            keys.setdefault((e.member_id, e.occurred_on, e.rule_code, e.points), e.id or 0)
    return keys


def require_importer(actor: Actor) -> None:
    require_committee(actor, "import entries")


def read_sheet(data: bytes, filename: str) -> list[Row]:
    """The sheet's rows; a file that is no sheet, or an empty one, is ImportRefused with one
    problem for the whole file (bad_file, empty_import), as the members' import does."""
    try:
        rows = read_rows(data, filename, (*IMPORT_COLUMNS, STATUS_COLUMN))
    except ImportRefused:
        raise   # a heading missing: named by column
    except Invalid as error:
        raise ImportRefused([RowProblem(1, None, error.code, error.detail)]) from error
    if not rows:
        raise ImportRefused([RowProblem(2, None, "empty_import", f"{filename}: there are no "
                                        "rows under the heading row.")])
    return rows


def plan_import(session: Session, actor: Actor, data: bytes, filename: str, year: int,
                now: datetime, today: date) -> ImportPlan:
    """Read and check every row (reads only): what would be created, and every error."""
    require_importer(actor)
    check_year(year)
    return plan_rows(session, actor, read_sheet(data, filename), year, now, today)


def plan_rows(session: Session, actor: Actor, sheet: list[Row], year: int, now: datetime,
              today: date) -> ImportPlan:
    """Check every row read from a sheet (reads only): what would be created, every error."""
    require_importer(actor)
    check_year(year)
    if not sheet:
        raise ImportRefused([RowProblem(2, None, "empty_import",
                                        "There are no rows under the heading row.")])
    rules = load_rule_set(session, year, now)
    people = _People(session, actor, sheet)
    errors: list[RowProblem] = []
    found: dict[int, tuple[Member, Org] | None] = {}
    for r in sheet:
        # A rejected or revoked row of an export is skipped whole: its errors do not count.
        mine: list[RowProblem] = []
        found[r.number] = people.find(r, mine)
        mine.extend(text_problems(r, one_line=("name", "branch", "username", "rule_code")))
        if not _skipped(r):
            errors.extend(mine)
    org_ids = {f[1].id or 0 for f in found.values() if f}
    locked = _finalized(session, org_ids, year)
    existing = _duplicate_keys(session, {f[0].id or 0 for f in found.values() if f}, year)
    planned = [_plan_row(r, found[r.number], rules, year, today, locked, errors, actor)
               for r in sheet]
    warnings = _duplicates(planned, existing)
    order = [c.key for c in EXPORT_COLUMNS]
    errors.sort(key=lambda e: (e.row, order.index(e.column) if e.column in order else 99))
    return ImportPlan(year=year, rows=planned, errors=errors, warnings=warnings)


def _skipped(row: Row) -> bool:
    return row.values.get("status", "").strip().lower() in _SKIPPED_STATUSES


def _plan_row(row: Row, who: tuple[Member, Org] | None, rules: RuleSet, year: int,
              today: date, locked: set[tuple[int, int]], errors: list[RowProblem],
              actor: Actor) -> PlannedRow:
    n, v = row.number, row.values
    member, org = who if who else (None, None)
    status = v.get("status", "").strip().lower()
    skipped = _skipped(row)
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


def _duplicates(rows: list[PlannedRow], existing: dict[tuple[Any, ...], int]) -> list[RowProblem]:
    """Rows that repeat an entry already there, or another row: a sheet imported twice."""
    warnings = []
    keys = [(r.member_id, r.occurred_on, r.rule_code, r.signed_points) for r in rows]
    seen = Counter(k for k, r in zip(keys, rows, strict=True) if r.starts_as != "skipped")
    for key, r in zip(keys, rows, strict=True):
        if r.starts_as == "skipped" or r.member_id is None or r.signed_points is None:
            continue
        if key in existing:
            warnings.append(RowProblem(r.row, None, "duplicate_entry",
                                     f"{r.member_name} already has this entry "
                                     f"(#{existing[key]}).", params=(("id", existing[key]),)))
        elif seen[key] > 1:
            warnings.append(RowProblem(r.row, None, "duplicate_row",
                                     "Another row of the file is the same entry."))
    return warnings


def commit_import(session: Session, actor: Actor, data: bytes, filename: str, year: int,
                  now: datetime, today: date) -> tuple[ImportPlan, list[Entry]]:
    """Create every row of the file, or nothing: ImportRefused lists every error."""
    require_importer(actor)
    check_year(year)
    return commit_rows(session, actor, read_sheet(data, filename), year, now, today)


def commit_rows(session: Session, actor: Actor, sheet: list[Row], year: int, now: datetime,
                today: date) -> tuple[ImportPlan, list[Entry]]:
    """Create every row, or nothing: ImportRefused lists every error of the sheet."""
    first = plan_rows(session, actor, sheet, year, now, today)
    if first.errors:
        raise ImportRefused(first.errors)
    created: list[Entry] = []
    with session.begin_nested():  # any refusal below undoes the locks and the rows before it
        for org_id in sorted({r.org_id for r in first.to_create if r.org_id}):
            lock_branch(session, org_id)
        # Checked again under the locks: a quarter may have been finalized meanwhile.
        plan = plan_rows(session, actor, sheet, year, now, today)
        if plan.errors:
            raise ImportRefused(plan.errors)
        for r in plan.to_create:
            assert r.member_id is not None and r.occurred_on is not None
            new = NewEntry(member_id=r.member_id, rule_code=r.rule_code,
                           occurred_on=r.occurred_on, quantity=r.quantity, points=r.points,
                           note=r.note)
            try:
                created.append(create_entry(session, actor, new, now, today))
            except DomainError as error:
                raise ImportRefused([RowProblem(r.row, None, error.code, error.detail)]) \
                    from error
    return plan, created
