"""The failover drill in its quick mode (issue 19, docs/deployment.md): deploy/drill --quick
starts nginx, two app servers over one photo volume and a PostgreSQL primary with its
synchronous standby on loopback, runs a mixed load through an app server killed, the primary
killed and its standby promoted, and the photo volume full, then checks every write. Here
its JSON result is held to what the issue asks, and nothing it started may be left behind,
after a run, after an interrupted one and after one that could not start; a second drill
on its folder is refused while it runs. Its state folder is root's alone, its logs and
result 0600, and its PostgreSQL passwords are nowhere but in their file: not in its output,
its logs, its result, nor on a command line while it runs.

Slow (a quick drill takes 70 s on a quiet machine, up to 3 minutes on a busy one) and it
needs root (apt, mount, PostgreSQL as the postgres user): only with JIFEN_DRILL=1.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.db import CONNECT_TIMEOUT
from deploy.cluster import (
    ACL_ATTRIBUTE,
    ACL_GROUP_OBJ,
    ACL_OTHER,
    ACL_USER,
    Ports,
    acl_entries,
)
from deploy.drill import QUICK, READYZ_MARGIN_S
from tests.drill.support import passwords

ROOT = Path(__file__).resolve().parents[2]
DRILL = ROOT / "deploy" / "drill"
# Not under pytest's 0700 temporary folder: the postgres user must reach its data.
STATE = Path("/tmp/jifen-drill-pytest")

pytestmark = [
    pytest.mark.drill,
    pytest.mark.xdist_group("drill"),
    pytest.mark.skipif(os.environ.get("JIFEN_DRILL") != "1",
                       reason="the failover drill runs only with JIFEN_DRILL=1"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the drill needs root"),
]


def left_behind(state: Path) -> list[str]:
    """What a run could have left: mounts under its folder, its ports taken, a PostgreSQL
    of its folder still running."""
    found = []
    root = str(state.resolve())
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        if line.split()[4].startswith(root + "/"):
            found.append(f"mount {line.split()[4]}")
    for port in Ports().all():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                found.append(f"port {port}")
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if root in text and "pytest" not in text:
            found.append(f"process {cmdline.parent.name}: {text[:120]}")
    return found


def command_lines_holding(secrets: list[str]) -> list[str]:
    """Processes whose command line (what `ps` shows anyone) holds one of `secrets`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if any(secret in text for secret in secrets):
                found.append(f"{cmdline.parent.name}: {text[:200]}")
    return found


def files_holding(root: Path, secrets: list[str], but: tuple[Path, ...] = ()) -> list[str]:
    """Files under `root` (not those of `but`) that hold one of `secrets`."""
    wanted = [secret.encode() for secret in secrets]
    found = []
    for path in root.rglob("*"):
        if path in but or path.is_symlink() or not path.is_file():
            continue
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if any(secret in data for secret in wanted):
                found.append(str(path))
    return found


def assert_private(state: Path, result_file: Path) -> None:
    """The state folder root's alone, except that the PostgreSQL and nginx users may pass
    through it (an ACL: list or read it, they may not); nothing in it open to anyone else;
    nothing readable by a group but the page nginx's workers serve; logs and result 0600."""
    info = state.stat()
    assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o710, oct(info.st_mode)
    entries = acl_entries(os.getxattr(state, ACL_ATTRIBUTE))
    assert {uid: perms for tag, perms, uid in entries if tag == ACL_USER} == {
        pwd.getpwnam("postgres").pw_uid: 0o1, pwd.getpwnam("www-data").pw_uid: 0o1}
    assert [perms for tag, perms, _ in entries if tag in (ACL_GROUP_OBJ, ACL_OTHER)] == [0, 0]
    every = [p for p in state.rglob("*") if not p.is_symlink()]
    assert [str(p) for p in every if p.lstat().st_mode & 0o007] == []
    assert [str(p) for p in every if p.is_file() and p.lstat().st_mode & 0o040] == [
        str(state / "nginx" / "html" / "unavailable.html")]
    logs = [*state.glob("logs/*.log"), *state.glob("nginx/*.log"), *state.glob("pg/*/server.log"),
            state / "pg" / "pgpass", result_file]
    assert len(logs) >= 7
    assert {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in logs} == {
        str(p): "0o600" for p in logs}
    assert (state / "pg" / "pgpass").stat().st_uid == pwd.getpwnam("postgres").pw_uid


