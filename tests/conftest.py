"""Test database built by the migrations; each test runs in a transaction rolled back after it.

JIFEN_TEST_DATABASE_URL picks the database (PostgreSQL in CI); unset, a SQLite file. Under
pytest-xdist every worker has a database of its own, built once: a SQLite file in its own
temporary directory, or a database of its own on that PostgreSQL server (pytest_configure).

Beside it, a second database holds the small API world (tests/api/support.build_world),
built once and committed: a test that uses the world runs, rolled back the same way, on
that one instead of building the world again.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import fastapi.dependencies.utils as fastapi_dependencies
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

from app import security
from app.clock import FixedClock, get_clock
from app.db import get_session, make_engine
from app.main import app
from app.migrate import upgrade
from tests.api.support import World, build_world
from tests.databases import drop_database, fresh_database

security.use_cheap_hashing()
# The test client's HTTP library logs every request at INFO, which pytest captures: a few
# per cent of the API tests' time, read by nobody.
logging.getLogger("httpx2").setLevel(logging.WARNING)

# Loaded here, at the top, so that it also runs in xdist's controlling process.
pytest_plugins = ["tests.fuzz.tally"]

_WORKER_DATABASE = pytest.StashKey[str]()  # its URL, to drop it when the worker ends
START = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)  # the clock fixture's moment


def pytest_configure(config: pytest.Config) -> None:
    """An xdist worker points JIFEN_TEST_DATABASE_URL at a database of its own (e.g.
    jifen_test_gw0), so every test and helper reading it stays off the other workers'."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    base = os.environ.get("JIFEN_TEST_DATABASE_URL")
    if worker and base and base.startswith("postgresql"):
        name = f"{sa.make_url(base).database}_{worker}"
        os.environ["JIFEN_TEST_DATABASE_URL"] = fresh_database(base, name)
        config.stash[_WORKER_DATABASE] = os.environ["JIFEN_TEST_DATABASE_URL"]


def pytest_unconfigure(config: pytest.Config) -> None:
    if url := config.stash.get(_WORKER_DATABASE, None):
        drop_database(url)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # an xdist worker's collection: checked below
        _refuse_twice_the_same_id([item.nodeid for item in items])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: object, ids: list[str]) -> None:
    _refuse_twice_the_same_id(ids)


def _refuse_twice_the_same_id(ids: list[str]) -> None:
    """xdist's loadgroup runs only one of the tests that share an id, in place of all."""
    if twice := sorted(nodeid for nodeid, count in Counter(ids).items() if count > 1):
        raise pytest.UsageError(f"{len(twice)} test id(s) shared by several tests, e.g. "
                                f"{twice[0]}: give each its own (parametrize)")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("JIFEN_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    built = row_counts(engine)
    yield engine
    changed = changed_tables(engine, built)
    engine.dispose()
    assert not changed, f"tests left rows in the test database (before, after): {changed}"


def row_counts(engine: sa.Engine) -> dict[str, int]:
    """Rows per table, to see at the end that every test's writes were rolled back."""
    with engine.connect() as connection:
        return {table.name: connection.execute(
                    sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in SQLModel.metadata.sorted_tables}


def changed_tables(engine: sa.Engine, built: dict[str, int]) -> dict[str, tuple[int, int]]:
    now = row_counts(engine)
    return {name: (built[name], now[name]) for name in built if now[name] != built[name]}


@dataclass(frozen=True)
class WorldDatabase:
    engine: sa.Engine
    world: World  # as built: its ids, and the administrator logged in


@pytest.fixture(scope="session")
def world_database(database_url: str,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldDatabase]:
    """A database of its own at the head revision holding the API world, committed."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'world.db'}"
    else:
        url = fresh_database(database_url, f"{sa.make_url(database_url).database}_world")
    upgrade(url)
    engine = make_engine(url)
    world = committed_world(engine, FixedClock(START))
    built = row_counts(engine)
    yield WorldDatabase(engine, world)
    changed = changed_tables(engine, built)
    engine.dispose()
    if not url.startswith("sqlite"):
        drop_database(url)
    assert not changed, f"tests left rows in the world's database (before, after): {changed}"


def committed_world(engine: sa.Engine, clock: FixedClock) -> World:
    """The API world built through the app and committed to the engine's database."""
    before = dict(app.dependency_overrides)
    try:
        with Session(engine, expire_on_commit=False) as session, \
                serving(session, clock) as client:
            return build_world(client, session, clock)
    finally:
        app.dependency_overrides.update(before)  # serving() cleared them


@contextmanager
def rolled_back_session(engine: sa.Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def db(request: pytest.FixtureRequest, engine: sa.Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test: on the
    world's database if the test uses the world."""
    if "world_database" in request.fixturenames:
        engine = request.getfixturevalue("world_database").engine
    with rolled_back_session(engine) as session:
        yield session


@pytest.fixture
def clock() -> FixedClock:
    """Standing in early 2026: all of 2025 is in the past."""
    return FixedClock(START)


@contextmanager
def serving(db: Session, clock: FixedClock, served: FastAPI | None = None
            ) -> Iterator[TestClient]:
    """A client of the app (or of `served`, another made by create_app) using this session
    (its commits are savepoints) and clock."""
    target = served or app

    def session_override() -> Iterator[Session]:
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise

    target.dependency_overrides[get_session] = session_override
    target.dependency_overrides[get_clock] = lambda: clock
    with TestClient(target, raise_server_exceptions=False) as test_client:
        yield test_client
    target.dependency_overrides.clear()


@pytest.fixture
def client(db: Session, clock: FixedClock) -> Iterator[TestClient]:
    with serving(db, clock) as test_client:
        yield test_client


@pytest.fixture
def world(world_database: WorldDatabase, client: TestClient, clock: FixedClock) -> World:
    """The API test world (branch A: sec_a, vice_a, a1..a4; branch B: sec_b, b1, party_sec)."""
    return world_database.world.for_test(client, clock)


def _keep_the_overridden_dependants() -> None:
    """FastAPI, while an app has dependency_overrides (the tests' session and clock), makes
    every request's dependency tree again from the functions' signatures (get_dependant in
    solve_dependencies: about a tenth of an API test's CPU). The tree depends only on the
    arguments, so the tests keep each one made there and reuse it, as FastAPI reuses a
    route's tree when nothing is overridden. Only the calls from solve_dependencies are
    kept: a tree made for a route is changed after it is made (FastAPI adds the router's
    dependencies to it), so those are made afresh as before."""
    original = fastapi_dependencies.get_dependant
    solve = fastapi_dependencies.solve_dependencies.__code__
    kept: dict[tuple[Any, ...], Any] = {}

    @functools.wraps(original)
    def get_dependant(**arguments: Any) -> Any:
        if sys._getframe(1).f_code is not solve:
            return original(**arguments)
        key = tuple((name, tuple(value) if isinstance(value, list) else value)
                    for name, value in sorted(arguments.items()))
        if (found := kept.get(key)) is None:
            found = kept[key] = original(**arguments)
        return found

    fastapi_dependencies.get_dependant = get_dependant


_keep_the_overridden_dependants()
