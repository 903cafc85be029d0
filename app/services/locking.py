"""The one lock a branch's workflow takes, so its checks and its writes are one step.

A change to a branch's records (an entry created or decided, a review moved on or scored,
a rating created, overridden or approved) first checks the state (is the quarter finalized?
are entries pending?) and then writes. Two such changes must not interleave between the
check and the write: a finalize that saw no pending entry must not be followed by an
entry landing in the quarter it just locked.

- PostgreSQL: the branch's ``org`` row is locked, by the UPDATE that gives it a new
  revision, before any check. Changes to one branch queue; branches do not wait for each
  other. Under READ COMMITTED every statement after the lock sees what the previous
  holder committed.
- SQLite: writers begin IMMEDIATE (app/db.py), so the whole transaction already holds
  the database's one write lock; the UPDATE only changes the revision there.

The revision is what the member's kept score pages are keyed on (app/web/page_cache.py):
so every change to what a member of the branch sees (also the branch's members and their
committee grants, app/services/members.py and orgs.py) takes this lock.

Logins take a lock per username (``lock_username``) so that a burst of parallel guesses
is counted one by one: the throttle's "5 failures" holds even against 20 at once.

A year's rule set is stored by the first write that needs it, under ``lock_rule_year``.

Take the branch lock right after the scope check and before anything else is read or written, so the
order is always branch lock, then the year's rule-set lock, then the audit chain lock
(app/services/audit.py): no deadlock between two writers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlmodel import Session, col

from app.db import core
from app.models import Org

# What the caller asks of the current state before a change (an API client's If-Match,
# app/api/etags.py): a service that takes one calls it right after its lock, before it checks
# or changes anything, so nothing can change in between. It raises to refuse.
Precondition = Callable[[], None]


def lock_branch(session: Session, org_id: int, *refresh: object) -> None:
    """Hold the branch's lock until the transaction ends; reload ``refresh`` objects.

    The lock is an UPDATE giving the branch a new revision: the row is locked as by
    SELECT ... FOR UPDATE (on PostgreSQL FOR NO KEY UPDATE, which still lets rows that
    refer to the branch be inserted), and every page kept under the old revision is stale
    from the commit on (app/web/page_cache.py). Rolled back, nothing changed.
    """
    core(session, _TOUCH_ONE, {"revision": uuid4().hex, "org": org_id})
    for obj in refresh:
        # Loaded before the lock, possibly before another writer committed.
        session.refresh(obj)


# Namespace of the per-username lock (two-key advisory locks: apart from the audit chain's).
LOGIN_LOCK_SPACE = 0x4A46  # "JF"


def lock_username(session: Session, username: str) -> None:
    """Attempts to log in as one username, one at a time, until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock on a hash of the username (no row need
    exist). SQLite: the IMMEDIATE transaction of the POST already holds the write lock.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(
            LOGIN_LOCK_SPACE, sa.func.hashtext(username))))


# Namespace of the per-year rule-set lock (apart from the logins' and the audit chain's).
RULES_LOCK_SPACE = 0x4A52  # "JR"


def lock_rule_year(session: Session, year: int) -> None:
    """Store a year's rule set one transaction at a time, until the transaction ends: two
    first writes of a new year (entries in two branches at once) must not both store it.

    PostgreSQL: a transaction-scoped advisory lock on the year (its row does not exist yet,
    so there is no row to lock). SQLite: a writer's IMMEDIATE transaction already holds the
    database's one write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(RULES_LOCK_SPACE, year)))


def lock_branches(session: Session, branch_ids: sa.Select[Any]) -> None:
    """`lock_branch` for many branches at once, in id order (two batches cannot deadlock:
    an UPDATE locks its rows in no set order, so they are locked by the SELECT first)."""
    session.execute(sa.select(col(Org.id)).where(col(Org.id).in_(branch_ids))
                    .order_by(col(Org.id)).with_for_update())
    session.execute(_TOUCH.where(col(Org.id).in_(branch_ids)), {"revision": uuid4().hex})


# Core, not ORM: no identity-map bookkeeping for a column nothing in the request reads.
_TOUCH = sa.update(Org.__table__).values(  # type: ignore[attr-defined]
    revision=sa.bindparam("revision"))
# One branch's, built once (every change of the app takes it).
_TOUCH_ONE = _TOUCH.where(col(Org.id) == sa.bindparam("org"))
