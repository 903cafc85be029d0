"""A confirmed sheet import takes effect once (entries and members alike).

A confirm is known by who sends it and what it imports: the account, the kind and a digest
of the year and the rows as read. Its first arrival stores a receipt with what it answered;
the same confirm sent again (a double click, a resubmitted form, a client's retry) finds the
receipt and is answered the same, creating nothing. A new file is other rows and imports as
usual; the same file sent again on purpose is told when it was imported and what it made.
Once nothing the earlier import made stands (every entry revoked or rejected), the same rows
import again, as a new generation of the receipt.

Two confirms racing: the receipt is inserted first, in the import's own transaction, so a
refused import leaves none. On SQLite the second writer waits for the whole of the first's
transaction (BEGIN IMMEDIATE, app/db.py) and then finds its receipt; on PostgreSQL the
second insert waits on the unique key until the first commits, fails, and the second reads
the first's receipt (or, the first refused and rolled back, goes on in its place).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.clock import beijing_wall
from app.models import ImportKind, ImportReceipt
from app.services.access import Actor
from app.services.sheets import Row, RowProblem


@dataclass(frozen=True)
class Earlier:
    """An earlier confirm of the same rows, still standing: what answers this one."""

    receipt: ImportReceipt
    result: dict[str, Any]

    def notice(self, code: str, what: str) -> RowProblem:
        """The preview's word about it (row 1, no column: the whole file)."""
        at = f"{beijing_wall(self.receipt.imported_at):%Y-%m-%d %H:%M}"
        return RowProblem(1, None, code,
                          f"You already imported this file on {at} (Beijing time): "
                          f"{self.receipt.created} {what}. Confirming it again imports "
                          "nothing and answers with that import's result.",
                          params=(("at", at), ("n", self.receipt.created)))


def rows_digest(year: int | None, rows: Iterable[Row], leave_out: Collection[str] = ()) -> str:
    """What identifies the rows imported: the same rows give the same digest, whether they
    come from the file again (the API) or carried by the preview (the pages)."""
    text = json.dumps({"year": year, "rows": [
        [row.number, {k: v for k, v in row.values.items() if k not in leave_out}]
        for row in rows]}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _latest(session: Session, actor: Actor, kind: ImportKind,
            digest: str) -> ImportReceipt | None:
    return session.exec(select(ImportReceipt).where(
        ImportReceipt.account_id == actor.account_id, ImportReceipt.kind == kind,
        ImportReceipt.digest == digest).order_by(col(ImportReceipt.generation).desc())).first()


def _earlier(receipt: ImportReceipt) -> Earlier:
    return Earlier(receipt, json.loads(receipt.result or "{}"))


def earlier(session: Session, actor: Actor, kind: ImportKind, digest: str,
            stands: Callable[[Session, ImportReceipt], bool]) -> Earlier | None:
    """The actor's earlier import of these rows, if what it made still stands (reads only)."""
    receipt = _latest(session, actor, kind, digest)
    return _earlier(receipt) if receipt is not None and stands(session, receipt) else None


def claim(session: Session, actor: Actor, kind: ImportKind, digest: str, year: int | None,
          now: datetime, stands: Callable[[Session, ImportReceipt], bool]
          ) -> ImportReceipt | Earlier:
    """This import's receipt, inserted now (`settle` it once the rows are created), or the
    earlier import of the same rows that answers for it. Call it before anything else of
    the import is written or locked, inside the import's savepoint."""
    before = _latest(session, actor, kind, digest)
    if before is not None and stands(session, before):
        return _earlier(before)
    generation = before.generation + 1 if before is not None else 1
    receipt = ImportReceipt(account_id=actor.account_id, kind=kind, digest=digest,
                            generation=generation, year=year, imported_at=now)
    try:
        with session.begin_nested():
            session.add(receipt)
            session.flush()
    except IntegrityError:
        # Another confirm of the same rows inserted it first, and has committed.
        winner = session.exec(select(ImportReceipt).where(
            ImportReceipt.account_id == actor.account_id, ImportReceipt.kind == kind,
            ImportReceipt.digest == digest, ImportReceipt.generation == generation)).one()
        return _earlier(winner)
    return receipt


def settle(session: Session, receipt: ImportReceipt, created: int,
           result: dict[str, Any]) -> None:
    """Store what the import made and answered, for a confirm sent again."""
    receipt.created = created
    receipt.result = json.dumps(result, ensure_ascii=False, default=str,
                                separators=(",", ":"))
    session.add(receipt)
    session.flush()
