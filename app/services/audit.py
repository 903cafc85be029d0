"""The append-only audit log, each row chained to the previous by its hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.models import AuditLog


def snapshot(row: Any) -> dict[str, Any]:
    """A row as JSON-ready data, leaving out secrets."""
    data: dict[str, Any] = row.model_dump(mode="json")
    data.pop("password_hash", None)
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
    session.flush()
    last = session.exec(select(AuditLog.hash).order_by(col(AuditLog.id).desc()).limit(1)).first()
    prev_hash = last or ""
    before_json = json.dumps(before, ensure_ascii=False, sort_keys=True) if before else None
    after_json = json.dumps(after, ensure_ascii=False, sort_keys=True) if after else None
    row = AuditLog(
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before_json,
        after=after_json,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, at, actor_id, action, object_type, object_id,
                        before_json, after_json),
    )
    session.add(row)
    return row
