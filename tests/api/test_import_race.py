"""Two confirms of the same import at once create its entries once (issue 14): the app as it
runs, every request with a session of its own (app/db.get_session), on a SQLite file and on
PostgreSQL when JIFEN_TEST_DATABASE_URL points at one."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app import db as db_module
from app.clock import FixedClock, get_clock
from app.db import make_engine
from app.main import app
from app.migrate import upgrade
from app.models import Entry, ImportReceipt
from app.services import import_receipts
from tests.api.support import World
from tests.api.test_audit_concurrency import in_threads
from tests.api.test_entry_import import sheet_csv, upload
from tests.conftest import START, committed_world
from tests.databases import new_databases
from tests.web.support import web_login
from tests.web.test_entry_import_page import carried, confirm, post_file


@pytest.fixture(params=["sqlite", "postgresql"])
def race_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own at the head revision, that requests commit to."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'race.db'}"
        upgrade(url)
        yield url
        return
    base = os.environ.get("JIFEN_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("JIFEN_TEST_DATABASE_URL does not point at PostgreSQL")
    with new_databases(base) as make:
        url = make("jifen_import_race")
        upgrade(url)
        yield url


@pytest.fixture
def race_world(race_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The API world, committed, then served as the app runs: a session per request."""
    engine = make_engine(race_url)
    clock = FixedClock(START)
    world = committed_world(engine, clock)
    monkeypatch.setattr(db_module, "get_engine", lambda: engine)
    monkeypatch.setitem(app.dependency_overrides, get_clock, lambda: clock)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield world.for_test(client, clock)
    finally:
        engine.dispose()


def _looking_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, both confirms have looked for a receipt before either inserts one.
    (SQLite cannot interleave them: a writer holds the one write lock from its first read.)"""
    together = threading.Barrier(2)
    latest = import_receipts._latest

    def latest_together(*args: Any) -> ImportReceipt | None:
        found = latest(*args)
        together.wait(10)
        return found

    monkeypatch.setattr(import_receipts, "_latest", latest_together)


def _counts(world: World) -> tuple[int, int]:
    engine = db_module.get_engine()
    with Session(engine) as session:
        entries = session.exec(select(func.count()).select_from(Entry)).one()
        receipts = session.exec(select(func.count(col(ImportReceipt.id)))).one()
    return int(entries), int(receipts)


@pytest.mark.parametrize("door", ["api", "page"])
def test_two_confirms_at_once_create_once(race_world: World, race_url: str, door: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    world = race_world
    data = sheet_csv(["a1", "", "", "2025-05-06", "N02", "", "", "缺学"],
                     ["a2", "", "", "2025-05-07", "P01", "2", "", ""])
    answers: list[Any] = []
    if door == "api":
        world.as_("sec_a")  # logged in before the race

        def send() -> None:
            answers.append(upload(world, "sec_a", data))
    else:
        token = web_login(world.client, "sec_a")
        fields = carried(post_file(world.client, token, data).text)

        def send() -> None:
            answers.append(confirm(world.client, token, fields))

    if sa.make_url(race_url).get_backend_name() == "postgresql":
        _looking_together(monkeypatch)
    in_threads(send, send)
    assert _counts(world) == (2, 1)
    if door == "api":
        assert [a.status_code for a in answers] == [201, 201]
        assert answers[0].json() == answers[1].json()
        assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true"]
        assert len(answers[0].json()["entry_ids"]) == 2
    else:
        assert [(a.status_code, a.headers["location"]) for a in answers] == \
            [(303, "/committee")] * 2
