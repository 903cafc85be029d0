"""A plain endpoint's work in one hop to a worker thread (app/hops.py), on the request's real
session (app/db.py) and a SQLite file: a read ends its transaction in the endpoint's
thread, a write commits at the session's end as before, an error rolls back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlmodel import Session

from app import db as app_db
from app import settings
from app.db import SessionDep
from app.hops import in_one_hop, one_hop


class Count(BaseModel):
    rows: int
    thread: int


def _toy(router: APIRouter) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    return app


@pytest.fixture
def toy_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    monkeypatch.setenv("JIFEN_DATABASE_URL", f"sqlite:///{tmp_path / 'hops.db'}")
    settings.get_settings.cache_clear()
    app_db.get_engine.cache_clear()
    engine = app_db.get_engine()
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT)")
    yield engine
    engine.dispose()
    settings.get_settings.cache_clear()
    app_db.get_engine.cache_clear()


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function sent to a worker thread, and the thread each ends in."""
    sent: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        inner = getattr(func, "func", func)
        sent.append(getattr(inner, "__name__", repr(inner)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return sent


def _ends(engine: sa.Engine) -> list[tuple[str, int]]:
    """Every transaction's end on the engine: ("commit" | "rollback", the thread)."""
    ended: list[tuple[str, int]] = []
    sa.event.listen(engine, "commit", lambda _c: ended.append(("commit", threading.get_ident())))
    sa.event.listen(engine, "rollback",
                    lambda _c: ended.append(("rollback", threading.get_ident())))
    return ended


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/notes", response_model=Count)
    def count_notes(session: SessionDep) -> dict[str, int]:
        rows = session.connection().exec_driver_sql("SELECT count(*) FROM note").scalar_one()
        return {"rows": rows, "thread": threading.get_ident()}

    @router.post("/notes", response_model=Count, status_code=201)
    def add_note(session: SessionDep, text: str) -> dict[str, int]:
        session.connection().exec_driver_sql("INSERT INTO note (text) VALUES (?)", (text,))
        rows = session.connection().exec_driver_sql("SELECT count(*) FROM note").scalar_one()
        return {"rows": rows, "thread": threading.get_ident()}

    @router.get("/broken")
    def broken(session: SessionDep) -> dict[str, int]:
        session.connection().exec_driver_sql("SELECT count(*) FROM note").scalar_one()
        raise LookupError("nothing here")

    @router.get("/wrong", response_model=Count)
    def wrong(session: SessionDep) -> dict[str, str]:
        session.connection().exec_driver_sql("SELECT 1")
        return {"rows": "many"}

    return router


def test_a_read_is_one_hop_and_ends_its_transaction_in_the_endpoints_thread(
        toy_database: sa.Engine, hops: list[str]) -> None:
    router = _router()
    assert in_one_hop(router) == 4
    ended = _ends(toy_database)
    with TestClient(_toy(router)) as client:
        hops.clear()
        answer = client.get("/notes")
        assert answer.status_code == 200 and answer.json()["rows"] == 0
    # One hop: the endpoint, its commit and its answer's check all without another.
    assert hops == ["_run"]
    assert ended == [("commit", answer.json()["thread"])]


def test_a_write_commits_at_the_sessions_end_after_the_endpoint(
        toy_database: sa.Engine, hops: list[str]) -> None:
    router = _router()
    in_one_hop(router)
    ended = _ends(toy_database)
    with TestClient(_toy(router)) as client:
        hops.clear()
        first = client.post("/notes", params={"text": "开会"})
        assert first.status_code == 201 and first.json()["rows"] == 1
        assert hops == ["_run", "_end"]  # the commit where it was: after the route's answer
        assert [kind for kind, _ in ended] == ["commit"]
        assert client.get("/notes").json()["rows"] == 1  # stored


def test_a_read_that_fails_is_rolled_back_in_its_thread_and_answered_as_before(
        toy_database: sa.Engine, hops: list[str]) -> None:
    router = _router()
    in_one_hop(router)
    ended = _ends(toy_database)
    with TestClient(_toy(router), raise_server_exceptions=False) as client:
        hops.clear()
        assert client.get("/broken").status_code == 500
        assert hops == ["_run"]
        assert [kind for kind, _ in ended] == ["rollback"]
        # An answer that breaks its model is still refused (checked on the event loop).
        assert client.get("/wrong").status_code == 500
        assert client.get("/notes").status_code == 200


def test_the_endpoints_error_is_answered_even_if_its_rollback_fails(
        toy_database: sa.Engine, hops: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    router = _router()
    in_one_hop(router)
    app = _toy(router)

    @app.exception_handler(LookupError)
    async def not_found(_request: Request, _error: Exception) -> JSONResponse:
        return JSONResponse({"detail": "nothing here"}, status_code=404)

    real = Session.rollback
    failures = []

    def rollback_failing_once(self: Session) -> None:
        if not failures:
            failures.append(self)
            raise sa.exc.OperationalError("ROLLBACK", {}, Exception("the database went"))
        real(self)

    monkeypatch.setattr(Session, "rollback", rollback_failing_once)
    with TestClient(app, raise_server_exceptions=False) as client:
        hops.clear()
        answer = client.get("/broken")
    assert answer.status_code == 404 and answer.json() == {"detail": "nothing here"}
    # Tried again at the session's end (a hop), which then closes it.
    assert len(failures) == 1 and hops == ["_run", "_end"]


class _Base(DeclarativeBase):
    pass


class _Branch(_Base):
    __tablename__ = "toy_branch"
    id: Mapped[int] = mapped_column(primary_key=True)
    members: Mapped[list[_Member]] = relationship(lazy="select")


class _Member(_Base):
    __tablename__ = "toy_member"
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("toy_branch.id"))
    name: Mapped[str]


class _MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str


class _BranchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    members: list[_MemberOut]


def test_an_answer_that_loads_more_after_the_read_ended_still_gets_it(
        toy_database: sa.Engine, hops: list[str]) -> None:
    """The read's transaction ends in the endpoint's thread, but the session stays open: a
    relationship the answer's check loads later begins a new one, committed at the end."""
    _Base.metadata.create_all(toy_database)
    with toy_database.begin() as connection:
        connection.execute(sa.insert(_Branch.__table__), [{"id": 1}])
        connection.execute(sa.insert(_Member.__table__),
                           [{"branch_id": 1, "name": "王芳"}, {"branch_id": 1, "name": "李强"}])
    router = APIRouter()

    @router.get("/branches/{branch_id}", response_model=_BranchOut)
    def branch(session: SessionDep, branch_id: int) -> _Branch:
        found = session.get(_Branch, branch_id)
        assert found is not None
        return found  # its members not loaded yet

    in_one_hop(router)
    ended = _ends(toy_database)
    with TestClient(_toy(router)) as client:
        hops.clear()
        answer = client.get("/branches/1")
    assert answer.status_code == 200
    assert answer.json() == {"id": 1, "members": [{"name": "王芳"}, {"name": "李强"}]}
    assert hops == ["_run", "_end"] and [kind for kind, _ in ended] == ["commit", "commit"]


def test_one_hop_keeps_the_signature_and_leaves_coroutines_alone(toy_database: sa.Engine
                                                                ) -> None:
    router = _router()
    plain = _toy(_router()).openapi()
    assert in_one_hop(router) == 4
    assert in_one_hop(router) == 0  # a second call changes nothing
    assert _toy(router).openapi()["paths"] == plain["paths"]

    async def already() -> None:
        return None

    def generator() -> Iterator[int]:
        yield 1

    assert one_hop(already) is already and one_hop(generator) is generator
