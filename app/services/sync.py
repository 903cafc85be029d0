"""Sync reads of a list (docs/api/sync.md): the rows changed since a time or after a cursor,
in (updated_at, id) order, up to the settle horizon, with the cursor to go on from.

A cursor is opaque to clients: the list's name, an updated_at and an id, base64url (a
page's `next` also how many items of the read were left after it, so the pages after the
first are not counted again). One of another list, or one that does not decode, is refused
(422 invalid_cursor).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from app.services.errors import Invalid
from app.services.stamps import SETTLE

MAX_CURSOR = 200  # characters: a real one is about 60
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class SyncRead:
    """What a sync read asked for; neither given: an ordinary read (offset paging)."""

    updated_since: datetime | None = None
    after: str | None = None
    now: datetime | None = None  # the request's time: the horizon is SETTLE before it

    @property
    def asked(self) -> bool:
        return self.updated_since is not None or self.after is not None


def _encode(feed: str, *parts: str) -> str:
    return base64.urlsafe_b64encode("|".join((feed, *parts)).encode()).decode().rstrip("=")


def _refuse(feed: str, why: str) -> Invalid:
    return Invalid(f"`after` is not a cursor of this list ({feed}): {why}. Pass the `next` "
                   "or `resume` of an answer of this list as it was given.", "invalid_cursor")


def _decode(feed: str, cursor: str) -> list[str]:
    if not cursor or len(cursor) > MAX_CURSOR:
        raise _refuse(feed, "empty or too long")
    try:
        name, *parts = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)) \
            .decode().split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise _refuse(feed, "it does not decode") from error
    if name != feed:
        raise _refuse(feed, "it is another list's")
    return parts


def _id(feed: str, text: str) -> int:
    if not text.isdigit() or int(text) > _MAX_ID:
        raise _refuse(feed, "it does not decode")
    return int(text)


def encode_cursor(feed: str, at: datetime, id_: int, left: int | None = None) -> str:
    """A cursor at (at, id_); with `left`, a page's `next`: how many items of the read were
    left after that page (the next page's `total`, so the read is not counted again)."""
    parts = (at.astimezone(UTC).isoformat(), str(id_))
    return _encode(feed, *parts, *(() if left is None else (str(left),)))


def decode_cursor(feed: str, cursor: str) -> tuple[datetime, int]:
    """The (updated_at, id) a cursor of `feed` stands at; Invalid (invalid_cursor) else."""
    parts = _decode(feed, cursor)
    if len(parts) not in (2, 3):
        raise _refuse(feed, "it does not decode")
    try:
        at = datetime.fromisoformat(parts[0])
        if at.tzinfo is None:
            raise ValueError("no zone")
        at = at.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise _refuse(feed, "it does not decode") from error
    if len(parts) == 3:
        _id(feed, parts[2])
    return at, _id(feed, parts[1])


def carried_total(read: SyncRead, feed: str) -> int | None:
    """The read's `total` its previous page left in `after` (a `next`); None where the read
    starts (no cursor, or a `resume`): counted then."""
    if read.after is None:
        return None
    parts = _decode(feed, read.after)
    return _id(feed, parts[2]) if len(parts) == 3 else None


def encode_position(feed: str, id_: int) -> str:
    """A cursor of a list read in id order (GET /orgs/{id}/scores)."""
    return _encode(feed, str(id_))


def decode_position(feed: str, cursor: str) -> int:
    parts = _decode(feed, cursor)
    if len(parts) != 1:
        raise _refuse(feed, "it does not decode")
    return _id(feed, parts[0])


def conditions(read: SyncRead, feed: str, stamp: Any, key: Any, *, settle: bool = True
               ) -> list[sa.ColumnElement[bool]]:
    """The WHERE of a sync read over (stamp, key): after the cursor, since the time, and
    (with `settle`) no later than the horizon, SETTLE before the request's time."""
    where: list[sa.ColumnElement[bool]] = []
    if read.after is not None:
        at, id_ = decode_cursor(feed, read.after)
        where.append(sa.tuple_(stamp, key) > sa.tuple_(sa.literal(at, stamp.type),
                                                      sa.literal(id_, key.type)))
    if read.updated_since is not None:
        where.append(stamp >= read.updated_since.astimezone(UTC))
    if settle:
        assert read.now is not None, "a sync read needs the request's time"
        where.append(stamp <= read.now - SETTLE)
    return where


def resume_from(read: SyncRead, feed: str) -> str | None:
    """Where a sync read that found nothing stands: where it was asked to start."""
    if read.after is not None:
        return read.after
    if read.updated_since is not None:
        return encode_cursor(feed, read.updated_since, 0)  # (since, 0): from since on
    return None


def refuse_offset(read: SyncRead, offset: int) -> None:
    if read.asked and offset:
        raise Invalid("A sync read (updated_since or after) goes on with `after` = the "
                      "answer's `next`, not with offset.", "offset_with_cursor")
