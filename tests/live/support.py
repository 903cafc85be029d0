"""Starting, killing and talking to a real Jifen server (see conftest.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx2 as httpx
from sqlmodel import Session

from app.db import make_engine
from app.services.access import load_actor
from app.services.accounts import create_admin
from app.services.members import NewMember, create_member
from app.services.orgs import create_org, grant_committee
from bench.server import Server

PASSWORD = "correct-horse-9"
LAST_YEAR = date.today().year - 1


@dataclass
class LiveServer(Server):
    """The benchmark's server (bench/server.py) with two worker processes, so requests run
    in parallel in several processes as behind a load balancer; ended by kill -9."""

    workers: int = 2

    def kill(self) -> None:
        """kill -9 of the server and every worker, as a crash or the OOM killer would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None


@dataclass
class Api:
    """Calls to a live server as named users (tokens cached)."""

    server: LiveServer
    client: httpx.Client = field(init=False)
    tokens: dict[str, str] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # keepalive_expiry under uvicorn's 5 s: no request on a connection it is closing.
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64,
                              keepalive_expiry=2)
        self.client = httpx.Client(base_url=f"{self.server.url}/api/v1", timeout=60,
                                   limits=limits)

    def headers(self, who: str) -> dict[str, str]:
        with self._lock:
            token = self.tokens.get(who)
        if token is None:
            answer = self.client.post("/auth/token",
                                      data={"username": who, "password": PASSWORD})
            assert answer.status_code == 200, answer.text
            token = answer.json()["access_token"]
            with self._lock:
                self.tokens[who] = token
        return {"Authorization": f"Bearer {token}"}

    def call(self, who: str, method: str, path: str, json: Any = None,
             **params: Any) -> httpx.Response:
        return self.client.request(method, path, json=json, params=params or None,
                                   headers=self.headers(who))

    def ok(self, who: str, method: str, path: str, json: Any = None,
           status: int = 200, **params: Any) -> Any:
        answer = self.call(who, method, path, json, **params)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} " \
                                             f"{answer.text}"
        return answer.json() if answer.content else None

    def entry(self, who: str, member: str, code: str, on: str, status: int = 201,
              **extra: Any) -> Any:
        body = {"member_id": self.members[member], "rule_code": code, "occurred_on": on,
                **extra}
        return self.ok(who, "POST", "/entries", body, status=status)


COMMITTEE_A = ("sec_a", "vice_a", "zw_a1", "zw_a2")


def build_world(server: LiveServer) -> Api:
    """党委 → 支部A (committee: sec_a, vice_a, zw_a1, zw_a2; members a1..a4) and 支部B
    (sec_b, b1), made through the services on the live server's database with this
    process's cheap password hashes (tests/conftest.py), then everyone logged in over HTTP.
    Neither making accounts nor argon2 is what these tests measure; through the API the
    server spent a few seconds of CPU on real hashes for every test."""
    engine = make_engine(server.database_url)
    now = datetime.now(UTC)
    api = Api(server)
    people = [(u, "a") for u in (*COMMITTEE_A, "a1", "a2", "a3", "a4")]
    people += [("sec_b", "b"), ("b1", "b")]
    with Session(engine) as session:
        actor = load_actor(session, create_admin(session, "admin", PASSWORD, now))
        party = create_org(session, actor, "某镇党委", None, "committee", now)
        branches = {key: create_org(session, actor, name, party.id, "branch", now).id or 0
                    for key, name in (("a", "第一支部"), ("b", "第二支部"))}
        for username, branch in people:
            member, _ = create_member(session, actor, NewMember(
                name=username, org_id=branches[branch], category="active",
                joined_on=date(2010, 7, 1), username=username, password=PASSWORD),
                now, now.date())
            api.members[username] = member.id or 0
        for username in COMMITTEE_A:
            grant_committee(session, actor, branches["a"], api.members[username], now)
        grant_committee(session, actor, branches["b"], api.members["sec_b"], now)
        session.commit()
    engine.dispose()
    api.members["branch_a"], api.members["branch_b"] = branches["a"], branches["b"]
    for username, _ in people:
        api.headers(username)
    api.headers("admin")
    return api


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in parallel threads released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))
