"""Two requests with one Idempotency-Key at once create once (issue 18, part 3): the app as it
runs, every request with a session of its own, on a SQLite file and on PostgreSQL when
JIFEN_TEST_DATABASE_URL points at one (tests/api/test_import_race.py's world)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app import db as db_module
from app.models import Entry, IdempotencyRecord
from app.services import idempotency
from tests.api.support import World, ok, refused
from tests.api.test_audit_concurrency import in_threads
from tests.api.test_import_race import race_url, race_world  # noqa: F401 (fixtures)

REPLAYED = "idempotent-replayed"


def _counts() -> tuple[int, int]:
    with Session(db_module.get_engine()) as session:
        entries = session.exec(select(func.count()).select_from(Entry)).one()
        records = session.exec(select(func.count(col(IdempotencyRecord.id)))).one()
    return int(entries), int(records)


def _send(world: World, answers: list[Any]) -> None:
    body = {"member_id": world.members["a1"], "rule_code": "P01", "occurred_on": "2025-05-06"}
    answers.append(world.client.post("/api/v1/entries", json=body, headers=world.as_("sec_a")
                                     | {"Idempotency-Key": "race-1"}))


def test_two_identical_posts_at_once_create_once(race_world: World, race_url: str,  # noqa: F811
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    world = race_world
    world.as_("sec_a")  # logged in before the race
    entries, records = _counts()
    if sa.make_url(race_url).get_backend_name() == "postgresql":
        # Both have looked for the key before either inserts it: the unique key decides.
        # (SQLite cannot interleave them: a writer holds the one write lock from its first
        # read.)
        together = threading.Barrier(2)
        find = idempotency._find
        looked: set[int] = set()

        def find_together(*args: Any) -> Any:
            found = find(*args)
            if threading.get_ident() not in looked:
                looked.add(threading.get_ident())
                together.wait(10)
            return found

        monkeypatch.setattr(idempotency, "_find", find_together)
    answers: list[Any] = []
    in_threads(lambda: _send(world, answers), lambda: _send(world, answers))
    assert _counts() == (entries + 1, records + 1)
    made = [a for a in answers if a.status_code == 201 and REPLAYED not in a.headers]
    assert len(made) == 1
    [other] = [a for a in answers if a is not made[0]]
    if other.status_code == 409:
        refused(other, 409, "idempotency_in_progress")
        assert other.headers["retry-after"] == str(idempotency.IN_PROGRESS_RETRY_AFTER)
    else:
        assert other.headers[REPLAYED] == "true" and other.content == made[0].content


def test_a_retry_while_the_first_runs_is_409_and_then_its_answer(
        race_world: World, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    world = race_world
    world.as_("sec_a")
    entries, records = _counts()
    claimed, go_on = threading.Event(), threading.Event()
    claim = idempotency.claim

    def claim_then_wait(*args: Any) -> Any:
        held = claim(*args)
        if not claimed.is_set():  # the first request: its claim committed, its work not done
            claimed.set()
            assert go_on.wait(30)
        return held

    monkeypatch.setattr(idempotency, "claim", claim_then_wait)
    first: list[Any] = []
    runner = threading.Thread(target=_send, args=(world, first))
    runner.start()
    try:
        assert claimed.wait(30)
        during: list[Any] = []
        _send(world, during)
        refused(during[0], 409, "idempotency_in_progress")
        assert during[0].headers["retry-after"] == str(idempotency.IN_PROGRESS_RETRY_AFTER)
    finally:
        go_on.set()
        runner.join(30)
    made = ok(first[0], 201)
    after: list[Any] = []
    _send(world, after)
    assert ok(after[0], 201) == made and after[0].headers[REPLAYED] == "true"
    assert _counts() == (entries + 1, records + 1)
