"""The failover drill's parts that need no cluster (deploy/): its database URL and password
file, the ACL of its state folder, its reading of nginx's log, what it prints when it could
not start or another drill runs in its folder, its limits. Run everywhere; the drill itself
only with JIFEN_DRILL=1 (test_drill.py)."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db import CONNECT_TIMEOUT
from deploy import nginx_log
from deploy.cluster import (
    ACL_ATTRIBUTE,
    ACL_GROUP_OBJ,
    ACL_MASK,
    ACL_OTHER,
    ACL_USER,
    ACL_USER_OBJ,
    MARKER,
    ClusterError,
    State,
    acl_entries,
    passfile_line,
    running,
    sql_literal,
    traverse_only_acl,
)
from deploy.drill import (
    FULL,
    QUICK,
    READYZ_MARGIN_S,
    URL_RESERVED,
    account_names,
    could_not_run,
    database_url,
    generated_password,
    main,
    readyz_limit_s,
    shown_url,
    summary,
)
from tests.drill.support import passfile_fields


def test_the_database_url_carries_any_password_quoted_and_both_hosts() -> None:
    password = generated_password(URL_RESERVED)
    assert password.endswith("@:/%?#&+ '\\") and len(password) > 40
    assert generated_password() != generated_password()
    url = database_url("jifen", password, [("127.0.0.1", 55601), ("127.0.0.1", 55602)],
                       "jifen")
    parsed = sa.make_url(url)
    assert parsed.password == password and parsed.username == "jifen"
    assert parsed.database == "jifen"
    assert parsed.query == {"host": ("127.0.0.1:55601", "127.0.0.1:55602"),
                            "target_session_attrs": "read-write"}
    # What libpq is given: the password whole, for every host in order.
    engine = sa.create_engine(url)
    try:
        _, given = engine.dialect.create_connect_args(engine.url)
    finally:
        engine.dispose()
    assert given["password"] == password and given["port"] == "55601,55602"
    shown = shown_url(url)
    assert "***" in shown and password[:20] not in shown and "55602" in shown


def test_the_password_file_escapes_what_libpq_would_split_on() -> None:
    line = passfile_line("jifen", "a:b\\c d'e")
    assert line == "127.0.0.1:*:*:jifen:a\\:b\\\\c d'e\n"
    assert passfile_fields(line.rstrip("\n")) == ["127.0.0.1", "*", "*", "jifen", "a:b\\c d'e"]
    with pytest.raises(ValueError):
        passfile_line("jifen", "two\nlines")
    assert sql_literal("it's") == "'it''s'"


def test_the_state_folder_acl_lets_named_users_through_and_nothing_else(
        tmp_path: Path) -> None:
    data = traverse_only_acl([1001, 33, 1001])
    assert acl_entries(data) == [
        (ACL_USER_OBJ, 0o7, 0xFFFFFFFF), (ACL_USER, 0o1, 33), (ACL_USER, 0o1, 1001),
        (ACL_GROUP_OBJ, 0, 0xFFFFFFFF), (ACL_MASK, 0o1, 0xFFFFFFFF), (ACL_OTHER, 0, 0xFFFFFFFF)]
    with pytest.raises(ValueError):
        acl_entries(b"\x01\x00\x00\x00")
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    try:
        os.setxattr(folder, ACL_ATTRIBUTE, data)
    except OSError as error:
        pytest.skip(f"no POSIX ACLs here: {error}")
    # The kernel took it as it is (its entries valid, in order): the mask shows as the
    # group's bits, nothing for anyone else.
    assert stat.S_IMODE(folder.stat().st_mode) == 0o710
    assert acl_entries(os.getxattr(folder, ACL_ATTRIBUTE)) == acl_entries(data)


# Lines as the drill's nginx writes them (log_format drill), around a kill at 1000.000.
LOG = """\
999.100 200 "GET /api/v1/members/3/score HTTP/1.1" 0.004 "127.0.0.1:55611" "200" "312" "-"
1000.210 502 "POST /api/v1/photos HTTP/1.1" 0.900 "127.0.0.1:55611" "502" "2410583" "k-cut"
1000.050 200 "GET /me HTTP/1.1" 0.300 "127.0.0.1:55611, 127.0.0.1:55612" "502, 200" \
"402, 398" "-"
1000.400 201 "POST /api/v1/entries HTTP/1.1" 0.010 "127.0.0.1:55611, 127.0.0.1:55612" \
"502, 201" "0, 800" "k-refused"
1000.500 201 "POST /api/v1/photos HTTP/1.1" 0.200 "127.0.0.1:55611, 127.0.0.1:55612" \
"502, 201" "500, 2400000" "k-late"
1000.600 503 "GET /readyz HTTP/1.1" 0.900 "127.0.0.1:55611" "503" "200" "-"
1000.700 502 "GET /me HTTP/1.1" 0.001 "jifen" "502" "0" "-"
not a line of ours
"""


def test_nginx_log_names_the_requests_a_kill_cut_off_in_flight() -> None:
    lines = nginx_log.parse(LOG.replace("\\\n", ""))
    assert len(lines) == 7
    photo = lines[1]
    assert (photo.method, photo.path, photo.status, photo.key) == (
        "POST", "/api/v1/photos", 502, "k-cut")
    assert photo.began == pytest.approx(999.31)
    assert photo.tries == (nginx_log.Try("127.0.0.1:55611", "502", 2410583),)
    server = "127.0.0.1:55611"
    cut = nginx_log.cut_off(lines, server, killed_at=1000.0)
    # The photo and the GET it had in flight; not a request ended before the kill, nor one
    # refused after it (nothing sent), nor one begun after it (a dead keepalive connection),
    # nor an answer of the server's own (its 503), nor nginx's when no server was left.
    assert [(line.method, line.path, line.key) for line in cut] == [
        ("POST", "/api/v1/photos", "k-cut"), ("GET", "/me", None)]
    assert [nginx_log.passed_on(line, server) for line in cut] == [False, True]
    assert nginx_log.cut_off(lines, server, killed_at=900.0) == []


def test_a_drill_that_could_not_start_says_so_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = tmp_path / "result.json"
    error = ClusterError("initdb exited with 1:\nFATAL: something\nmore")
    assert could_not_run(error, QUICK, None, result) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (f"drill: could not run: initdb exited with 1: (all of it in "
                                 f"{result})\n")
    assert stat.S_IMODE(result.stat().st_mode) == 0o600
    assert "FATAL: something" in result.read_text()
    # A run that ended early prints what it has, never a None for what it did not reach.
    early = summary({"drill": "quick", "ok": False, "duration_s": 12.5, "checks": {},
                     "error": "nginx did not write its pid file"})
    assert "None" not in early and "nginx did not write its pid file" in early


def test_readyz_may_take_the_apps_connect_timeout_per_database_host() -> None:
    """The limit follows app/db.py: libpq waits CONNECT_TIMEOUT for each host in turn."""
    two = database_url("jifen", "pw", [("127.0.0.1", 55601), ("127.0.0.1", 55602)], "jifen")
    three = database_url("jifen", "pw", [("127.0.0.1", p) for p in (1, 2, 3)], "jifen")
    assert readyz_limit_s(two) == 2 * CONNECT_TIMEOUT + READYZ_MARGIN_S
    assert readyz_limit_s(three) == 3 * CONNECT_TIMEOUT + READYZ_MARGIN_S
    assert readyz_limit_s("postgresql+psycopg://jifen:pw@db1:5432/jifen") == \
        CONNECT_TIMEOUT + READYZ_MARGIN_S


def test_the_accounts_a_run_makes_are_named_for_who_logs_in() -> None:
    assert account_names(QUICK) == ("drill_admin (administrator), sec_a, sec_b (committees), "
                                    "m_a1 to m_a3, m_b1 to m_b3 (members)")
    assert "m_b1 to m_b6 (members)" in account_names(FULL)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process standing for one a drill started (`sleep`)."""
    process = subprocess.Popen(["sleep", "120"])
    yield process
    process.kill()
    process.wait()


