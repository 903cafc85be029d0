"""One page of a list and the total it is a page of (docs/api.md, Lists); or, for a sync
read, the rows changed after a cursor, in (updated_at, id) order (docs/api/sync.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel import Session, func, select
from sqlmodel.sql.expression import SelectOfScalar

from app.services.sync import (
    SyncRead,
    carried_total,
    conditions,
    encode_cursor,
    refuse_offset,
    resume_from,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A page: its rows and how many there are in all. A sync read's: how many are left from
    its start (this page's and those after it), `next` (null once no more are settled) and
    `resume`, where to poll from later; both null in an ordinary read."""

    rows: list[T]
    total: int
    next: str | None = None
    resume: str | None = None


@dataclass(frozen=True)
class Feed:
    """A list as a sync read walks it: its name in cursors and its (updated_at, id)."""

    name: str
    stamp: Any
    key: Any


def page(session: Session, query: SelectOfScalar[T], *order_by: Any, limit: int,
         offset: int, sync: SyncRead | None = None, feed: Feed | None = None) -> Listing[T]:
    """The page; with a sync read asked for, in the feed's order from its cursor."""
    if sync is not None and sync.asked:
        assert feed is not None, "a list read by cursor names its feed"
        return sync_page(session, query, feed, sync, limit=limit, offset=offset)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return Listing(list(rows), total)


def sync_page(session: Session, query: SelectOfScalar[T], feed: Feed, sync: SyncRead, *,
              limit: int, offset: int = 0, settle: bool = True) -> Listing[T]:
    """A sync read's page. Its `total` is counted on the read's first page only; the pages
    after it carry it in their cursor, less what was served (docs/api/sync.md): counting
    the rest of the feed for every page made a first sync of millions of entries cost the
    square of its length."""
    refuse_offset(sync, offset)
    query = query.where(*conditions(sync, feed.name, feed.stamp, feed.key, settle=settle))
    total = carried_total(sync, feed.name)
    if total is None:
        total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = list(session.exec(query.order_by(feed.stamp, feed.key).limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    resume = cursor_of(feed, rows[-1]) if rows else resume_from(sync, feed.name)
    following = cursor_of(feed, rows[-1], left=max(total - len(rows), 0)) if more else None
    return Listing(rows, total, next=following, resume=resume)


def cursor_of(feed: Feed, row: Any, left: int | None = None) -> str:
    return encode_cursor(feed.name, getattr(row, feed.stamp.key), getattr(row, feed.key.key),
                         left)
