"""The failover drill (`deploy/drill`, docs/deployment.md): the production shape on loopback,
a steady mixed load through nginx, and three faults one after another:

  a. one app server killed (kill -9) and restarted: nginx sends the traffic to the other;
  b. the PostgreSQL primary killed, the standby promoted: the app finds it by itself (its
     multi-host URL, target_session_attrs=read-write); /readyz of each server says 503 while
     there is no primary and 200 after; the old primary is then rebuilt as the new standby;
  c. the photo volume full: uploads refused cleanly (507 `storage_full`), nothing half
     written; space freed, uploads work again;
  d. a photo uploaded through one server is served by the other (one shared volume).

Afterwards every acknowledged write is checked in the database (0 lost, 0 counted twice),
every stored photo on the volume, `jifen check` on the promoted database, the requests fault
a cut off (at least one, each answered in the end), and nginx's own page with both app
servers down. One summary is printed and a JSON result written (0600, as the logs); the exit
status is 1 if any check failed, 2 (and one line saying why) if the drill could not start.

    deploy/drill [--quick] [--state DIR] [--result FILE] [--keep]
    deploy/drill stop [--state DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

import httpx2 as httpx
import sqlalchemy as sa

from app.db import CONNECT_TIMEOUT
from deploy import nginx_log
from deploy.cluster import (
    UNAVAILABLE_PAGE,
    VENV_BIN,
    AppServer,
    ClusterError,
    Nginx,
    PgNode,
    Ports,
    State,
    Volume,
    port_busy,
    private_file,
    run,
    running,
    sql_literal,
    state_folder,
    stop_all,
    write_passfile,
    write_private,
)
from deploy.load import (
    FAILED,
    IN_PROGRESS,
    Attempt,
    Load,
    Person,
    Recorder,
    Write,
    small_photos,
)

DEFAULT_STATE = Path("/tmp/jifen-drill")
ADMIN = "drill_admin"
BRANCHES = ("a", "b")
APP_ROLE = "jifen"  # the app's PostgreSQL role: the database's owner, not a superuser
# Put in the app role's password on purpose: characters a URL must quote, so that the
# drill's multi-host URL shows they are (a password an operator generates may hold any).
URL_RESERVED = "@:/%?#&+ '\\"


def generated_password(reserved: str = "") -> str:
    """A new random password (secrets), with `reserved` characters after it."""
    return secrets.token_urlsafe(24) + reserved


def database_url(user: str, password: str, hosts: list[tuple[str, int]],
                 database: str) -> str:
    """The app's multi-host URL: libpq tries the hosts in order and keeps the first that
    accepts writes. User and password URL-quoted: any character may be in them."""
    query = "".join(f"host={host}:{port}&" for host, port in hosts)
    return (f"postgresql+psycopg://{quote(user, safe='')}:{quote(password, safe='')}@/"
            f"{database}?{query}target_session_attrs=read-write")


def shown_url(url: str) -> str:
    """The URL with its password as ***: what the drill prints and records."""
    return sa.make_url(url).render_as_string(hide_password=True)


# What a loaded machine may add to /readyz's answer (seen: 2.4 s and 3.0 s on a busy one).
READYZ_MARGIN_S = 2.0


def readyz_limit_s(url: str) -> float:
    """The longest /readyz may take without a primary: libpq gives each host of the app's
    URL CONNECT_TIMEOUT seconds (app/db.py) before it tries the next, plus a margin."""
    hosts = sa.make_url(url).query.get("host", ())  # none: the one host before the path
    count = len(hosts) if isinstance(hosts, tuple) and hosts else 1
    return CONNECT_TIMEOUT * count + READYZ_MARGIN_S


@dataclass(frozen=True)
class Plan:
    """How long each step lasts and how much load runs."""

    name: str
    members_per_branch: int
    threads: int  # member threads (plus one committee thread per branch)
    think: float  # seconds each client waits between two actions, on average
    warmup: float
    app_down: float  # seconds the killed app server stays down
    promote_after: float  # seconds without a primary before the standby is promoted
    settle: float  # seconds between two faults
    full_for: float  # seconds the photo volume stays full
    volume_mb: int
    park_after: float  # seconds a client keeps sending one write before putting it aside
    # JIFEN_IDEMPOTENCY_LEASE_SECONDS: how long the key of a request whose server died stays
    # blocked (None: the app's default, 300 s). The quick drill shortens it to finish.
    lease: int | None


QUICK = Plan("quick", members_per_branch=3, threads=3, think=0.35, warmup=3, app_down=3,
             promote_after=2, settle=3, full_for=4, volume_mb=16, park_after=8, lease=10)
FULL = Plan("full", members_per_branch=6, threads=6, think=0.3, warmup=20, app_down=10,
            promote_after=5, settle=15, full_for=20, volume_mb=64, park_after=20, lease=None)
DEFAULT_LEASE = 300
# How long each takes (measured: docs/deployment.md), as the help and the header say it.
FULL_TAKES = "about 6½ minutes, 370 to 400 s: it waits out a held key's 5-minute lease"
QUICK_TAKES = "70 s on a quiet machine, up to 3 minutes on a busy one"


def committee_username(branch: str) -> str:
    """The branch secretary's account: its committee, approving its members' reports."""
    return f"sec_{branch}"


def member_usernames(plan: Plan, branch: str) -> list[str]:
    return [f"m_{branch}{n}" for n in range(1, plan.members_per_branch + 1)]


def account_names(plan: Plan) -> str:
    """The app accounts a run makes, in a few words: who one may log in as with --keep."""
    members = [f"{names[0]} to {names[-1]}" for names in
               (member_usernames(plan, branch) for branch in BRANCHES)]
    return (f"{ADMIN} (administrator), "
            f"{', '.join(committee_username(branch) for branch in BRANCHES)} (committees), "
            f"{', '.join(members)} (members)")


@dataclass
class Timeline:
    """Seconds since the drill began, and what happened when."""

    began: float = field(default_factory=time.monotonic)
    events: list[tuple[float, str]] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.began

    def say(self, text: str) -> None:
        at = self.now()
        self.events.append((round(at, 2), text))
        print(f"[{at:6.1f}s] {text}", flush=True)


# --- measuring ------------------------------------------------------------------------------


def held_keys(attempts: list[Attempt], writes: list[Write], start: float,
              end: float) -> dict[str, Any]:
    """Writes whose key a request cut off by the fault still held (their retries' first 409
    `idempotency_in_progress` in the fault's window), and how long until they were
    answered."""
    first: dict[str, float] = {}
    for attempt in attempts:
        if attempt.code == IN_PROGRESS and attempt.key is not None:
            first[attempt.key] = min(first.get(attempt.key, attempt.began), attempt.began)
    keys = {key for key, began in first.items() if start <= began < end}
    held = [w for w in writes if w.key in keys]
    waited = []
    for write in held:
        if write.acked_at is not None:
            waited.append(write.acked_at - first[write.key])
    return {"writes_held_by_a_cut_off_request": len(held),
            "held_by_kind": dict(Counter(w.kind for w in held)),
            "longest_hold_s": round(max(waited), 1) if waited else None,
            "held_unanswered": sum(1 for w in held if w.acked_at is None)}


def outage(attempts: list[Attempt], start: float, end: float) -> dict[str, Any]:
    """What the clients saw between `start` and `end`: from the first failed request (no
    answer, or 500/502/503/504) to the end of the first request begun after the last failure
    that was answered (the seconds unavailable)."""
    # Requests begun before the fault that it cut off count too (ended after it began).
    window = [a for a in attempts if a.began < end and a.ended >= start]
    failed = [a for a in window if a.status in FAILED]
    seen = {"requests": len(window), "failed_requests": len(failed),
            "failed_by_status": dict(Counter(str(a.status) for a in failed)),
            "failed_by_kind": dict(Counter(a.kind for a in failed))}
    if not failed:
        return {"unavailable_s": 0.0, "first_failure_s": None, "back_s": None, **seen}
    first = min(a.began for a in failed)
    last = max(a.began for a in failed)
    back = min((a.ended for a in attempts if a.began >= last and a.status not in FAILED),
               default=None)
    return {"unavailable_s": round((back if back is not None else end) - first, 2),
            "first_failure_s": round(first, 2),
            "back_s": round(back, 2) if back is not None else None, **seen}


@dataclass
class ReadyzPoller:
    """GET /readyz on each app server directly, every `every` seconds, in a thread."""

    servers: list[AppServer]
    clock: Timeline
    every: float = 0.2
    seen: list[tuple[float, str, int, float]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def _poll(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(15, connect=2)) as client:
            while not self.stopping.is_set():
                for server in self.servers:
                    began = self.clock.now()
                    try:
                        status = client.get(f"{server.url}/readyz").status_code
                    except httpx.TransportError:
                        status = 0
                    self.seen.append((began, server.name, status,
                                      (self.clock.now() - began) * 1000))
                self.stopping.wait(self.every)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._poll, name="readyz", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def report(self, killed: float, promoted: float) -> dict[str, Any]:
        """What each server's /readyz said between `killed` (every process of the primary
        gone) and `promoted`, and after. A poll begun in that window cannot have reached the
        old primary (its sockets closed with it) and the standby is read-only (refused by
        target_session_attrs): every one must say 503, none is let off."""
        out: dict[str, Any] = {}
        for server in self.servers:
            mine = [s for s in self.seen if s[1] == server.name]
            without = [s for s in mine if killed <= s[0] < promoted]
            after = [s for s in mine if s[0] >= promoted]
            first_200 = next((s for s in after if s[2] == 200), None)
            out[server.name] = {
                "polls_without_primary": len(without),
                "statuses_without_primary": dict(Counter(str(s[2]) for s in without)),
                "said_503_without_primary": bool(without) and all(s[2] == 503
                                                                  for s in without),
                "slowest_ms_without_primary": round(max((s[3] for s in without), default=0), 1),
                "first_200_after_promotion_s": round(first_200[0] - promoted, 2)
                if first_200 else None,
                "said_200_after": first_200 is not None and all(
                    s[2] == 200 for s in after if s[0] >= first_200[0]),
            }
        return out


# --- the drill ------------------------------------------------------------------------------


class Drill:
    def __init__(self, state: State, plan: Plan, ports: Ports, keep: bool = False) -> None:
        self.state = state
        self.plan = plan
        self.ports = ports
        self.keep = keep
        self.clock = Timeline()
        self.run_id = uuid.uuid4().hex[:8]
        self.secret = secrets.token_urlsafe(48)
        self.pg = {"a": PgNode(state, "a", ports.pg_a), "b": PgNode(state, "b", ports.pg_b)}
        self.volume = Volume(state, plan.volume_mb)
        # PostgreSQL's superuser (the drill's psql, replication) and the app's role: each its
        # own password, in STATE/pg/pgpass (0600), to the app servers in their environment.
        self.passwords = {"postgres": generated_password(),
                          APP_ROLE: generated_password(URL_RESERVED)}
        # The app's accounts (its administrator, the members and committees of the load):
        # one password per run, in STATE/accounts (0600) for whoever looks in with --keep.
        self.account_password = secrets.token_urlsafe(16)
        # Every PostgreSQL server, in order; libpq takes the first that accepts writes.
        self.url = database_url(APP_ROLE, self.passwords[APP_ROLE],
                                [("127.0.0.1", ports.pg_a), ("127.0.0.1", ports.pg_b)], "jifen")
        self.killed_app_at = 0.0  # when fault a killed server a (epoch: nginx's log's clock)
        self.started = datetime.now(UTC)
        self.apps = {name: AppServer(state, name, port, self._app_env(name))
                     for name, port in (("a", ports.app_a), ("b", ports.app_b))}
        self.nginx = Nginx(state, ports)
        self.recorder = Recorder(self.clock.now)
        self.people: list[Person] = []
        self.committees: dict[str, Person] = {}
        self.load: Load | None = None
        self.big_photo = small_photos(1, seed=5, size=(4000, 3000))[0]  # a phone's 12 MP
        self.checks: dict[str, bool] = {}
        self.windows: dict[str, tuple[float, float]] = {}

    def _app_env(self, name: str) -> dict[str, str]:
        env = {"JIFEN_ENV": "production", "JIFEN_SECRET_KEY": self.secret,
               "JIFEN_DATABASE_URL": self.url,
               "JIFEN_UPLOAD_DIR": str(self.volume.upload_dir(name)),
               # Plain HTTP on loopback: a real deployment ends TLS in front (Secure cookie).
               "JIFEN_COOKIE_SECURE": "false", "JIFEN_LOG_FORMAT": "json",
               "JIFEN_DB_POOL_SIZE": "5", "JIFEN_DB_MAX_OVERFLOW": "5",
               "JIFEN_PUBLIC_URL": f"http://127.0.0.1:{self.ports.nginx}"}
        if self.plan.lease is not None:
            env["JIFEN_IDEMPOTENCY_LEASE_SECONDS"] = str(self.plan.lease)
        return env

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks[name] = bool(ok)
        if not ok:
            self.clock.say(f"CHECK FAILED: {name} {detail}".rstrip())
        return ok

    def jifen(self, *args: str, check: bool = True, input: str | None = None,
              ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self._app_env("a")}
        return run([str(VENV_BIN / "jifen"), *args], cwd=self.state.root, env=env, check=check,
                   input=input)

    # --- setting up ----------------------------------------------------------------------

    def setup(self) -> dict[str, float]:
        took: dict[str, float] = {}
        names = self.ports.named()
        busy = [f"{port} ({names[port]})" for port in self.ports.all() if port_busy(port)]
        if busy:
            raise ClusterError(f"port{'s' if len(busy) > 1 else ''} {', '.join(busy)} already "
                               "in use on 127.0.0.1: another drill (deploy/drill stop), or "
                               "another program")
        began = self.clock.now()
        self.volume.mount()
        self.clock.say(f"photo volume: tmpfs of {self.plan.volume_mb} MB at "
                       f"{self.state.volume}, mounted by server a at "
                       f"{self.state.mount_point('a')} and by b at {self.state.mount_point('b')}")
        a, b = self.pg["a"], self.pg["b"]
        a.initdb(self.passwords["postgres"])
        write_passfile(self.state, self.passwords)
        a.write_node_conf()
        a.start()
        a.sql(f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD {sql_literal(self.passwords[APP_ROLE])}")
        a.sql(f"CREATE DATABASE jifen OWNER {APP_ROLE}")
        self.check_passwords_required(a)
        b.become_sync_standby_of(a)
        took["postgresql_s"] = round(self.clock.now() - began, 1)
        self.clock.say(f"PostgreSQL: primary a on {a.port}, standby b on {b.port} "
                       "(streaming, synchronous; scram-sha-256, passwords in "
                       f"{self.state.passfile})")
        began = self.clock.now()
        self.jifen("migrate")
        write_private(self.state.root / "accounts",
                      f"{account_names(self.plan)}: {self.account_password}\n")
        # The password on stdin: a command line is seen by every user (ps).
        self.jifen("create-admin", "--username", ADMIN, input=self.account_password + "\n")
        took["migrate_s"] = round(self.clock.now() - began, 1)
        began = self.clock.now()
        for server in self.apps.values():
            server.start()
        self.nginx.start()
        took["servers_s"] = round(self.clock.now() - began, 1)
        self.clock.say(f"app servers a :{self.ports.app_a}, b :{self.ports.app_b}; nginx "
                       f":{self.ports.nginx}; database URL {shown_url(self.url)}")
        began = self.clock.now()
        self.build_world()
        took["world_s"] = round(self.clock.now() - began, 1)
        self.clock.say(f"world: 2 branches, {len(self.people)} members, a secretary each "
                       "(logged in through nginx)")
        return took

    def check_passwords_required(self, node: PgNode) -> None:
        """Every rule of pg_hba.conf asks for a password (scram-sha-256), replication's
        too, and a connection without one is refused."""
        rules = node.sql("SELECT count(*) FILTER (WHERE auth_method <> 'scram-sha-256') || ' ' "
                         "|| count(*) FROM pg_hba_file_rules")
        others, total = (int(n) for n in rules.split())
        without = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        tried = run([str(node.bindir / "psql"), "-X", "-w", "-h", "127.0.0.1", "-p",
                     str(node.port), "-U", "postgres", "-d", "postgres", "-c", "SELECT 1"],
                    env={**without, "PGPASSFILE": os.devnull}, check=False, timeout=30)
        self.check("PostgreSQL asks every connection for its password (scram-sha-256, "
                   "replication too)", total > 0 and others == 0 and tried.returncode != 0
                   and "password" in tried.stderr, f"{rules}; {tried.stderr[-300:]}")

    def build_world(self) -> None:
        from bench.server import page_login

        base = self.nginx.url
        with httpx.Client(base_url=f"{base}/api/v1", timeout=60) as api:
            def token(username: str) -> str:
                answer = api.post("/auth/token", data={"username": username,
                                                       "password": self.account_password})
                answer.raise_for_status()
                return str(answer.json()["access_token"])

            admin = {"Authorization": f"Bearer {token(ADMIN)}"}

            def made(path: str, body: dict[str, Any]) -> int:
                answer = api.post(path, json=body, headers=admin)
                if answer.status_code != 201:
                    raise ClusterError(f"POST {path}: {answer.status_code} {answer.text}")
                return int(answer.json()["id"])

            party = made("/orgs", {"name": "演练镇党委", "kind": "committee"})
            for branch in BRANCHES:
                org = made("/orgs", {"name": f"演练第{branch}支部", "parent_id": party,
                                     "kind": "branch"})
                secretary = committee_username(branch)
                for username in [secretary, *member_usernames(self.plan, branch)]:
                    member = made("/members", {
                        "name": username, "org_id": org, "category": "active",
                        "joined_on": "2010-07-01", "username": username,
                        "password": self.account_password})
                    person = Person(username, member, branch, token(username))
                    if username == secretary:
                        made(f"/orgs/{org}/committee", {"member_id": member})
                        self.committees[branch] = person
                    else:
                        person.cookie = page_login(base, username, self.account_password)
                        self.people.append(person)

    # --- the faults ----------------------------------------------------------------------

    def fault_app_server(self) -> dict[str, Any]:
        server = self.apps["a"]
        burst, in_flight = self._burst_until_in_flight(server)
        killed = self.clock.now()
        self.killed_app_at = time.time()
        server.kill9()
        self.clock.say(f"fault a: app server a killed (kill -9) with {in_flight} POST "
                       "request(s) in flight on it (photo uploads)")
        time.sleep(self.plan.app_down)
        restarted = self.clock.now()
        startup = server.start()
        self.clock.say(f"fault a: app server a restarted (answered /healthz after "
                       f"{startup:.1f} s)")
        time.sleep(self.plan.settle)
        end = self.clock.now()
        for thread in burst:
            thread.join(timeout=self.plan.park_after + 30)
        result = outage(self.recorder.attempts, killed, end)
        self.windows["app_server_killed"] = (killed, end)
        result |= {"down_s": round(restarted - killed, 2), "restart_s": round(startup, 2),
                   "nginx_passed_on": self._nginx_passed_on(),
                   "posts_in_flight_when_killed": in_flight}
        return result

    def _burst_until_in_flight(self, server: AppServer,
                               seconds: float = 30) -> tuple[list[threading.Thread], int]:
        """Large photo uploads through nginx until `server` has some in flight (its
        /metrics: POSTs begun, not answered), so that killing it cuts requests off, as a
        busy server's crash does; the burst's threads and how many it had (0: none in
        `seconds`, and the check of the cut-off requests then fails). Seen at three polls
        in a row: a long request (a photo), not one of the load's quick POSTs that would be
        over before the kill."""
        threads: list[threading.Thread] = []
        deadline = time.monotonic() + seconds
        seen = 0
        with httpx.Client(timeout=httpx.Timeout(5, connect=2)) as client:
            while time.monotonic() < deadline:
                if not any(thread.is_alive() for thread in threads):
                    threads += self._burst()
                posts = self._posts_in_progress(client, server)
                seen = seen + 1 if posts else 0
                if seen >= 3:
                    return threads, posts
                time.sleep(0.02)
        return threads, 0

    @staticmethod
    def _posts_in_progress(client: httpx.Client, server: AppServer) -> int:
        try:
            text = client.get(f"{server.url}/metrics").text
        except httpx.HTTPError:
            return 0
        found = re.search(r'^jifen_http_requests_in_progress\{method="POST"\} (\S+)$', text,
                          re.MULTILINE)
        return int(float(found.group(1))) if found else 0

    def cut_off_by_fault_a(self) -> dict[str, Any]:
        """The requests server a had in flight when fault a killed it (nginx's log: sent to
        it, never answered by it) and what became of each: passed on by nginx to server b
        (a GET), or answered 502 and sent again by its client with its Idempotency-Key until
        answered (a POST; judged after the drain). At least one, each answered: the drill
        fails otherwise (it would not have shown the retry path)."""
        server = f"127.0.0.1:{self.ports.app_a}"
        lines: list[nginx_log.Logged] = []
        with contextlib.suppress(OSError):
            lines = nginx_log.parse((self.state.nginx / "access.log").read_text())
        cut = nginx_log.cut_off(lines, server, self.killed_app_at) if self.killed_app_at \
            else []
        acked = {w.key for w in self.recorder.writes if w.acked_at is not None}
        passed = [line for line in cut if nginx_log.passed_on(line, server)]
        retried = [line for line in cut if line not in passed and line.key in acked]
        unanswered = [f"{line.method} {line.path} {line.status} key {line.key}"
                      for line in cut if line not in passed and line not in retried]
        self.check("fault a: requests cut off in flight (at least one), each answered by "
                   "the other server or sent again with its key", bool(cut) and not unanswered,
                   f"{len(cut)} cut off; unanswered: {unanswered[:10]}")
        return {"cut_off_in_flight": len(cut),
                "cut_off_by_kind": dict(Counter(f"{line.method} {line.path}" for line in cut)),
                "cut_off_passed_on_to_b": len(passed),
                "cut_off_sent_again_with_key_and_answered": len(retried),
                "cut_off_unanswered": len(unanswered)}

    def claims_kept_and_settled(self) -> dict[str, int]:
        """From the app servers' logs: Idempotency-Key claims their requests could not
        release while the database was lost, and what became of them once it answered (each
        process settles its kept claims at its next claim): released, or found holding an
        answer (the request's commit had reached the standby before the primary died, though
        its answer never reached the app). Read after the drain, when every kept claim has
        had its next claim; read at the promotion, one may still be waiting for it."""
        kept = released = settled = 0
        for name in self.apps:
            with contextlib.suppress(OSError):
                for line in self.state.log(f"app-{name}.log").read_text().splitlines():
                    if "kept until the database answers again" in line:
                        kept += 1
                    elif match := re.search(r"released (\d+) of (\d+) idempotency claims",
                                            line):
                        released += int(match.group(1))
                        settled += int(match.group(2))
        self.check("fault b: every Idempotency-Key claim kept while there was no primary "
                   "settled once it answered (released, or holding its answer)",
                   kept == settled, f"kept {kept}, settled {settled}")
        return {"claims_kept_while_no_primary": kept,
                "claims_released_once_promoted": released,
                "claims_holding_an_answer": settled - released}

    def _burst(self) -> list[threading.Thread]:
        """Members sending large photos at this moment (a photo takes the longest of any
        request: decoded, re-encoded, written), so that a fault cuts requests off in flight,
        as a busy server's crash does; then a moment for them to be under way."""
        assert self.load is not None
        threads = self.load.burst(6, self.big_photo)
        time.sleep(0.15)
        return threads

    def _nginx_passed_on(self) -> int:
        """Requests nginx sent to the other server after the first failed (its log lists
        both upstreams)."""
        log = self.state.nginx / "access.log"
        with contextlib.suppress(OSError):
            return sum(1 for line in log.read_text().splitlines() if ", 127.0.0.1:" in line)
        return 0

    def fault_database(self) -> dict[str, Any]:
        a, b = self.pg["a"], self.pg["b"]
        poller = ReadyzPoller(list(self.apps.values()), self.clock)
        poller.start()
        time.sleep(1)
        burst = self._burst()
        kill_began = self.clock.now()
        a.kill9()
        # Without a primary from here: every process of a gone (kill9 waits for it).
        killed = self.clock.now()
        self.clock.say(f"fault b: PostgreSQL primary a killed (kill -9 of every process, "
                       f"gone after {killed - kill_began:.2f} s), photo uploads in flight")
        time.sleep(self.plan.promote_after)
        promoting = self.clock.now()
        b.promote()
        promoted = self.clock.now()
        self.clock.say(f"fault b: standby b promoted (pg_ctl promote: "
                       f"{promoted - promoting:.1f} s); nothing changed in the app's settings")
        deadline = promoted + 60
        while self.clock.now() < deadline and not self._answered_since(promoted):
            time.sleep(0.1)
        time.sleep(self.plan.settle)
        poller.stop()
        end = self.clock.now()
        for thread in burst:
            thread.join(timeout=self.plan.park_after + 30)
        # What the clients saw counts from the kill's start: a request may fail as it lands.
        result = outage(self.recorder.attempts, kill_began, end)
        self.windows["database_primary_killed"] = (kill_began, end)
        back = result.get("back_s")
        limit = readyz_limit_s(self.url)
        result |= {"kill_s": round(killed - kill_began, 2),
                   "without_primary_s": round(promoting - killed, 2),
                   "promotion_s": round(promoted - promoting, 2),
                   "back_after_promotion_s": round(max(0.0, back - promoted), 2) if back else None,
                   "readyz": poller.report(killed, promoting),
                   "readyz_limit_s": limit}
        # The old primary never comes back as it was (it would take writes again: the
        # app's URL lists it first): rebuilt from the new primary as its standby.
        began = self.clock.now()
        a.become_sync_standby_of(b)
        result["rebuild_standby_s"] = round(self.clock.now() - began, 2)
        self.clock.say(f"fault b: old primary a rebuilt as b's synchronous standby "
                       f"({result['rebuild_standby_s']:.1f} s, under load)")
        time.sleep(self.plan.settle / 2)
        for name, seen in result["readyz"].items():
            self.check(f"readyz {name}: 503 without a primary", seen["said_503_without_primary"],
                       str(seen))
            self.check(f"readyz {name}: 200 after promotion", seen["said_200_after"], str(seen))
            self.check(f"readyz {name}: answered within {limit:g} s without a primary "
                       f"({CONNECT_TIMEOUT} s per database host, {READYZ_MARGIN_S:g} s more)",
                       seen["slowest_ms_without_primary"] < limit * 1000, str(seen))
        return result

    def _answered_since(self, since: float) -> bool:
        with self.recorder.lock:
            return any(a.began >= since and a.status not in FAILED and a.status < 500
                       for a in self.recorder.attempts[-200:])

    def fault_volume_full(self) -> dict[str, Any]:
        prober = self.people[0]
        photos = small_photos(4, seed=7)
        filled_at = self.clock.now()
        written = self.volume.fill()
        files_before = self._volume_files()
        self.clock.say(f"fault c: photo volume filled ({written / 2**20:.1f} MB written, "
                       f"{self.volume.available()} bytes left)")
        probes: list[dict[str, Any]] = []
        web_probe: dict[str, Any] = {}
        n = 0
        with httpx.Client(timeout=30) as client:
            while self.clock.now() < filled_at + self.plan.full_for:
                for server in self.apps.values():
                    probes.append(self._probe_upload(client, server, prober, photos[n % 4]))
                    n += 1
                if not web_probe:
                    web_probe = self._probe_web_report(client, self.apps["b"], prober,
                                                       photos[0])
                time.sleep(0.5)
        partial = self._partial_files()
        files_full = self._volume_files()
        self.volume.free()
        freed = self.clock.now()
        self.clock.say("fault c: space freed")
        deadline = freed + 30
        accepted = None
        while self.clock.now() < deadline and accepted is None:
            accepted = next((w.acked_at for w in list(self.recorder.writes)
                             if w.kind == "photo" and w.acked_at and w.acked_at >= freed), None)
            time.sleep(0.1)
        time.sleep(self.plan.settle)
        end = self.clock.now()
        uploads = [a for a in self.recorder.attempts
                   if a.kind == "photo" and filled_at <= a.began < freed]
        refusals = Counter(f"{p['status']} {p['code']}" for p in probes)
        clean = all(p["status"] == 507 and p["code"] == "storage_full" and p["problem_json"]
                    and not p["traceback"] for p in probes)
        # Refused for the volume, or stored (begun before it was full), or the retry of a
        # key an earlier fault's cut-off request still holds: never anything else.
        load_clean = all((a.status, a.code) in ((507, "storage_full"), (201, None),
                                                (409, IN_PROGRESS)) for a in uploads)
        self.check("volume full: every upload refused with 507 storage_full", clean and
                   bool(probes) and load_clean, str(refusals))
        self.check("volume full: the report page refused cleanly (507, nothing stored)",
                   web_probe.get("clean", False), str(web_probe))
        self.check("volume full: no partial or temporary file left", not partial, str(partial))
        self.check("volume full: no file added while full",
                   files_full <= files_before | {self.volume.filler.name}, "")
        self.check("volume freed: uploads accepted again", accepted is not None)
        result = outage(self.recorder.attempts, filled_at, end)
        result |= {
            "full_s": round(freed - filled_at, 2),
            "probe_uploads": len(probes), "probe_answers": dict(refusals),
            "load_uploads_while_full": dict(Counter(
                f"{a.status} {a.code or ''}".strip() for a in uploads)),
            "report_page_while_full": web_probe,
            "partial_files": partial,
            "first_upload_after_freeing_s": round(accepted - freed, 2) if accepted else None,
        }
        return result

    def _probe_upload(self, client: httpx.Client, server: AppServer, who: Person,
                      photo: bytes) -> dict[str, Any]:
        answer = client.post(f"{server.url}/api/v1/photos",
                             headers={"Authorization": f"Bearer {who.token}"},
                             files={"photo": ("probe.jpg", photo, "image/jpeg")})
        body = answer.text
        return {"server": server.name, "status": answer.status_code,
                "code": answer.json().get("code") if "json" in answer.headers.get(
                    "content-type", "") else None,
                "problem_json": answer.headers.get("content-type", "").startswith(
                    "application/problem+json"),
                "traceback": "Traceback" in body or "Internal Server Error" in body}

    def _probe_web_report(self, client: httpx.Client, server: AppServer, who: Person,
                          photo: bytes) -> dict[str, Any]:
        """The self-report page with a photo, while the volume is full: a page that says so,
        no entry stored."""
        cookie = {"Cookie": f"jifen_session={who.cookie}"}
        form = client.get(f"{server.url}/me/report", headers=cookie)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        marker = f"drill {self.run_id} web-probe"
        answer = client.post(f"{server.url}/me/report", headers=cookie, data={
            "csrf_token": token.group(1) if token else "", "rule_code": "P03",
            "occurred_on": date.today().isoformat(), "quantity": "1", "note": marker},
            files={"photo": ("probe.jpg", photo, "image/jpeg")})
        stored = self._scalar("SELECT count(*) FROM entry WHERE note = :n", n=marker)
        return {"status": answer.status_code, "stored_entries": stored,
                "says_storage_full": "存储空间" in answer.text,
                "clean": answer.status_code == 507 and stored == 0
                and "存储空间" in answer.text and "Traceback" not in answer.text}

    def cross_server_photo(self) -> dict[str, Any]:
        """A photo uploaded through one server, served by the other (each directly)."""
        who = self.people[-1]
        photo = small_photos(1, seed=99)[0]
        out: dict[str, Any] = {}
        with httpx.Client(timeout=30) as client:
            auth = {"Authorization": f"Bearer {who.token}"}
            for up, down in (("a", "b"), ("b", "a")):
                source, reader = self.apps[up], self.apps[down]
                upload = Write("photo", str(uuid.uuid4()), who.username)
                answer = client.post(f"{source.url}/api/v1/photos", files={
                    "photo": ("x.jpg", photo, "image/jpeg")},
                    headers={**auth, "Idempotency-Key": upload.key})
                if answer.status_code != 201:
                    out[f"{up}->{down}"] = {"ok": False, "upload": answer.status_code}
                    continue
                upload.status, upload.acked_at = 201, self.clock.now()
                upload.result = answer.json()["evidence"]
                self.recorder.write(upload)
                entry = Write("entry", str(uuid.uuid4()), who.username,
                              marker=f"drill {self.run_id} cross {up}->{down}")
                made = client.post(f"{reader.url}/api/v1/entries", json={
                    "member_id": who.member_id, "rule_code": "P03",
                    "occurred_on": date.today().isoformat(), "note": entry.marker,
                    "evidence": upload.result}, headers={**auth, "Idempotency-Key": entry.key})
                if made.status_code == 201:
                    entry.status, entry.acked_at = 201, self.clock.now()
                    entry.result = made.json()["id"]
                self.recorder.write(entry)
                read = client.get(f"{reader.url}/api/v1/entries/{entry.result}/photo",
                                  headers=auth)
                again = client.get(f"{source.url}/api/v1/entries/{entry.result}/photo",
                                   headers=auth)
                thumb = client.get(f"{reader.url}/api/v1/entries/{entry.result}/photo",
                                   params={"size": "thumb"}, headers=auth)
                ok = (made.status_code == 201 and read.status_code == 200
                      and read.headers.get("content-type") == "image/jpeg"
                      and read.content == again.content and read.content[:2] == b"\xff\xd8"
                      and thumb.status_code == 200)
                out[f"{up}->{down}"] = {"ok": ok, "entry": made.status_code,
                                        "read_through_other": read.status_code,
                                        "bytes": len(read.content),
                                        "same_bytes_both_servers": read.content == again.content}
                self.check(f"photo uploaded through {up} served by {down}", ok, str(out))
        self.clock.say("d: photos uploaded through one server, read through the other: "
                       + ", ".join(f"{k} {'ok' if v['ok'] else 'FAILED'}"
                                   for k, v in out.items()))
        return out

    # --- checking ------------------------------------------------------------------------

    def _engine(self) -> sa.Engine:
        return sa.create_engine(self.url, pool_pre_ping=True)

    def _scalar(self, query: str, **params: Any) -> Any:
        engine = self._engine()
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text(query), params).scalar()
        finally:
            engine.dispose()

    def _volume_files(self) -> set[str]:
        return {str(p.relative_to(self.state.volume)) for p in self.state.volume.rglob("*")
                if p.is_file()}

    def _partial_files(self) -> list[str]:
        return sorted(str(p.relative_to(self.state.volume))
                      for p in self.state.volume.rglob("*")
                      if p.is_file() and (p.name.endswith(".part") or p.name.startswith(".")))

    def verify(self) -> dict[str, Any]:
        """Every acknowledged write in the database exactly once; every photo whole."""
        from PIL import Image

        engine = self._engine()
        try:
            with engine.connect() as db:
                entries = db.execute(sa.text(
                    "SELECT id, note, status, evidence FROM entry WHERE note LIKE :m"),
                    {"m": f"drill {self.run_id} %"}).all()
                photos = {row.path: row.member_id for row in db.execute(sa.text(
                    "SELECT path, member_id FROM evidence_photo"))}
                approvals = Counter(row.object_id for row in db.execute(sa.text(
                    "SELECT object_id FROM audit_log WHERE object_type = 'entry' "
                    "AND action = 'entry.approved'")))
        finally:
            engine.dispose()
        by_note: dict[str, list[Any]] = {}
        for row in entries:
            by_note.setdefault(row.note, []).append(row)
        status = {row.id: row.status for row in entries}
        writes = [w for w in self.recorder.writes if w.sends or w.acked_at]
        acked = [w for w in writes if w.acked_at is not None]
        lost: list[str] = []
        twice: list[str] = []
        unanswered = [w for w in writes if w.acked_at is None and w.refused is None]
        refused = Counter(f"{w.kind} {w.refused}" for w in writes if w.refused)
        for w in writes:
            if w.kind == "entry":
                rows = by_note.get(w.marker, [])
                if len(rows) > 1:
                    twice.append(f"entry {w.marker}: {len(rows)} rows")
                if w.acked_at is not None and [r.id for r in rows] != [w.result]:
                    lost.append(f"entry {w.marker} (id {w.result}): rows {[r.id for r in rows]}")
            elif w.kind == "photo" and w.acked_at is not None and w.result not in photos:
                lost.append(f"photo {w.result}")
            elif w.kind == "approve" and w.acked_at is not None:
                if status.get(w.entry_id) != "approved":
                    lost.append(f"approval of entry {w.entry_id}: {status.get(w.entry_id)}")
                if approvals[w.entry_id] != 1:
                    twice.append(f"entry {w.entry_id} approved {approvals[w.entry_id]} times")
        acked_paths = {w.result for w in acked if w.kind == "photo"}
        drill_members = {p.member_id for p in self.people}
        extra_photos = [p for p, m in photos.items()
                        if m in drill_members and p not in acked_paths]
        unanswered_uploads = sum(1 for w in unanswered if w.kind == "photo")
        probes_stored = 0  # the volume-full probes were all refused (checked above)
        if len(extra_photos) > unanswered_uploads + probes_stored:
            twice.append(f"{len(extra_photos)} photos stored that no upload was acknowledged "
                         f"for (only {unanswered_uploads} uploads went unanswered)")
        # The volume: every photo on record whole, nothing partial, entries' photos there.
        uploads = self.state.volume / "uploads"
        broken: list[str] = []
        for path in photos:
            for file in (uploads / path, (uploads / path).with_name(
                    Path(path).stem + ".thumb.jpg")):
                try:
                    with Image.open(file) as image:
                        image.verify()
                    with Image.open(file) as image:
                        image.load()
                        if image.format != "JPEG":
                            broken.append(f"{file.name}: {image.format}")
                except (OSError, SyntaxError) as error:
                    broken.append(f"{file.name}: {error}")
        missing = [row.id for row in entries if row.evidence and row.evidence not in photos]
        orphans = sorted(self._photos_on_volume() - set(photos))
        partial = self._partial_files()
        self.check("0 acknowledged writes lost", not lost, str(lost[:10]))
        self.check("0 writes counted twice", not twice, str(twice[:10]))
        self.check("every stored photo and thumbnail opens as a JPEG", not broken,
                   str(broken[:10]))
        self.check("no entry names a missing photo", not missing, str(missing[:10]))
        self.check("no partial or temporary file on the volume", not partial, str(partial))
        # The load sends nothing the app may refuse for good (deploy/load.py): a final 4xx
        # is the retry path failing, e.g. an approval sent again, its key forgotten, 409.
        self.check("0 writes refused in the end", not refused, str(dict(refused)))
        return {
            "writes_sent": len(writes),
            "acknowledged": len(acked),
            "acknowledged_by_kind": dict(Counter(w.kind for w in acked)),
            "lost": len(lost), "twice": len(twice), "lost_detail": lost[:20],
            "twice_detail": twice[:20],
            "unanswered": len(unanswered),
            "unanswered_by_kind": dict(Counter(w.kind for w in unanswered)),
            "unanswered_detail": [
                {"kind": w.kind, "key": w.key, "sends": w.sends, "first_sent_s":
                 round(w.first_sent, 2), "answers": dict(Counter(
                     f"{a.status} {a.code or ''}".strip() for a in self.recorder.attempts
                     if a.key == w.key))} for w in unanswered[:20]],
            "refused": sum(refused.values()), "refused_by_kind": dict(refused),
            "sent_more_than_once": sum(1 for w in writes if w.sends > 1),
            "slowest_acknowledgement_s": round(max(
                (w.acked_at - w.first_sent for w in acked if w.acked_at and w.first_sent),
                default=0), 2),
            "photos_on_record": len(photos), "photos_broken": len(broken),
            "orphan_files": len(orphans), "partial_files": len(partial),
        }

    def _photos_on_volume(self) -> set[str]:
        """The photos on the volume as `jifen sweep-photos` counts them: by the path stored
        on record, whichever of its files is there (photo, thumbnail, a part)."""
        uploads = self.state.volume / "uploads"
        return {str(p.relative_to(uploads)).removesuffix(".part").replace(".thumb.jpg", ".jpg")
                for p in uploads.glob("evidence/*/*/*.jpg*")}

    def plant_orphan(self) -> str:
        """A photo and its thumbnail on the volume that no record names, a day old, named
        as the app names them (evidence/YYYY/MM/<uuid4>.jpg): one the sweep must remove,
        whatever the faults left (often nothing)."""
        relative = f"evidence/{datetime.now(UTC):%Y/%m}/{uuid.uuid4()}.jpg"
        photo = self.state.volume / "uploads" / relative
        photo.parent.mkdir(parents=True, exist_ok=True)
        thumb = photo.with_name(f"{photo.stem}.thumb.jpg")
        photo.write_bytes(small_photos(1, seed=41)[0])
        thumb.write_bytes(small_photos(1, seed=41, size=(160, 120))[0])
        day_old = time.time() - 86400
        for file in (photo, thumb):
            os.utime(file, (day_old, day_old))
        return relative

    def sweep_photos(self, orphans: int) -> dict[str, Any]:
        """`jifen sweep-photos --older-than 0` (the load is over: no request is storing a
        photo): it removes the photos on record nowhere that verify counted (left by
        requests whose commit the primary's loss cut off, or a server killed mid-upload)
        and one planted just before, and nothing else: every photo on record is still on
        the volume afterwards, with its thumbnail."""
        planted = self.plant_orphan()
        listed = self.jifen("sweep-photos", "--older-than", "0", "--dry-run").stdout
        done = self.jifen("sweep-photos", "--older-than", "0").stdout
        would = re.search(r"would remove (\d+) photo", listed)
        removed = re.search(r"removed (\d+) photo", done)
        engine = self._engine()
        try:
            with engine.connect() as db:
                recorded = {path for (path,) in db.execute(sa.text(
                    "SELECT path FROM evidence_photo"))}
        finally:
            engine.dispose()
        uploads = self.state.volume / "uploads"
        on_disk = {str(p.relative_to(uploads)) for p in uploads.rglob("*.jpg")
                   if not p.name.endswith(".thumb.jpg")}
        thumbs = {str(p.relative_to(uploads)).replace(".thumb.jpg", ".jpg")
                  for p in uploads.rglob("*.thumb.jpg")}
        planted_left = sorted(str(p.relative_to(uploads)) for p in
                              (uploads / planted).parent.glob(f"{Path(planted).stem}*"))
        result = {
            "orphans_before": orphans,
            "planted": 1,
            "listed": int(would[1]) if would else None,
            "removed": int(removed[1]) if removed else None,
            "planted_left": planted_left,
            "orphans_after": len(self._photos_on_volume() - recorded),
            "recorded_missing_after": len(recorded - on_disk) + len(recorded - thumbs),
        }
        self.check("jifen sweep-photos removes the photos on record nowhere (and one planted), "
                   "and only them",
                   result["listed"] == result["removed"] == orphans + 1 and not planted_left
                   and result["orphans_after"] == 0 and result["recorded_missing_after"] == 0,
                   str(result))
        return result

    def jifen_check(self) -> dict[str, Any]:
        done = self.jifen("check", "--json", check=False)
        try:
            report = json.loads(done.stdout)
        except ValueError:
            report = {"output": done.stdout[-2000:], "error": done.stderr[-2000:]}
        problems = report.get("problems", []) if isinstance(report, dict) else []
        self.check("jifen check clean on the promoted database", done.returncode == 0,
                   str(problems)[:1000])
        return {"exit_status": done.returncode, "problems": len(problems)}

    # --- the whole run ---------------------------------------------------------------------

    def run(self, took: dict[str, float]) -> dict[str, Any]:
        """The load and the faults, then the checks (after `setup`)."""
        self.load = Load(self.nginx.url, self.people, self.committees, self.recorder,
                         threads=self.plan.threads, think=self.plan.think,
                         park_after=self.plan.park_after, run_id=self.run_id)
        self.load.start()
        load_began = self.clock.now()
        self.clock.say(f"load: {self.plan.threads} member clients and "
                       f"{len(self.committees)} committee clients through nginx")
        time.sleep(self.plan.warmup)
        faults: dict[str, Any] = {}
        faults["app_server_killed"] = self.fault_app_server()
        faults["database_primary_killed"] = self.fault_database()
        faults["photo_volume_full"] = self.fault_volume_full()
        cross = self.cross_server_photo()
        load_ended = self.clock.now()
        self.load.stop()
        self.clock.say("load stopped; sending again what clients put aside")
        # A key held by a request killed with its server is free after the lease.
        lease = self.plan.lease or DEFAULT_LEASE
        killed_app = self.windows["app_server_killed"][0]
        self.load.drain(max(self.clock.now() + 15, killed_app + lease + 15))
        self.clock.say("checking")
        writes = self.verify()
        for name, (start, end) in self.windows.items():
            faults[name] |= held_keys(self.recorder.attempts, self.recorder.writes, start, end)
        faults["app_server_killed"] |= self.cut_off_by_fault_a()
        faults["database_primary_killed"] |= self.claims_kept_and_settled()
        check = self.jifen_check()
        sweep = self.sweep_photos(writes["orphan_files"])
        self.check("every write answered in the end", writes["unanswered"] == 0,
                   str(writes["unanswered_by_kind"]))
        self.check("no 500 answered", not any(a.status == 500 for a in self.recorder.attempts))
        unavailable = self.unavailable_page()
        attempts = self.recorder.attempts
        return {
            "drill": self.plan.name, "run_id": self.run_id,
            "started": self.started.isoformat(timespec="seconds"),
            "duration_s": round(self.clock.now(), 1),
            "setup_s": took, "load_s": round(load_ended - load_began, 1),
            "ok": all(self.checks.values()),
            "checks": self.checks,
            "requests": {"total": len(attempts),
                         "by_kind": dict(Counter(a.kind for a in attempts)),
                         "by_status": dict(Counter(str(a.status) for a in attempts)),
                         "failed": sum(1 for a in attempts if a.status in FAILED)},
            "writes": writes,
            "faults": faults,
            "cross_server_photo": cross,
            "jifen_check": check,
            "photo_sweep": sweep,
            "unavailable_page": unavailable,
            "plan": asdict(self.plan),
            "events": self.clock.events,
            "database_url": shown_url(self.url),
        }

    def unavailable_page(self) -> dict[str, Any]:
        """Both app servers down (the load is over): nginx answers a page load and a form's
        POST with its own page (static/unavailable.html), 502 and X-Jifen-Unavailable: 1,
        by which the page's script tells it from an answer of the app's. (With --keep, the
        servers are started again afterwards.)"""
        for server in self.apps.values():
            server.kill9()
        page = UNAVAILABLE_PAGE.read_bytes()
        seen: dict[str, Any] = {}
        with httpx.Client(base_url=self.nginx.url, timeout=15) as client:
            for method, path in (("GET", "/me"), ("POST", "/me/report")):
                answer = client.request(method, path, data={"note": "x"} if method == "POST"
                                        else None)
                seen[f"{method} {path}"] = {
                    "status": answer.status_code,
                    "x_jifen_unavailable": answer.headers.get("x-jifen-unavailable"),
                    "content_type": answer.headers.get("content-type"),
                    "the_page": answer.content == page}
        self.check("both app servers down: nginx answers static/unavailable.html (502, "
                   "X-Jifen-Unavailable: 1)", all(
                       s["status"] == 502 and s["x_jifen_unavailable"] == "1" and s["the_page"]
                       for s in seen.values()), str(seen))
        self.clock.say("both app servers stopped: nginx answers " + "; ".join(
            f"{k} {v['status']}{' with its unavailable page' if v['the_page'] else ''}"
            for k, v in seen.items()))
        if self.keep:
            for server in self.apps.values():
                server.start()
        return seen


