"""A recorder's sheet of entries in (a member's year out, in the same columns: entry_export.py).

Import (docs/scoring.md, Workflow 1): every row is checked against the year's rule set and the
branch's state before anything is written; any error refuses the whole file, listing every
error by row and column. Clean, the rows are created in one transaction under the branches'
locks through `create_entry`, so each gets its audit row and the branch a new revision, and
each starts as it would when recorded by hand: approved, except a row about the recorder
themself, which waits for another committee member (pending). A confirm of the same rows
sent again by the same account creates nothing: the first import answers it
(app/services/import_receipts.py).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.models import (
    Entry,
    EntryStatus,
    ImportKind,
    ImportReceipt,
    Member,
    Org,
    Review,
    ReviewStatus,
)
from app.services import import_receipts
from app.services.access import Actor, require_committee
from app.services.entries import NewEntry, create_entry
from app.services.entry_export import EXPORT_COLUMNS, IMPORT_COLUMNS, STATUS_COLUMN
from app.services.entry_rows import People, PlannedRow, chunks, is_skipped, plan_row
from app.services.errors import DomainError, Invalid
from app.services.import_receipts import Earlier
from app.services.locking import lock_branch
from app.services.rules import check_year, load_rule_set
from app.services.sheets import ImportRefused, Row, RowProblem, read_rows, text_problems

HEADINGS = {c.key: c.heading for c in (*EXPORT_COLUMNS,)}


@dataclass(frozen=True)
class ImportPlan:
    year: int
    rows: list[PlannedRow]
    errors: list[RowProblem]
    warnings: list[RowProblem]

    @property
    def to_create(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.starts_as != "skipped"]


@dataclass(frozen=True)
class Imported:
    """A confirmed import: its rows, the entries it created, and when. `again`: this confirm
    repeated an earlier one of the same rows, whose result this is (nothing created now)."""

    plan: ImportPlan
    entry_ids: list[int]
    imported_at: datetime
    again: bool = False

    @property
    def pending(self) -> int:
        """Entries about the recorder themself, waiting for another committee member."""
        return sum(1 for r in self.plan.to_create if r.starts_as == EntryStatus.pending)


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
    for chunk in chunks(member_ids):
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
    return preview_rows(session, actor, read_sheet(data, filename), year, now, today)


def preview_rows(session: Session, actor: Actor, sheet: list[Row], year: int, now: datetime,
                 today: date) -> ImportPlan:
    """plan_rows, and first among the warnings when the actor has imported these very rows
    already: a confirm would answer with that import instead of importing them again."""
    plan = plan_rows(session, actor, sheet, year, now, today)
    before = import_receipts.earlier(session, actor, ImportKind.entries,
                                     import_receipts.rows_digest(year, sheet), _still_stands)
    if before is None:
        return plan
    notice = before.notice("entries_already_imported", "entries")
    return ImportPlan(plan.year, plan.rows, plan.errors, [notice, *plan.warnings])


def plan_rows(session: Session, actor: Actor, sheet: list[Row], year: int, now: datetime,
              today: date) -> ImportPlan:
    """Check every row read from a sheet (reads only): what would be created, every error."""
    require_importer(actor)
    check_year(year)
    if not sheet:
        raise ImportRefused([RowProblem(2, None, "empty_import",
                                        "There are no rows under the heading row.")])
    rules = load_rule_set(session, year, now)
    people = People(session, actor, sheet)
    errors: list[RowProblem] = []
    found: dict[int, tuple[Member, Org] | None] = {}
    for r in sheet:
        # A rejected or revoked row of an export is skipped whole: its errors do not count.
        mine: list[RowProblem] = []
        found[r.number] = people.find(r, mine)
        mine.extend(text_problems(r, one_line=("name", "branch", "username", "rule_code")))
        if not is_skipped(r):
            errors.extend(mine)
    org_ids = {f[1].id or 0 for f in found.values() if f}
    locked = _finalized(session, org_ids, year)
    existing = _duplicate_keys(session, {f[0].id or 0 for f in found.values() if f}, year)
    planned = [plan_row(r, found[r.number], rules, year, today, locked, errors, actor)
               for r in sheet]
    warnings = _duplicates(planned, existing)
    order = [c.key for c in EXPORT_COLUMNS]
    errors.sort(key=lambda e: (e.row, order.index(e.column) if e.column in order else 99))
    return ImportPlan(year=year, rows=planned, errors=errors, warnings=warnings)


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
                  now: datetime, today: date) -> Imported:
    """Create every row of the file, or nothing: ImportRefused lists every error."""
    require_importer(actor)
    check_year(year)
    return commit_rows(session, actor, read_sheet(data, filename), year, now, today)


def commit_rows(session: Session, actor: Actor, sheet: list[Row], year: int, now: datetime,
                today: date) -> Imported:
    """Create every row, or nothing: ImportRefused lists every error of the sheet. The same
    rows confirmed again by the same account are answered by the first import."""
    require_importer(actor)
    check_year(year)
    created: list[Entry] = []
    # Any refusal below undoes the receipt, the locks and the rows before it.
    with session.begin_nested():
        claimed = import_receipts.claim(session, actor, ImportKind.entries,
                                        import_receipts.rows_digest(year, sheet), year, now,
                                        _still_stands)
        if isinstance(claimed, Earlier):
            return _answered(claimed, year)
        first = plan_rows(session, actor, sheet, year, now, today)
        if first.errors:
            raise ImportRefused(first.errors)
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
        entry_ids = [e.id or 0 for e in created]
        import_receipts.settle(session, claimed, len(entry_ids), {
            "entry_ids": entry_ids,
            "rows": [{f.name: getattr(r, f.name) for f in fields(PlannedRow) if f.name != "cells"}
                     for r in plan.rows],
            "warnings": [asdict(w) for w in plan.warnings]})
    return Imported(plan, entry_ids, now)


def _answered(earlier: Earlier, year: int) -> Imported:
    """The earlier import's result as it answered it (import_receipts.settle stored it)."""
    stored = earlier.result
    rows = [PlannedRow(**(r | {"occurred_on": r["occurred_on"] and date.fromisoformat(
        r["occurred_on"])})) for r in stored.get("rows", [])]
    warnings = [RowProblem(**(w | {"params": tuple(tuple(p) for p in w.get("params", ()))}))
                for w in stored.get("warnings", [])]
    plan = ImportPlan(earlier.receipt.year or year, rows, [], warnings)
    return Imported(plan, [int(i) for i in stored.get("entry_ids", [])],
                    earlier.receipt.imported_at, again=True)


def _still_stands(session: Session, receipt: ImportReceipt) -> bool:
    """Some entry the import created is still pending or approved: importing the same rows
    again would repeat it. Once all are revoked or rejected, the rows may be imported anew."""
    ids = [int(i) for i in json.loads(receipt.result or "{}").get("entry_ids", [])]
    return any(session.exec(select(Entry.id).where(
        col(Entry.id).in_(chunk),
        col(Entry.status).in_((EntryStatus.pending, EntryStatus.approved))).limit(1)).first()
        for chunk in chunks(ids))
