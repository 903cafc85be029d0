"""The request's session (app.db.get_session): committed before the answer when the handler
returns, rolled back when it raises, and its connection always back in the pool."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from sqlmodel import col

import app.db
from app.db import SessionDep, make_engine
from app.migrate import upgrade
from app.models import Org


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'session.db'}"
    upgrade(url)
    engine = make_engine(url)
    monkeypatch.setattr(app.db, "get_engine", lambda: engine)
    yield engine
    engine.dispose()


def orgs(engine: sa.Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(sa.select(col(Org.name)).order_by(col(Org.name))).scalars())


def test_committed_on_return_rolled_back_on_raise_and_connection_returned(
        engine: sa.Engine) -> None:
    web = FastAPI()

    @web.post("/add/{name}")
    def add(name: str, session: SessionDep) -> dict[str, str]:
        session.add(Org(name=name, kind="committee", path="/", created_at=datetime.now(UTC)))
        session.flush()  # written, not yet committed
        if name.startswith("bad"):
            raise HTTPException(409, "refused after writing")
        return {"added": name}

    @web.get("/count")
    def count(session: SessionDep) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(Org)) or 0

    with TestClient(web) as client:
        assert client.post("/add/first").status_code == 200
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert client.post("/add/bad-one").status_code == 409
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert client.post("/add/second").status_code == 200
        assert client.get("/count").json() == 2
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert orgs(engine) == ["first", "second"]


def test_a_session_ended_early_or_never_used_is_closed_without_losing_anything(
        engine: sa.Engine) -> None:
    """An endpoint may end its transaction itself (a kept page does, in its own thread);
    one may never touch the database. Both give the connection back, and a change left
    pending after an early commit is still committed."""
    web = FastAPI()

    @web.post("/early/{name}")
    def early(name: str, session: SessionDep) -> dict[str, str]:
        session.add(Org(name=name, kind="committee", path="/", created_at=datetime.now(UTC)))
        session.commit()
        if name.endswith("-and-more"):  # a second change after the early commit
            session.add(Org(name=f"{name}-2", kind="committee", path="/",
                            created_at=datetime.now(UTC)))
        return {"added": name}

    @web.get("/untouched")
    def untouched(session: SessionDep) -> str:
        return "no query"

    with TestClient(web) as client:
        assert client.post("/early/kept").status_code == 200
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert client.post("/early/x-and-more").status_code == 200
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert client.get("/untouched").json() == "no query"
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert orgs(engine) == ["kept", "x-and-more", "x-and-more-2"]
