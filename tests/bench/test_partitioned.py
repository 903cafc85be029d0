"""The app on a PostgreSQL schema whose ``entry`` table is partitioned by year.

bench/partition.py turns the migrated ``entry`` into ``PARTITION BY RANGE (year)`` (primary
key (id, year), the same indexes and foreign keys, the same sequence). Here the same year
of a branch is played through the real API twice, on a fresh database as the migrations
leave it and on a fresh one partitioned right after them: every answer must be the same,
`jifen check` must find nothing on either, the rows must sit in their year's partition, and
the member score query must touch that partition only. PostgreSQL only: the tests are
skipped unless JIFEN_TEST_DATABASE_URL names a PostgreSQL server (each makes and drops its
own databases there).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.clock import FixedClock, get_clock
from app.db import get_session, make_engine, transaction
from app.main import app
from app.migrate import check, upgrade
from app.services import integrity
from bench import partition
from bench.generate import generate
from tests.api.support import World, approve_rating, build_world, ok
from tests.databases import new_databases

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = os.environ.get("JIFEN_TEST_DATABASE_URL", "")

needs_postgresql = pytest.mark.skipif(
    not BASE_URL.startswith("postgresql"),
    reason="partitioning is PostgreSQL's: set JIFEN_TEST_DATABASE_URL to a PostgreSQL server")

YEAR = 2025
PARTITION_YEARS = (2025, 2026)  # 2024 goes to the default partition
Q_DATES = {1: "2025-02-14", 2: "2025-05-14", 3: "2025-08-14", 4: "2025-11-14"}
REVIEW_SCORES = {"a1": 5, "a2": 4, "a3": 5, "sec_a": 5, "vice_a": 3}


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Makes empty databases on the test server; drops them all afterwards."""
    with new_databases(BASE_URL) as make:
        yield lambda: make("jifen_part")


def _serve(engine: sa.Engine, clock: FixedClock) -> TestClient:
    """The app on this engine: a session per request committed as get_session does."""

    def session_override() -> Iterator[Session]:
        with transaction(engine) as session:
            yield session

    app.dependency_overrides[get_session] = session_override
    app.dependency_overrides[get_clock] = lambda: clock
    return TestClient(app, raise_server_exceptions=False)


def _quarter(world: World, quarter: int) -> dict[str, Any]:
    """Records, self-reports decided, a review published, objected to, finalized."""
    on = Q_DATES[quarter]
    world.entry("sec_a", "a1", "P01", on, quantity=2)
    world.entry("sec_a", "a2", "P02", on)
    world.entry("sec_a", "a3", "N01", on)
    world.entry("vice_a", "sec_a", "P03", on)
    reported = world.entry("a1", "a1", "P04", on, note="自我申报")
    assert reported["status"] == "pending"
    assert ok(world.post("vice_a", f"/entries/{reported['id']}/approve"))["status"] == \
        "approved"
    if quarter == 1:
        wrong = world.entry("a2", "a2", "P05", on)
        ok(world.post("sec_a", f"/entries/{wrong['id']}/reject", {"reason": "无记录"}))
    if quarter == 2:
        mistaken = world.entry("sec_a", "a4", "P03", on, quantity=5)
        ok(world.post("sec_a", f"/entries/{mistaken['id']}/revoke", {"reason": "录错"}))
    if quarter == 3:
        world.entry("sec_a", "a1", "B01", on, points=3)
        world.entry("sec_a", "a4", "D01", on, points=5)
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": YEAR, "quarter": quarter}), 201)
    ok(world.put("sec_a", f"/reviews/{review['id']}/scores", {"scores": {
        str(world.members[m]): s for m, s in REVIEW_SCORES.items()}}))
    ok(world.post("sec_a", f"/reviews/{review['id']}/publish", {"notice_days": 5}))
    if quarter == 1:
        objection = ok(world.post("a2", f"/reviews/{review['id']}/objections",
                                  {"text": "记录少了一次"}), 201)
        ok(world.post("sec_a", f"/objections/{objection['id']}/resolve",
                      {"response": "已核对"}))
    world.clock.advance(days=6)
    return ok(world.post("sec_a", f"/reviews/{review['id']}/finalize"))  # type: ignore[no-any-return]