def drill_folder(tmp_path: Path) -> State:
    """A state folder as a run leaves it: the drill's marker, its pids folder."""
    state = State(tmp_path / "state")
    state.root.mkdir(mode=0o700)
    state.pids.mkdir(mode=0o700)
    (state.root / MARKER).write_text("made by deploy/drill\n")
    return state


@pytest.mark.parametrize("what", ["a process it started", "the drill, still setting up"])
def test_a_second_run_refuses_while_a_drill_runs_in_its_folder(
        what: str, tmp_path: Path, sleeper: subprocess.Popen[bytes],
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """It would stop everything there first: the other drill, killed silently. Exit 2, one
    line naming the pids and how to stop it; nothing stopped, nothing deleted."""
    state = drill_folder(tmp_path)

    def prepare(*_: object, **__: object) -> None:
        raise AssertionError("the folder emptied: the other drill's processes stopped")

    monkeypatch.setattr(State, "prepare", prepare)
    if what == "a process it started":
        state.remember("nginx", sleeper.pid, "nginx")
    else:
        state.claim(sleeper.pid)
    assert running(state) == [sleeper.pid]
    before = sorted(str(p) for p in state.root.rglob("*"))
    assert main(["run", "--quick", "--state", str(state.root)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"drill: error: a drill is running in {state.root} (pids {sleeper.pid}); stop it "
        f"with deploy/drill stop --state {state.root}\n")
    assert sleeper.poll() is None
    assert sorted(str(p) for p in state.root.rglob("*")) == before
    # deploy/drill's cleanup after such a refused run stops nothing that is not its own.
    assert main(["stop", "--state", str(state.root), "--quiet", "--run", "1"]) == 0
    assert sleeper.poll() is None
    # `stop` ends it: the drill itself with a TERM (it stops what it started), the rest too.
    assert main(["stop", "--state", str(state.root), "--quiet"]) == 0
    assert sleeper.wait(timeout=30) != 0
    assert running(state) == []
