"""An Idempotency-Key whose request lost its database (issue 19, the failover drill: the
PostgreSQL primary killed while a request ran) is free again as soon as the database
answers, not after the 5-minute lease; a key whose request was done after all (its commit
reached the database, the acknowledgement did not) keeps its answer; the lease itself is
JIFEN_IDEMPOTENCY_LEASE_SECONDS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from app.models import Entry, IdempotencyRecord
from app.services import entries, idempotency
from app.services.idempotency import Answer, Claim, InProgress
from app.settings import get_settings
from tests.api.support import World, ok, refused

KEY = "drill-key-1"


def lost_database() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("server closed the connection "
                                                      "unexpectedly"))


@pytest.fixture(autouse=True)
def nothing_left_to_release() -> Iterator[None]:
    idempotency._unreleased.clear()
    yield
    idempotency._unreleased.clear()


def records(db: Session) -> list[IdempotencyRecord]:
    db.expire_all()
    return list(db.execute(sa.select(IdempotencyRecord)).scalars())


def entry_count(db: Session) -> int:
    return int(db.execute(sa.select(sa.func.count()).select_from(Entry)).scalar_one())


def post_entry(world: World) -> Any:
    return world.client.post("/api/v1/entries", json={
        "member_id": world.members["a1"], "rule_code": "P01", "occurred_on": "2025-05-06"},
        headers=world.as_("sec_a") | {"Idempotency-Key": KEY})


def test_a_key_whose_database_failed_mid_request_is_free_once_it_answers(
        world: World, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    before = entry_count(db)
    create, settle = entries.create_entry, idempotency.settle

    def database_gone(*_args: Any, **_kwargs: Any) -> Any:
        raise lost_database()

    # The primary is lost after the key was claimed: the work fails, and so does the
    # release of the key (the database does not answer).
    monkeypatch.setattr(entries, "create_entry", database_gone)
    monkeypatch.setattr(idempotency, "settle", database_gone)
    refused(post_entry(world), 503, "database_unavailable")
    [held] = records(db)
    assert held.status is None  # claimed, no answer: a retry would be 409 for 5 minutes
    # The standby promoted: the database answers again. The first retry runs the request.
    monkeypatch.setattr(entries, "create_entry", create)
    monkeypatch.setattr(idempotency, "settle", settle)
    retried = post_entry(world)
    made = ok(retried, 201)
    assert "idempotent-replayed" not in retried.headers
    assert entry_count(db) == before + 1
    again = post_entry(world)
    assert again.headers["idempotent-replayed"] == "true" and again.json()["id"] == made["id"]
    assert entry_count(db) == before + 1


def claim_now(db: Session, world: World, key: str = KEY, seconds: float = 0) -> Claim | Answer:
    return idempotency.claim(db, "account:1", key, "f" * 64,
                             world.clock.now() + timedelta(seconds=seconds))


def test_a_claim_whose_commit_failed_is_released_later(world: World, db: Session) -> None:
    """The request's transaction, holding its answer, did not commit (the database lost at
    the commit): the claim is released by this process's next claim."""
    claim = claim_now(db, world)
    assert isinstance(claim, Claim)
    idempotency.settle(claim, Answer(201, [], b"{}"))
    db.rollback()  # how a commit that failed ends
    retried = claim_now(db, world)
    assert isinstance(retried, Claim) and retried.holder != claim.holder


def test_a_claim_whose_answer_was_committed_after_all_keeps_it(world: World,
                                                                db: Session) -> None:
    """The commit reached the database though its acknowledgement was lost: the key answers
    what the request did, never runs it again."""
    claim = claim_now(db, world)
    assert isinstance(claim, Claim)
    idempotency.settle(claim, Answer(201, [], b'{"id": 7}'))
    db.commit()
    idempotency.release_later(claim)
    answer = claim_now(db, world)
    assert isinstance(answer, Answer) and answer.body == b'{"id": 7}'
    assert idempotency._unreleased == []


def test_a_release_the_database_refuses_waits_for_the_next_claim(
        world: World, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    claim = claim_now(db, world)
    assert isinstance(claim, Claim)
    idempotency.release_later(claim)
    real = db.execute

    def still_down(*_args: Any, **_kwargs: Any) -> Any:
        raise lost_database()

    monkeypatch.setattr(db, "execute", still_down)
    with pytest.raises(OperationalError):
        claim_now(db, world, "another-key")
    monkeypatch.setattr(db, "execute", real)
    assert idempotency._unreleased == [(claim.record_id, claim.holder)]
    assert isinstance(claim_now(db, world), Claim)  # released, then claimed anew


@pytest.mark.parametrize(("seconds", "taken_over"), [(29, False), (31, True)])
def test_the_lease_is_a_setting(world: World, db: Session, monkeypatch: pytest.MonkeyPatch,
                                seconds: int, taken_over: bool) -> None:
    monkeypatch.setenv("JIFEN_IDEMPOTENCY_LEASE_SECONDS", "30")
    get_settings.cache_clear()
    try:
        first = claim_now(db, world)
        assert isinstance(first, Claim)  # its request dies: no settle
        if taken_over:
            assert isinstance(claim_now(db, world, seconds=seconds), Claim)
        else:
            with pytest.raises(InProgress):
                claim_now(db, world, seconds=seconds)
    finally:
        monkeypatch.delenv("JIFEN_IDEMPOTENCY_LEASE_SECONDS")
        get_settings.cache_clear()
    assert idempotency.lease() == idempotency.LEASE == timedelta(minutes=5)
