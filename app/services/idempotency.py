"""A POST sent again with the same Idempotency-Key answers what the first answered, once.

The door (app/api/idempotency.py) says who is calling, which key and what was asked (a
fingerprint of the request); here the key is claimed, judged and settled (docs/api/retries.md):

- `claim`, before the request does anything: a record of the key is inserted and committed
  at once, so a second request with the key, on any app server, finds it. The unique
  (caller, client_key) decides a race: one insert wins, the other fails and reads the winner's.
  A record found instead answers the request: the stored answer (a replay), 422
  `idempotency_key_reused` when it was made by another request, 409
  `idempotency_in_progress` while its request runs.
- `settle`, once the request has its answer: the answer is stored in the record, in the
  request's own transaction, so it is committed with what the request created or not at
  all. An answer not to keep (a 5xx, a refusal that asks to try again, an answer holding a
  secret) releases the key instead: the next request with it runs.
- A request that dies between the two leaves its claim behind. Its work was rolled back with
  it (the answer and the work commit together), so after the lease (LEASE,
  JIFEN_IDEMPOTENCY_LEASE_SECONDS) another request with the key takes the claim over and
  runs; were the first still alive after all, its settle finds the claim gone and rolls its
  work back (409).
- A request whose database failed under it (the primary lost, before a standby is promoted:
  docs/deployment.md) cannot release its claim then. Its process remembers the claim
  (`release_later`) and releases it at its next claim, once the database answers again,
  unless the claim holds an answer after all (the commit reached the database though its
  acknowledgement was lost): a retry is then answered with it. The key waits seconds, not
  the lease.

Records are kept WINDOW (24 hours) from their first arrival; a claim prunes up to PRUNE_BATCH
expired ones on its way, so the table holds about a day of keys without a job to empty it.

The claim and the release after a crash commit on their own, the only commits outside
app/db.get_session: the claim must be seen by other requests before the work starts.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from app.models import IdempotencyRecord
from app.services.errors import Invalid, TooManyAttempts
from app.settings import get_settings

log = logging.getLogger("jifen")

WINDOW = timedelta(hours=24)
# How long a claim stays its request's before another request with the key may take it over:
# longer than any request runs (the longest, an import of a large sheet, takes seconds).
# The default; JIFEN_IDEMPOTENCY_LEASE_SECONDS sets it (`lease`).
LEASE = timedelta(minutes=5)
# Seconds a client is asked to wait before sending a request in progress again.
IN_PROGRESS_RETRY_AFTER = 2
PRUNE_BATCH = 200


@dataclass(frozen=True)
class Answer:
    """An answer as stored: what a replay sends again."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """The key, held by this request until `settle` (or `release`)."""

    session: Session
    record_id: int
    holder: str


class KeyReused(Invalid):
    """The key came with another request than the one it was first sent with."""

    default_code = "idempotency_key_reused"


class InProgress(TooManyAttempts):
    """The key's first request is still running: try again shortly. A TooManyAttempts, so its
    answer says when (Retry-After), but 409, as the Idempotency-Key draft has it."""

    status_code = 409
    default_code = "idempotency_in_progress"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "A request with this Idempotency-Key is still being "
                         "processed; send it again in a moment to get its answer.",
                         retry_after=IN_PROGRESS_RETRY_AFTER)


def lease() -> timedelta:
    """How long a claim stays its request's (JIFEN_IDEMPOTENCY_LEASE_SECONDS)."""
    return timedelta(seconds=get_settings().idempotency_lease_seconds)


# Claims of this process's requests that could not be released when their database failed:
# (record id, holder), released by the next claim once the database answers.
_unreleased: list[tuple[int, str]] = []
_unreleased_lock = threading.Lock()
_SETTLED = "jifen_idempotency_settled"  # session.info: the claim settled in its transaction


def release_later(claim: Claim) -> None:
    """Remember a claim its request could not release (the database failed): the next claim
    of this process releases it (`release_pending`)."""
    with _unreleased_lock:
        _unreleased.append((claim.record_id, claim.holder))
    log.warning("idempotency claim %s kept until the database answers again", claim.record_id)


def release_pending(session: Session) -> int:
    """Release the claims `release_later` kept (committed), except any that holds an answer
    (its request's commit happened after all); how many were released. On a database error
    they are kept for the next try, and it is raised."""
    with _unreleased_lock:
        todo = list(_unreleased)
        _unreleased.clear()
    if not todo:
        return 0
    try:
        released = 0
        for record_id, holder in todo:
            gone = session.execute(sa.delete(IdempotencyRecord).where(
                col(IdempotencyRecord.id) == record_id, col(IdempotencyRecord.holder) == holder,
                col(IdempotencyRecord.status).is_(None)))
            released += int(gone.rowcount)  # type: ignore[attr-defined]
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        with _unreleased_lock:
            _unreleased.extend(todo)
        raise
    log.warning("released %d of %d idempotency claims kept while the database failed "
                "(the others hold an answer)", released, len(todo))
    return released


def _find(session: Session, caller: str, key: str) -> IdempotencyRecord | None:
    return session.exec(select(IdempotencyRecord).where(
        IdempotencyRecord.caller == caller, IdempotencyRecord.client_key == key)
        .execution_options(populate_existing=True)).first()