def play_year(url: str, *, partitioned: bool) -> tuple[dict[str, Any], sa.Engine, World]:
    """A year of branch A through the API; the answers a member and a committee read."""
    upgrade(url)
    engine = make_engine(url)
    if partitioned:
        partition.partition_entries(engine, PARTITION_YEARS)
    clock = FixedClock(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    saved = dict(app.dependency_overrides)
    try:
        with _serve(engine, clock) as client, Session(engine) as session:
            world = build_world(client, session, clock)
            answers: dict[str, Any] = {}
            reviews = [_quarter(world, q) for q in (1, 2, 3, 4)]
            assert [r["status"] for r in reviews] == ["finalized"] * 4
            # One entry this year, one in a year that has no partition of its own.
            world.entry("sec_a", "a1", "P01", "2026-01-05")
            world.entry("sec_a", "a2", "P01", "2024-06-03")
            ok(world.patch("sec_a", f"/members/{world.members['a4']}",
                           {"exempt": True, "exempt_reason": "年老体弱"}))
            rating = ok(world.post("sec_a", f"/orgs/{world.branch_a}/ratings",
                                   {"year": YEAR}), 201)
            approve_rating(world, rating["id"])
            answers["reviews"] = [ok(world.get("a1", f"/reviews/{r['id']}")) for r in reviews]
            answers["rating"] = ok(world.get("a1", f"/ratings/{rating['id']}"))
            for name in ("a1", "a2", "a3", "a4", "sec_a", "vice_a"):
                member = world.members[name]
                answers[f"score {name}"] = ok(world.get(name, f"/members/{member}/score",
                                                        year=YEAR))
            answers["score a1 2026"] = ok(world.get("a1", f"/members/{world.members['a1']}"
                                                          "/score", year=2026))
            answers["entries"] = ok(world.get("admin", "/entries", org_id=world.party,
                                              limit=500))
            answers["entry"] = ok(world.get("a1", f"/entries/{reported_id(answers)}"))
            return answers, engine, world
    finally:
        app.dependency_overrides.clear()
        app.dependency_overrides.update(saved)


def reported_id(answers: dict[str, Any]) -> int:
    return next(int(e["id"]) for e in answers["entries"]["items"] if e["note"] == "自我申报")


def _placed(connection: sa.Connection) -> dict[str, int]:
    """Entries per partition."""
    return {name: count for name, count in connection.execute(sa.text(
        "SELECT tableoid::regclass::text, count(*) FROM entry GROUP BY 1"))}


def jifen_check(url: str) -> tuple[int, dict[str, Any]]:
    """`jifen check --json` in its own process against the database at `url`."""
    done = subprocess.run([sys.executable, "-m", "app.cli", "check", "--json"], cwd=ROOT,
                          env={**os.environ, "JIFEN_DATABASE_URL": url},
                          capture_output=True, text=True, timeout=300, check=False)
    return done.returncode, json.loads(done.stdout)


def _member_score_sql(engine: sa.Engine, client_call: Callable[[], Any]) -> tuple[str, Any]:
    """The statement (and its parameters) item_totals sends while `client_call` runs."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        client_call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return next((s, p) for s, p in seen if "FROM entry" in s and "GROUP BY entry.member_id" in s)


def _explain(engine: sa.Engine, statement: str, parameters: Any, *,
             generic: bool = False) -> str:
    """EXPLAIN of the statement: a plan for its values, or the generic plan (PREPARE)."""
    with engine.connect() as connection:
        if not generic:
            rows = connection.exec_driver_sql(f"EXPLAIN (COSTS OFF) {statement}", parameters)
            return "\n".join(r[0] for r in rows)
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        prepared = re.sub(r"%\((\w+)\)s", number, statement)
        values = ", ".join(str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''")
                           + "'" for v in (parameters[n] for n in names))
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql(f"PREPARE member_score AS {prepared}")
        rows = connection.exec_driver_sql(f"EXPLAIN (COSTS OFF) EXECUTE member_score({values})")
        return "\n".join(r[0] for r in rows)


@needs_postgresql
def test_the_app_answers_the_same_on_a_table_partitioned_by_year(
        new_database: Callable[[], str]) -> None:
    plain_url, parted_url = new_database(), new_database()
    plain, plain_engine, _ = play_year(plain_url, partitioned=False)
    parted, engine, world = play_year(parted_url, partitioned=True)
    try:
        assert parted == plain
        assert parted["rating"]["status"] == "approved"
        assert parted["score a1"]["score"] > 0 and parted["score a3"]["score"] > 0

        # The layout: partitions per year and a default, the key gained year, the rest kept.
        before = partition.describe(plain_engine)
        after = partition.describe(engine)
        assert not before.partitioned and after.partitioned
        assert after.partitions == {
            "entry_default": "DEFAULT",
            "entry_y2025": "FOR VALUES FROM (2025) TO (2026)",
            "entry_y2026": "FOR VALUES FROM (2026) TO (2027)"}
        assert (before.primary_key, after.primary_key) == (["id"], ["id", "year"])
        assert set(after.indexes) == set(before.indexes)
        assert after.foreign_keys == before.foreign_keys
        assert after.sequence == before.sequence == "public.entry_id_seq"
        with engine.connect() as connection:
            placed = _placed(connection)
        assert placed["entry_default"] == 1 and placed["entry_y2026"] == 1
        assert placed["entry_y2025"] == len(plain["entries"]["items"]) - 2

        # `jifen check`, in its own process, finds nothing on either database.
        for url in (plain_url, parted_url):
            code, report = jifen_check(url)
            assert code == 0 and report["ok"], report

        # The member score query (scoring.item_totals) reads its year's partition only:
        # pruned by the planner for the values sent, and at executor start-up in a plan
        # made for any values (what a prepared statement may reuse).
        a1 = world.members["a1"]
        saved = dict(app.dependency_overrides)
        try:
            with _serve(engine, world.clock) as client:
                world.client = client
                statement, parameters = _member_score_sql(
                    engine, lambda: ok(world.get("a1", f"/members/{a1}/score", year=YEAR)))
        finally:
            app.dependency_overrides.clear()
            app.dependency_overrides.update(saved)
        plan = _explain(engine, statement, parameters)
        assert "entry_y2025" in plan, plan
        assert "entry_y2026" not in plan and "entry_default" not in plan, plan
        generic = _explain(engine, statement, parameters, generic=True)
        assert "Subplans Removed: 2" in generic, generic
        assert "entry_y2026" not in generic and "entry_default" not in generic, generic
    finally:
        plain_engine.dispose()
        engine.dispose()


@needs_postgresql
def test_the_bench_data_set_loads_into_year_partitions(new_database: Callable[[], str]) -> None:
    url = new_database()
    now = datetime.now(UTC)
    data = generate(url, 60, seed=7, partition_entries=True, now=now)
    engine = make_engine(url)
    try:
        layout = partition.describe(engine)
        assert layout.partitioned
        assert set(layout.partitions) == {"entry_default"} | {
            f"entry_y{y}" for y in (data.year - 1, data.year, data.year + 1)}
        with engine.connect() as connection:
            placed = _placed(connection)
        assert placed == {f"entry_y{data.year}": data.entries}
        with Session(engine) as session:
            report = integrity.Report()
            names = integrity._Names(session)
            integrity.check_finalized_totals(session, report, names, now)
            integrity.check_entries(session, report)
            assert report.ok, [p.message for p in report.problems[:10]]
        # The schema still matches the models, partitions aside (migrations/env.py).
        check(url)
        # Partitioning again only adds what is missing.
        again = partition.partition_entries(engine, [data.year + 2])
        assert f"entry_y{data.year + 2}" in again.partitions
        assert len(again.partitions) == len(layout.partitions) + 1
    finally:
        engine.dispose()


def test_partitioning_is_refused_on_sqlite(tmp_path: Path) -> None:
    from bench import run

    with pytest.raises(SystemExit, match="PostgreSQL"):
        run.main(["--members", "10", "--partition-entries",
                  "--database-url", f"sqlite:///{tmp_path}/x.db"])
