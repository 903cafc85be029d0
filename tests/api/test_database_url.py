"""The database URL of the production shape (issue 19, docs/deployment.md): every PostgreSQL
server listed in one URL, the app connecting to whichever accepts writes, and a server that
does not answer failing a connection in seconds, so a request (and /readyz) is answered 503
instead of hanging."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app import ops
from app.db import CONNECT_TIMEOUT, make_engine

MULTI_HOST = ("postgresql+psycopg://jifen@/jifen?host=10.0.0.1:5432&host=10.0.0.2:5433"
              "&target_session_attrs=read-write")


def test_a_multi_host_url_names_every_server_for_libpq() -> None:
    engine = make_engine(MULTI_HOST)
    _, params = engine.dialect.create_connect_args(engine.url)
    assert params["host"] == "10.0.0.1,10.0.0.2" and params["port"] == "5432,5433"
    assert params["target_session_attrs"] == "read-write" and params["dbname"] == "jifen"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes connections and never answers (a server hung, a machine gone
    behind a firewall that still completes the handshake)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def _seconds_to_fail(url: str) -> float:
    engine = make_engine(url)
    began = time.monotonic()
    failed = threading.Event()

    def connect() -> None:
        try:
            with engine.connect():
                pass
        except sa.exc.OperationalError:
            failed.set()

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert failed.is_set(), "the connection neither failed nor succeeded in 20 s"
    engine.dispose()
    return time.monotonic() - began


def test_a_server_that_does_not_answer_fails_the_connection_in_seconds(
        silent_server: int) -> None:
    seconds = _seconds_to_fail(f"postgresql+psycopg://jifen@127.0.0.1:{silent_server}/jifen")
    assert CONNECT_TIMEOUT - 0.5 <= seconds < CONNECT_TIMEOUT + 3


def test_the_urls_own_connect_timeout_wins(silent_server: int) -> None:
    url = f"postgresql+psycopg://jifen@127.0.0.1:{silent_server}/jifen?connect_timeout=2"
    assert make_engine(url).dialect.create_connect_args(sa.make_url(url))[1][
        "connect_timeout"] == "2"
    assert 1.5 <= _seconds_to_fail(url) < CONNECT_TIMEOUT


def test_readiness_says_so_quickly_when_no_server_answers(silent_server: int) -> None:
    engine = make_engine(f"postgresql+psycopg://jifen@127.0.0.1:{silent_server}/jifen")
    began = time.monotonic()
    with Session(engine) as session:
        ready, detail = ops.readiness(session)
    engine.dispose()
    assert not ready and "does not answer" in detail
    assert time.monotonic() - began < CONNECT_TIMEOUT + 3


@pytest.mark.skipif(not os.environ.get("JIFEN_TEST_DATABASE_URL"),
                    reason="needs the PostgreSQL server of JIFEN_TEST_DATABASE_URL")
def test_a_server_that_only_reads_is_not_taken_for_the_primary() -> None:
    """target_session_attrs=read-write: a standby (here a server whose sessions are read-only)
    is skipped, so with no primary the app is not ready, rather than failing at its writes."""
    base = sa.make_url(os.environ["JIFEN_TEST_DATABASE_URL"])
    standby = base.update_query_dict({"options": "-c default_transaction_read_only=on",
                                      "target_session_attrs": "read-write"})
    engine = make_engine(standby.render_as_string(hide_password=False))
    with Session(engine) as session:
        ready, detail = ops.readiness(session)
    engine.dispose()
    assert not ready and "OperationalError" in detail
    primary = make_engine(base.update_query_dict({"target_session_attrs": "read-write"})
                          .render_as_string(hide_password=False))
    with primary.connect() as connection:
        assert connection.execute(sa.text("SHOW transaction_read_only")).scalar() == "off"
    primary.dispose()


def test_a_database_error_does_not_show_the_values_it_was_sent(tmp_path: Path) -> None:
    """The app's errors go to its logs: a failed statement names itself, not the values
    (a member's name, a key's digest) it carried."""
    url = os.environ.get("JIFEN_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'probe.db'}"
    engine = make_engine(url)
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.DBAPIError) as failed:
            connection.execute(sa.text("SELECT v FROM no_such_table WHERE v = :v"),
                               {"v": "王秀英-13800138000"})
    finally:
        engine.dispose()
    assert "SELECT v FROM no_such_table" in str(failed.value)
    assert "13800138000" not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
