"""The audit log, for administrators."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SYNC_CODES, CurrentActor, Moment, PagingDep, SyncDep, errors
from app.db import SessionDep
from app.models import AuditLog
from app.schemas import AuditOut, Id, Page
from app.services import audit

router = APIRouter(tags=["audit"])


def _parsed(text: str | None) -> dict[str, object] | None:
    """Stored JSON as an object; text that is not one (a hand edit) is shown as it is."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {"unreadable": text}


def audit_out(row: AuditLog, username: str | None) -> AuditOut:
    assert row.id is not None
    return AuditOut(id=row.id, at=row.at, actor_id=row.actor_id, actor=username,
                    action=row.action, object_type=row.object_type, object_id=row.object_id,
                    before=_parsed(row.before), after=_parsed(row.after), updated_at=row.at)


@router.get("/audit", response_model=Page[AuditOut],
            responses=errors(401, 403, 422, codes={422: SYNC_CODES}))
def list_audit(
    session: SessionDep, actor: CurrentActor, paging: PagingDep, sync: SyncDep,
    actor_id: Annotated[Id | None, Query(description="Only changes by this account.")] = None,
    action: Annotated[str | None, Query(
        max_length=50, description='Exact ("entry.approved"), or a prefix ending in a dot '
        '("entry." for every entry action).')] = None,
    object_type: Annotated[str | None, Query(
        max_length=20, description='Only changes to this kind of object, e.g. "entry".')] = None,
    object_id: Annotated[Id | None, Query(
        description="Only changes to the object with this id (with object_type).")] = None,
    since: Annotated[Moment | None, Query(
        description="Only rows at or after this time (ISO 8601 with a zone).")] = None,
    until: Annotated[Moment | None, Query(
        description="Only rows before this time (ISO 8601 with a zone).")] = None,
) -> Page[AuditOut]:
    """Every change, newest first, with who made it and the object before and after
    (administrators). `jifen check` verifies the rows' hash chain. A sync read gives them
    oldest first by id, the order they were committed in (no settle window)."""
    # In UTC, as stored; a moment beyond the calendar (year 9999 west of Greenwich) raises
    # OverflowError, which the app answers with 422.
    f = audit.AuditFilter(actor_id=actor_id, action=action, object_type=object_type,
                          object_id=object_id,
                          since=since.astimezone(UTC) if since else None,
                          until=until.astimezone(UTC) if until else None)
    rows, total, next_, resume = audit.list_audit(session, actor, f, paging.limit,
                                                  paging.offset, sync)
    return Page[AuditOut](items=[audit_out(row, username) for row, username in rows],
                          total=total, next=next_, resume=resume)
