"""Approving many pending entries at once: each exactly as approve_entry approves one.

Two ways, one loop. The committee's pending page approves what it can and lists the rest
(`approve_each`); the API's batch is all or nothing (`approve_all`): one refused entry and
none is approved, every refusal listed by entry (issue 18).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlmodel import Session, col, select

from app.models import Entry, Member, Org
from app.services.access import Actor, managed_org_filter
from app.services.entries import approve_entry
from app.services.errors import DomainError, attempt
from app.services.locking import lock_branches

# The most entries one API batch approves: a branch's quarter fits many times over.
MAX_BATCH = 200
# The status of a refused batch: that of its gravest refusal, in this order (an entry that
# is not there before one the caller may not approve, before a bad one, before a conflict).
_GRAVITY = (404, 403, 422, 409)


@dataclass(frozen=True)
class Refusal:
    entry_id: int
    error: DomainError


class BatchRefused(DomainError):
    """Some entries of an all-or-nothing batch cannot be approved; none was. `refusals`
    lists each, with the refusal the single approval gives."""

    default_code = "batch_refused"

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        ids = ", ".join(str(r.entry_id) for r in refusals[:20])
        super().__init__(f"{len(refusals)} of the entries cannot be approved (entry {ids}"
                         f"{' …' if len(refusals) > 20 else ''}); none was. Leave them out "
                         "or settle them, and send the batch again.")
        self.refusals = list(refusals)
        statuses = {r.error.status_code for r in refusals}
        self.status_code = next((s for s in _GRAVITY if s in statuses), max(statuses))


def approve_each(session: Session, actor: Actor, entry_ids: Sequence[int],
                 now: datetime) -> tuple[list[Entry], list[Refusal]]:
    """Approve each entry as approve_entry does (its lock, the quarter's lock, not one's own,
    a note for a veto or big deduction, the audit row), each in a savepoint of its own: the
    approved ones, in the order given, and the refusals."""
    # Every branch (of those the actor manages) locked first, in id order: two batches over
    # the same branches queue instead of each holding one and waiting for the other's.
    lock_branches(session, select(Member.org_id)
                  .join(Entry, col(Entry.member_id) == Member.id)
                  .join(Org, col(Org.id) == Member.org_id)
                  .where(col(Entry.id).in_(set(entry_ids)), managed_org_filter(actor)))
    approved: list[Entry] = []
    refused: list[Refusal] = []
    for entry_id in entry_ids:
        outcome = attempt(session, partial(approve_entry, session, actor, entry_id, now))
        if isinstance(outcome, DomainError):
            refused.append(Refusal(entry_id, outcome))
        else:
            approved.append(outcome)
    return approved, refused


def approve_all(session: Session, actor: Actor, entry_ids: Sequence[int],
                now: datetime) -> list[Entry]:
    """Approve every entry or none: BatchRefused listing each refusal, nothing written."""
    with session.begin_nested():
        approved, refused = approve_each(session, actor, entry_ids, now)
        if refused:
            raise BatchRefused(refused)
    return approved