def test_the_quick_drill_loses_nothing_and_recovers_from_each_fault(tmp_path: Path) -> None:
    result_file = tmp_path / "result.json"
    began = time.monotonic()
    # Watched while it runs: no PostgreSQL password on any command line.
    drill = subprocess.Popen([str(DRILL), "--quick", "--state", str(STATE), "--result",
                              str(result_file)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        passfile, accounts = STATE / "pg" / "pgpass", STATE / "accounts"
        secrets: list[str] = []
        on_command_lines: list[str] = []
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(drill.communicate()))
        reader.start()
        while reader.is_alive() and time.monotonic() - began < 900:
            if not secrets and passfile.exists() and accounts.exists():
                with contextlib.suppress(OSError, IndexError):
                    secrets = [secret[:20] for secret in passwords(passfile).values()]
                    # The app accounts' password, generated per run too.
                    secrets.append(accounts.read_text().split(": ", 1)[1].strip())
            on_command_lines += command_lines_holding(secrets) if secrets else []
            reader.join(0.25)
    finally:
        if drill.poll() is None:
            drill.kill()
    reader.join(60)
    stdout, stderr = output
    wall = time.monotonic() - began
    print(stdout[-4000:], stderr[-2000:])
    result: dict[str, Any] = json.loads(result_file.read_text())
    assert drill.returncode == 0 and result["ok"], \
        [name for name, ok in result.get("checks", {}).items() if not ok] or result.get("error")
    failed = [name for name, ok in result["checks"].items() if not ok]
    assert not failed
    writes = result["writes"]
    assert writes["acknowledged"] > 100
    assert writes["lost"] == 0 and writes["twice"] == 0 and writes["unanswered"] == 0
    assert writes["refused"] == 0, writes["refused_by_kind"]
    assert set(writes["acknowledged_by_kind"]) == {"photo", "entry", "approve"}
    assert result["jifen_check"] == {"exit_status": 0, "problems": 0}
    # The sweep removed what the faults left on record nowhere and the photo planted before
    # it (so its deleting ran), nothing else.
    sweep = result["photo_sweep"]
    assert sweep["orphans_before"] == writes["orphan_files"] and sweep["planted"] == 1
    assert sweep["listed"] == sweep["removed"] == sweep["orphans_before"] + 1
    assert sweep["planted_left"] == []
    assert sweep["orphans_after"] == 0 and sweep["recorded_missing_after"] == 0
    faults = result["faults"]
    # a: nginx took the traffic to the other server; only requests in flight failed.
    killed = faults["app_server_killed"]
    assert killed["unavailable_s"] < 2 and killed["failed_requests"] <= 10
    # It was killed with requests in flight, which it cut off: each was then answered, by
    # the other server (nginx passed it on) or sent again with its Idempotency-Key.
    assert killed["posts_in_flight_when_killed"] >= 1
    assert killed["cut_off_in_flight"] >= 1 and killed["cut_off_unanswered"] == 0
    assert killed["cut_off_in_flight"] == (killed["cut_off_passed_on_to_b"]
                                           + killed["cut_off_sent_again_with_key_and_answered"])
    # b: 503 from /readyz of both servers at every poll from the kill's end to the
    # promotion, 200 after, no configuration changed; the app back within seconds of the
    # promotion. /readyz answers within the app's connect timeout per host and a margin.
    database = faults["database_primary_killed"]
    assert database["readyz_limit_s"] == 2 * CONNECT_TIMEOUT + READYZ_MARGIN_S
    assert database["without_primary_s"] >= QUICK.promote_after
    for server in ("a", "b"):
        readyz = database["readyz"][server]
        assert readyz["said_503_without_primary"] and readyz["said_200_after"], readyz
        assert set(readyz["statuses_without_primary"]) == {"503"}, readyz
        assert readyz["first_200_after_promotion_s"] < 5
        assert readyz["slowest_ms_without_primary"] < database["readyz_limit_s"] * 1000
    assert database["back_after_promotion_s"] is not None
    assert database["back_after_promotion_s"] < 10
    # Each claim kept while there was no primary settled after: released, or holding the
    # answer its commit left on the standby before the primary died.
    assert database["claims_kept_while_no_primary"] == (
        database["claims_released_once_promoted"] + database["claims_holding_an_answer"])
    # c: every upload refused with 507 storage_full while full, none half written, then
    # accepted again.
    full = faults["photo_volume_full"]
    assert set(full["probe_answers"]) == {"507 storage_full"}
    # Refused for the volume, stored (begun before it filled), or the retry of a key that a
    # request cut off by an earlier fault still holds (nothing written; answered later: the
    # writes' check above counts none unanswered). The drill's own check allows the same.
    assert set(full["load_uploads_while_full"]) <= {
        "507 storage_full", "201", "409 idempotency_in_progress"}
    assert full["report_page_while_full"]["clean"] and full["partial_files"] == []
    assert full["first_upload_after_freeing_s"] is not None
    assert writes["partial_files"] == 0 and writes["photos_broken"] == 0
    # d: a photo uploaded through one server is served by the other.
    assert {k: v["ok"] for k, v in result["cross_server_photo"].items()} == {
        "a->b": True, "b->a": True}
    # Both app servers down: nginx's own page, marked, to a page load and to a form's POST.
    page = result["unavailable_page"]
    assert {k: (v["status"], v["x_jifen_unavailable"], v["the_page"]) for k, v in page.items()
            } == {"GET /me": (502, "1", True), "POST /me/report": (502, "1", True)}
    # The passwords (scram-sha-256) are in their file alone.
    assert secrets and on_command_lines == []
    assert "***" in result["database_url"]
    assert not any(secret in text for secret in secrets for text in (stdout, stderr))
    assert len(secrets) == 3  # postgres's, the app role's, the app accounts'
    assert files_holding(STATE, secrets, but=(passfile, accounts)) == []
    assert files_holding(tmp_path, secrets) == []
    assert_private(STATE, result_file)
    # The quick drill takes 70 s on a quiet machine, up to 3 minutes on a busy one;
    # everything it started is gone.
    assert wall < 240, wall
    assert left_behind(STATE) == []


def test_a_drill_that_cannot_start_says_why_in_one_line_and_exits_2() -> None:
    """A port of its own taken: exit status 2 (could not run), one line naming the port, no
    report of None figures, nothing started."""
    port = Ports().app_b
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        done = subprocess.run([str(DRILL), "--quick", "--state", str(STATE)],
                              capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert output.splitlines()[-1] == (
        f"drill: could not run: port {port} (app server b) already in use on 127.0.0.1: "
        "another drill (deploy/drill stop), or another program"), output
    assert "None" not in output and "Traceback" not in output
    assert [line for line in output.splitlines() if "could not run" in line or
            line.startswith("[")] == [output.splitlines()[-1]]
    assert json.loads((STATE / "result.json").read_text())["ok"] is False
    assert left_behind(STATE) == []


def test_an_interrupted_drill_leaves_nothing_running() -> None:
    drill = subprocess.Popen([str(DRILL), "--quick", "--state", str(STATE)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    nginx = Ports().nginx
    try:
        # Until the whole shape runs (nginx answers), then interrupted in the middle.
        while time.monotonic() < deadline and drill.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", nginx)) == 0:
                    break
            time.sleep(0.2)
        assert drill.poll() is None, drill.stdout.read() if drill.stdout else ""
        # A second drill on the same folder is refused, and leaves the first running.
        second = subprocess.run([str(DRILL), "--quick", "--state", str(STATE)],
                                capture_output=True, text=True, timeout=120, check=False)
        refusal = (second.stdout + second.stderr).splitlines()
        assert second.returncode == 2 and len(refusal) == 1, refusal
        assert refusal[0].startswith(f"drill: error: a drill is running in {STATE} (pids ")
        assert refusal[0].endswith(f"); stop it with deploy/drill stop --state {STATE}")
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", nginx)) == 0
        assert drill.poll() is None
        time.sleep(2)
        drill.send_signal(signal.SIGTERM)
        output, _ = drill.communicate(timeout=120)
    finally:
        if drill.poll() is None:
            drill.kill()
    assert drill.returncode != 0, output[-2000:]
    assert left_behind(STATE) == [], output[-2000:]
    stopped = subprocess.run([str(DRILL), "stop", "--state", str(STATE)], capture_output=True,
                             text=True, timeout=120, check=False)
    assert stopped.returncode == 0 and "nothing was running" in stopped.stdout