# --- the summary ------------------------------------------------------------------------------


def summary(result: dict[str, Any]) -> str:
    """The result in a few lines; a part the run did not reach is left out (no None)."""
    faults = result.get("faults", {})
    lines = [f"Jifen failover drill ({result.get('drill')}): "
             f"{'PASSED' if result.get('ok') else 'FAILED'} in {result.get('duration_s')} s"]
    if requests := result.get("requests"):
        lines.append(f"  requests through nginx: {requests['total']} "
                     f"({requests['failed']} failed: no answer or 5xx)")
    if writes := result.get("writes"):
        lines.append(f"  writes acknowledged: {writes['acknowledged']} "
                     f"{writes['acknowledged_by_kind']}; lost {writes['lost']}, "
                     f"counted twice {writes['twice']}, unanswered {writes['unanswered']}, "
                     f"refused in the end {writes['refused']}")
    names = {"app_server_killed": "a. app server killed",
             "database_primary_killed": "b. PostgreSQL primary killed",
             "photo_volume_full": "c. photo volume full"}
    for key, title in names.items():
        fault = faults.get(key)
        if not fault:
            continue
        lines.append(f"  {title}: unavailable {fault['unavailable_s']} s, "
                     f"{fault['failed_requests']} of {fault['requests']} requests failed")
        if "cut_off_in_flight" in fault:
            lines.append(f"     {fault['cut_off_in_flight']} request(s) in flight on it cut "
                         f"off: {fault['cut_off_passed_on_to_b']} passed on to b by nginx, "
                         f"{fault['cut_off_sent_again_with_key_and_answered']} sent again "
                         "with their key and answered, "
                         f"{fault['cut_off_unanswered']} unanswered")
        if fault.get("writes_held_by_a_cut_off_request"):
            lines.append(f"     {fault['writes_held_by_a_cut_off_request']} write(s) whose "
                         "key a cut-off request held (409 idempotency_in_progress), answered "
                         f"after at most {fault['longest_hold_s']} s")
        if key == "database_primary_killed" and "readyz" in fault:
            lines.append(f"     no primary for {fault['without_primary_s']} s (from the kill's "
                         f"end; the kill took {fault['kill_s']} s), promotion "
                         f"{fault['promotion_s']} s, back {fault['back_after_promotion_s']} s "
                         f"after it; /readyz: " + "; ".join(
                             f"{n} {v['statuses_without_primary']} without a primary, 200 "
                             f"{v['first_200_after_promotion_s']} s after promotion"
                             for n, v in fault["readyz"].items()))
        if "claims_kept_while_no_primary" in fault:
            lines.append(f"     {fault['claims_kept_while_no_primary']} Idempotency-Key "
                         f"claim(s) kept without a primary: "
                         f"{fault['claims_released_once_promoted']} released after, "
                         f"{fault['claims_holding_an_answer']} found holding their answer")
        if key == "photo_volume_full" and "probe_answers" in fault:
            lines.append(f"     probes {fault['probe_answers']}, load uploads "
                         f"{fault['load_uploads_while_full']}, uploads accepted again "
                         f"{fault['first_upload_after_freeing_s']} s after freeing")
    if cross := result.get("cross_server_photo"):
        lines.append("  d. photo through one server, read through the other: " + ", ".join(
            f"{k} {'ok' if v.get('ok') else 'FAILED'}" for k, v in cross.items()))
    if check := result.get("jifen_check"):
        lines.append(f"  jifen check: exit {check['exit_status']}, {check['problems']} problems")
    if sweep := result.get("photo_sweep"):
        lines.append(f"  jifen sweep-photos: {sweep['orphans_before']} photos on record nowhere "
                     f"and {sweep['planted']} planted, {sweep['removed']} removed, "
                     f"{sweep['orphans_after']} left; "
                     f"{sweep['recorded_missing_after']} recorded photos missing after")
    if page := result.get("unavailable_page"):
        lines.append("  both app servers down, nginx answers: " + "; ".join(
            f"{k} {v['status']}{' its unavailable page' if v['the_page'] else ''}"
            for k, v in page.items()))
    failed = [name for name, ok in result.get("checks", {}).items() if not ok]
    if result.get("error"):
        lines.append(f"  ERROR: {result['error']}")
    lines.append("  checks: " + (f"{len(failed)} failed: " + "; ".join(failed) if failed
                                 else f"all {len(result.get('checks', {}))} passed"))
    return "\n".join(lines)