def claim(session: Session, caller: str, key: str, fingerprint: str,
          now: datetime) -> Claim | Answer:
    """This request's hold on the key (committed), or the stored answer that answers it.

    Raises KeyReused (another request was sent with the key) or InProgress (its request is
    still running). Call it before the request reads or writes anything else."""
    release_pending(session)
    record = _find(session, caller, key)
    if record is not None and record.created_at <= now - WINDOW:
        # Expired: as if the key had never been sent. (Core, by age: of two requests that
        # found it, the second deletes nothing and then meets the first's new claim.)
        session.execute(sa.delete(IdempotencyRecord).where(
            col(IdempotencyRecord.id) == record.id,
            col(IdempotencyRecord.created_at) <= now - WINDOW))
        record = None
    if record is None:
        _prune(session, now)
        holder = uuid4().hex
        new = IdempotencyRecord(caller=caller, client_key=key, fingerprint=fingerprint,
                                holder=holder, created_at=now, claimed_at=now)
        try:
            with session.begin_nested():
                session.add(new)
                session.flush()
        except IntegrityError:
            # Another request inserted the key first (PostgreSQL: this insert waited for its
            # claim to commit); its record answers this one.
            record = _find(session, caller, key)
            if record is None:  # and was released in between: it ran, and may again now
                raise InProgress() from None
        else:
            assert new.id is not None
            claim = Claim(session, new.id, holder)
            try:
                session.commit()
            except SQLAlchemyError:
                # Maybe committed all the same (the acknowledgement lost with the database).
                release_later(claim)
                raise
            return claim
    return _judge(session, record, fingerprint, now)


def _judge(session: Session, record: IdempotencyRecord, fingerprint: str,
           now: datetime) -> Claim | Answer:
    if record.fingerprint != fingerprint:
        raise KeyReused("This Idempotency-Key was first sent with another request (another "
                        "method, path, query or body); use a new key for a new request.")
    if record.status is not None:
        return Answer(record.status, [tuple(h) for h in json.loads(record.headers or "[]")],
                      bytes(record.body))
    if record.claimed_at > now - lease():
        raise InProgress()
    # Its request died (its work rolled back with it): this one takes the claim over.
    holder = uuid4().hex
    taken = session.execute(sa.update(IdempotencyRecord).where(
        col(IdempotencyRecord.id) == record.id, col(IdempotencyRecord.holder) == record.holder)
        .values(holder=holder, claimed_at=now))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise InProgress()  # another request took it over first
    session.commit()
    assert record.id is not None
    return Claim(session, record.id, holder)


def settle(claim: Claim, answer: Answer | None, *, rolled_back: bool = False) -> None:
    """Store the request's answer with the key (None: release the key), in the request's
    transaction; `rolled_back`: the request was refused, its work is undone first.

    Raises InProgress when the claim was taken over meanwhile (this request was thought
    dead): its work must then be rolled back, as the raise does."""
    session = claim.session
    if rolled_back:
        session.rollback()
    mine = sa.and_(col(IdempotencyRecord.id) == claim.record_id,
                   col(IdempotencyRecord.holder) == claim.holder)
    if answer is None:
        session.execute(sa.delete(IdempotencyRecord).where(mine))
        _watch(claim)
        return
    stored = session.execute(sa.update(IdempotencyRecord).where(mine).values(
        status=answer.status, headers=json.dumps(answer.headers), body=answer.body))
    if stored.rowcount != 1:  # type: ignore[attr-defined]
        raise InProgress("This request took so long that a later one with the same "
                         "Idempotency-Key took over; nothing was changed by this one.")
    _watch(claim)


def _watch(claim: Claim) -> None:
    """Until the transaction holding the settled claim commits: ended otherwise (its commit
    failed, the database lost), the claim is released later (`release_later`)."""
    session = claim.session
    if _SETTLED not in session.info:
        sa.event.listen(session, "after_commit", _settled_committed)
        sa.event.listen(session, "after_transaction_end", _settled_ended)
    session.info[_SETTLED] = claim


def _settled_committed(session: Session) -> None:
    session.info[_SETTLED] = None


def _settled_ended(session: Session, transaction: Any) -> None:
    # Ended without its commit (rolled back, or closed after a commit that failed).
    if transaction.parent is not None:  # a savepoint: the transaction holding it goes on
        return
    claim = session.info.get(_SETTLED)
    session.info[_SETTLED] = None
    if claim is not None:
        release_later(claim)


def release(claim: Claim) -> None:
    """Give the key back after the request failed unexpectedly (its work undone), committed:
    the client may send the request again."""
    settle(claim, None, rolled_back=True)
    claim.session.commit()


def _prune(session: Session, now: datetime) -> None:
    """Delete up to PRUNE_BATCH expired records: each new key clears some of the old."""
    # Rows another claim is pruning are skipped (PostgreSQL), so two never wait for, or
    # deadlock on, each other's.
    expired = select(IdempotencyRecord.id).where(
        col(IdempotencyRecord.created_at) <= now - WINDOW).order_by(
        col(IdempotencyRecord.id)).limit(PRUNE_BATCH).with_for_update(skip_locked=True)
    session.execute(sa.delete(IdempotencyRecord).where(col(IdempotencyRecord.id).in_(
        expired.scalar_subquery())))


def prune(session: Session, now: datetime) -> int:
    """Delete every expired record (for maintenance); how many."""
    gone = session.execute(sa.delete(IdempotencyRecord).where(
        col(IdempotencyRecord.created_at) <= now - WINDOW))
    return int(gone.rowcount)  # type: ignore[attr-defined]
