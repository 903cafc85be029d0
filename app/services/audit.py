"""The append-only audit log, each row chained to the previous by its hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.db import bulk_insert, core
from app.models import Account, AuditLog
from app.services.access import Actor, require_admin
from app.services.sync import (
    SyncRead,
    carried_total,
    decode_cursor,
    encode_cursor,
    refuse_offset,
    resume_from,
)

# pg_advisory_xact_lock key that serialises appends to the chain on PostgreSQL
# (the ASCII of "jifenaud" as a signed 64-bit integer; any constant would do).
AUDIT_LOCK_KEY = int.from_bytes(b"jifenaud", "big")


def snapshot(row: Any) -> dict[str, Any]:
    """A row as JSON-ready data, leaving out secrets."""
    data: dict[str, Any] = row.model_dump(mode="json")
    data.pop("password_hash", None)
    # The sync read's bookkeeping, stamped at the next flush (app/services/stamps.py): the
    # audit row's own `at` says when.
    data.pop("updated_at", None)
    return data


def chain_hash(prev_hash: str, at: datetime, actor_id: int | None, action: str,
               object_type: str, object_id: int | None, before: str | None,
               after: str | None) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(), actor_id, action, object_type, object_id, before, after],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _hold_chain_lock(session: Session) -> None:
    """Make this transaction the only one appending to the chain until it ends.

    Without this, two transactions could both read the same last hash and both chain
    to it: a fork that `jifen check` would report as tampering.

    PostgreSQL (READ COMMITTED, the default the app uses): a transaction-scoped advisory
    lock. A second appender waits here until the first commits or rolls back; its next
    statement then sees the committed row, because READ COMMITTED takes a fresh snapshot
    per statement (under REPEATABLE READ it would not: writers must keep the default).
    The lock is re-entrant within a transaction and released at its end. Audit rows get
    their ids while the lock is held, so the id order is the chain order.

    SQLite: the database allows one writer at a time, and a transaction becomes the
    writer at its first write, holding that until it ends. The session is flushed first
    (so the pending rows are written, which takes the lock in almost every call); then
    a write that changes nothing takes the lock in the remaining cases (e.g. an audit
    row recorded before anything else changed). Either the lock is granted (after
    waiting busy_timeout for another writer to finish), and SQLite grants it only to a
    transaction whose snapshot is the newest one, so the last hash read next is the
    true last hash; or it is refused ("database is locked", SQLITE_BUSY/BUSY_SNAPSHOT)
    when this transaction read an older snapshot before another writer committed, and
    the transaction fails (a 503 answer, try again) instead of forking the chain.
    """
    session.flush()
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(_ADVISORY_LOCK)
    elif dialect == "sqlite":
        connection.execute(_TAKE_WRITE_LOCK)


_ADVISORY_LOCK = sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_KEY))
_TAKE_WRITE_LOCK = sa.text("UPDATE audit_log SET hash = hash WHERE 0 = 1")
_AUDIT = AuditLog.__table__  # type: ignore[attr-defined]
# Core, built once: a fifth of the ORM query's cost, paid by every change recorded.
_LAST_HASH = sa.select(_AUDIT.c.hash).order_by(_AUDIT.c.id.desc()).limit(1)


def last_hash(session: Session) -> str:
    """The chain's last hash, in the session's transaction (pending rows flushed first)."""
    return core(session, _LAST_HASH).scalar() or ""


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditLog:
    _hold_chain_lock(session)
    row = AuditLog(**_chained(last_hash(session), actor_id, action, object_type, object_id,
                              at, before, after))
    session.add(row)
    return row


@dataclass(frozen=True)
class Event:
    """One change to record with `record_many`."""

    actor_id: int | None
    action: str
    object_type: str
    object_id: int | None
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record_many(session: Session, events: list[Event]) -> None:
    """Append many rows to the chain in one INSERT (e.g. a town's ratings made at once)."""
    if not events:
        return
    _hold_chain_lock(session)
    prev_hash = last_hash(session)
    rows = []
    for e in events:
        row = _chained(prev_hash, e.actor_id, e.action, e.object_type, e.object_id, e.at,
                       e.before, e.after)
        rows.append(row)
        prev_hash = row["hash"]
    # Rows are numbered in the order given, so the id order stays the chain order.
    bulk_insert(session, AuditLog.__table__, rows)  # type: ignore[attr-defined]


def _chained(prev_hash: str, actor_id: int | None, action: str, object_type: str,
             object_id: int | None, at: datetime, before: dict[str, Any] | None,
             after: dict[str, Any] | None) -> dict[str, Any]:
    """The columns of an audit row chained to `prev_hash`."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given to audit.record")
    # The hash covers `at` as it is read back (UTC), so it recomputes from the stored row.
    at = at.astimezone(UTC)
    before_json = json.dumps(before, ensure_ascii=False, sort_keys=True) if before else None
    after_json = json.dumps(after, ensure_ascii=False, sort_keys=True) if after else None
    return {
        "at": at, "actor_id": actor_id, "action": action, "object_type": object_type,
        "object_id": object_id, "before": before_json, "after": after_json,
        "prev_hash": prev_hash,
        "hash": chain_hash(prev_hash, at, actor_id, action, object_type, object_id,
                           before_json, after_json),
    }


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    # Exact, or a prefix when it ends with "." ("entry." is every entry action).
    action: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    since: datetime | None = None  # at >= since
    until: datetime | None = None  # at < until


# Its sync read walks (at, id) but goes on from a cursor by id alone: rows are numbered
# under the chain lock, held until commit, so a row committed later always has a higher
# id (its `at`, the request's time, may be earlier): no settle window needed.
FEED_NAME = "audit"


def list_audit(session: Session, actor: Actor, f: AuditFilter, limit: int, offset: int,
               sync: SyncRead | None = None
               ) -> tuple[list[tuple[AuditLog, str | None]], int, str | None, str | None]:
    """Audit rows with the actor's username, newest (last appended) first; administrators.
    A sync read: oldest first after its cursor, and the cursors on (next, resume)."""
    require_admin(actor)
    where: list[sa.ColumnElement[bool]] = []
    if f.actor_id is not None:
        where.append(col(AuditLog.actor_id) == f.actor_id)
    if f.action:
        where.append(col(AuditLog.action).startswith(f.action, autoescape=True)
                     if f.action.endswith(".") else col(AuditLog.action) == f.action)
    if f.object_type is not None:
        where.append(col(AuditLog.object_type) == f.object_type)
    if f.object_id is not None:
        where.append(col(AuditLog.object_id) == f.object_id)
    if f.since is not None:
        where.append(col(AuditLog.at) >= f.since)
    if f.until is not None:
        where.append(col(AuditLog.at) < f.until)
    reading = sync is not None and sync.asked
    if sync is not None and reading:
        refuse_offset(sync, offset)
        if sync.after is not None:
            where.append(col(AuditLog.id) > decode_cursor(FEED_NAME, sync.after)[1])
        if sync.updated_since is not None:
            where.append(col(AuditLog.at) >= sync.updated_since.astimezone(UTC))
    total = carried_total(sync, FEED_NAME) if sync is not None and reading else None
    if total is None:  # counted on a read's first page only (app/services/paging.sync_page)
        total = session.exec(select(func.count()).select_from(AuditLog).where(*where)).one()
    order = col(AuditLog.id) if reading else col(AuditLog.id).desc()
    rows = session.exec(
        select(AuditLog, Account.username)
        .outerjoin(Account, col(Account.id) == AuditLog.actor_id)
        .where(*where)
        .order_by(order).limit(limit + 1 if reading else limit).offset(offset)
    ).all()
    found: list[tuple[AuditLog, str | None]] = [(row, name) for row, name in rows[:limit]]
    if sync is None or not reading:
        return found, total, None, None
    if not found:
        return found, total, None, resume_from(sync, FEED_NAME)
    last = found[-1][0]
    following = encode_cursor(FEED_NAME, last.at, last.id or 0, max(total - len(found), 0)) \
        if len(rows) > limit else None
    return found, total, following, encode_cursor(FEED_NAME, last.at, last.id or 0)
