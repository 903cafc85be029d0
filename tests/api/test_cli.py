"""The jifen command on a database file of its own."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app import db, settings
from app.cli import main
from app.models import Account, AuditLog
from app.security import verify_password


@pytest.fixture
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("JIFEN_DATABASE_URL", url)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    yield url
    db.get_engine().dispose()
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_migrate_then_create_admin(own_database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["create-admin", "--username", "root", "--password", "long-enough-1"]) == 0
    engine = sa.create_engine(own_database)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "root")).one()
        assert account.is_admin and verify_password("long-enough-1", account.password_hash)
        audit = session.exec(select(AuditLog.action)).all()
    engine.dispose()
    assert audit == ["account.create_admin"]


def test_create_admin_refuses_a_taken_name_and_a_short_password(
    own_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-admin", "--username", "root", "--password", "short"]) == 2
    assert "8 characters" in capsys.readouterr().err
    assert main(["create-admin", "--username", "root", "--password", "long-enough-1"]) == 0
    assert main(["create-admin", "--username", "root", "--password", "long-enough-2"]) == 1
    assert "taken" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _hash_of(url: str, username: str) -> str:
    engine = sa.create_engine(url)
    with Session(engine) as session:
        found = session.exec(select(Account.password_hash)
                             .where(Account.username == username)).one()
    engine.dispose()
    return found


def test_the_password_comes_from_stdin_or_the_terminal_not_the_command_line(
    own_database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Piped: the first line (a deploy script's secret store).
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-secret-1\nignored\n"))
    assert main(["create-admin", "--username", "root"]) == 0
    assert verify_password("piped-secret-1", _hash_of(own_database, "root"))
    # Nothing piped: refused, nothing changed.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["set-password", "--username", "root"]) == 2
    assert "no password given" in capsys.readouterr().err
    # At a terminal: typed twice, not echoed; two that differ change nothing.
    monkeypatch.setattr("sys.stdin", _Terminal())
    typed = iter(["typed-secret-2", "typed-secret-3"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    assert main(["set-password", "--username", "root"]) == 2
    assert "differ" in capsys.readouterr().err
    assert verify_password("piped-secret-1", _hash_of(own_database, "root"))
    typed = iter(["typed-secret-2", "typed-secret-2"])
    assert main(["set-password", "--username", "root"]) == 0
    assert verify_password("typed-secret-2", _hash_of(own_database, "root"))


def test_set_password_lets_a_locked_out_administrator_back_in(
    own_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["create-admin", "--username", "root", "--password", "long-enough-1"]) == 0
    assert main(["set-password", "--username", "root", "--password", "aaaaaaaa"]) == 1
    assert "one character repeated" in capsys.readouterr().err
    assert main(["set-password", "--username", "nobody", "--password", "another-one-2"]) == 1
    assert "no account 'nobody'" in capsys.readouterr().err
    assert main(["set-password", "--username", "root", "--password", "another-one-2"]) == 0
    engine = sa.create_engine(own_database)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == "root")).one()
        assert verify_password("another-one-2", account.password_hash)
        audit = session.exec(select(AuditLog.action, AuditLog.after)).all()
    engine.dispose()
    assert audit[-1] == ("account.password_set", '{"password": "set"}')


@pytest.mark.parametrize("workers", [1, 3])
def test_serve_migrates_then_runs_uvicorn_with_the_apps_logging(
    own_database: str, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Several workers count their requests in files that /metrics sums (app/ops.py)."""
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    # Empty counts as unset; monkeypatch puts back what was there after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    assert main(["serve", "--workers", str(workers)]) == 0
    [call] = calls
    assert call["app"] == "app.main:app" and call["workers"] == workers
    assert call["log_config"] is None  # the app's log lines, not uvicorn's
    engine = sa.create_engine(own_database)
    with engine.connect() as connection:  # migrated before serving
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if workers == 1:
        assert not shared
    else:
        assert shared and Path(shared).is_dir()