# --- the command ------------------------------------------------------------------------------


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# What ends a run early: a part that did not start or answer, a command that failed.
RUN_ERRORS = (ClusterError, subprocess.SubprocessError, OSError, httpx.HTTPError,
              sa.exc.SQLAlchemyError)


def write_result(path: Path, result: dict[str, Any]) -> None:
    """The JSON result, its owner's alone (0600), as the logs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path), "w", opener=private_file) as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


def could_not_run(error: BaseException, plan: Plan, drill: Drill | None,
                  result_file: Path) -> int:
    """One line saying what did not start, the whole error in the result; exit status 2."""
    text = str(error).strip() or type(error).__name__
    first = text.splitlines()[0]
    result = {"drill": plan.name, "ok": False, "could_not_run": text[:4000],
              "events": drill.clock.events if drill else []}
    kept = False
    with contextlib.suppress(OSError):
        write_result(result_file, result)
        kept = True
    more = f" (all of it in {result_file})" if kept and first != text else ""
    print(f"drill: could not run: {first}{more}", file=sys.stderr, flush=True)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    plan = QUICK if args.quick else FULL
    # What the run writes, and what it starts writes, is its owner's alone (the logs, the
    # result; PostgreSQL makes its own files so anyway).
    os.umask(0o077)
    try:
        state = state_folder(args.state)
    except ClusterError as refused:
        print(f"drill: error: {refused}", file=sys.stderr)
        return 2
    # Before anything is stopped or deleted: a run there now would kill another drill.
    if alive := running(state):
        print(f"drill: error: a drill is running in {state.root} (pids "
              f"{', '.join(map(str, alive))}); stop it with deploy/drill stop --state "
              f"{state.root}", file=sys.stderr)
        return 2
    result_file = Path(args.result) if args.result else state.root / "result.json"
    signal.signal(signal.SIGTERM, _terminate)
    drill: Drill | None = None
    started = False
    try:
        try:
            state.prepare(owner=os.getpid())
            drill = Drill(state, plan, Ports(), keep=args.keep)
            took = drill.setup()
        except RUN_ERRORS as error:
            return could_not_run(error, plan, drill, result_file)
        started = True
        result: dict[str, Any]
        try:
            result = drill.run(took)
        except RUN_ERRORS as error:
            drill.clock.say(f"the drill could not go on: {error}")
            result = {"drill": plan.name, "ok": False, "error": str(error)[:4000],
                      "checks": drill.checks, "events": drill.clock.events,
                      "duration_s": round(drill.clock.now(), 1)}
    finally:
        if drill is not None and drill.load is not None:
            drill.load.stopping.set()
        # Nothing is kept of a run that could not start, even with --keep.
        if not (args.keep and started):
            stop_all(state, quiet=True)
    write_result(result_file, result)
    print(summary(result))
    print(f"result: {result_file}; logs: {state.root / 'logs'}, {state.nginx}, {state.pg}")
    if args.keep:
        print(f"still running (--keep): nginx {drill.nginx.url}; stop with: deploy/drill stop "
              f"--state {state.root}; PostgreSQL's passwords: {state.passfile}")
        print(f"log in through nginx as {account_names(plan)}; their password: "
              f"{state.root / 'accounts'}")
    return 0 if result.get("ok") else 1


def cmd_stop(args: argparse.Namespace) -> int:
    try:
        state = state_folder(args.state)
    except ClusterError as refused:
        print(f"drill: error: {refused}", file=sys.stderr)
        return 2
    if not state.root.exists():
        return 0
    # deploy/drill's cleanup: only what its own run started (a run refused because another
    # drill runs there must leave that one alone).
    if args.run_pid is not None and not state.made_by(args.run_pid):
        return 0
    # A drill still running there ends itself (TERM: it stops what it started, writes its
    # result); what it leaves, or a run killed or kept left, is stopped below.
    if (owner := state.owner()) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(owner, signal.SIGTERM)
        deadline = time.monotonic() + 120
        while state.owner() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if not args.quiet:
            print(f"drill stop: the drill (pid {owner}) " + (
                "ended" if state.owner() is None else "still runs after 120 s"))
    stop_all(state, quiet=args.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy/drill", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run", help="start everything, run the load and the faults, "
                             f"check, stop everything ({FULL_TAKES})")
    go.add_argument("--quick", action="store_true", help=f"short phases ({QUICK_TAKES})")
    go.add_argument("--state", default=str(DEFAULT_STATE), help="the run's directory "
                    f"(default {DEFAULT_STATE}; emptied first, refused while a drill "
                    "runs in it)")
    go.add_argument("--result", help="the JSON result (default STATE/result.json)")
    go.add_argument("--keep", action="store_true", help="leave everything running at the end")
    go.set_defaults(run=cmd_run)
    stop = commands.add_parser("stop", help="stop what a run left running, unmount its volume")
    stop.add_argument("--state", default=str(DEFAULT_STATE))
    stop.add_argument("--quiet", action="store_true")
    stop.add_argument("--run", type=int, dest="run_pid", metavar="PID", help="only if the "
                      "drill process PID made the state folder (deploy/drill's own cleanup)")
    stop.set_defaults(run=cmd_stop)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
