"""Jifen's benchmark: build a data set, then measure the rating, the pages and the API.

    python bench/run.py --members 100000 [--database-url URL] [--json]
    python bench/run.py --quick            # 10,000 members, under two minutes on 2 cores

Each run builds a fresh data set (bench/generate.py) unless --reuse finds one of the same
size in the database, which it then resets (the ratings and the finalization a run makes
are undone) so that the run measures the same work again. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: python bench/run.py
    sys.path.insert(0, str(ROOT))

import httpx2 as httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from app.clock import Clock  # noqa: E402
from app.db import make_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import Account, Org, Rating  # noqa: E402
from app.services import appraisal, appraisal_summary, ratings, reviews  # noqa: E402
from app.services.access import Actor, load_actor  # noqa: E402
from bench import partition  # noqa: E402
from bench.ballots import GRADES, Cast, at_once, known_ballot, tallies  # noqa: E402
from bench.dataset import DataSet, load_meta  # noqa: E402
from bench.generate import TARGET_SIZE, generate  # noqa: E402
from bench.load import (  # noqa: E402
    LoadResult,
    OpenLoopResult,
    Request,
    poisson_arrivals,
    run_load,
    run_open_loop,
)
from bench.server import Server, api_token, page_login  # noqa: E402
from bench.writes import Writes  # noqa: E402

KEYS = ("members", "entries", "rating_s", "sql_floor_s", "rating_vs_sql", "page_rps",
        "page_p99_ms", "floor_rps", "page_vs_floor", "api_p99_ms", "finalize_ms",
        "server_rss_mb", "appraisal_summary_ms", "appraisal_sql_ms", "appraisal_summary_vs_sql",
        "ballot_60_s", "ballot_60_lost",
        # Issue 20: the page made afresh and the score API against the floor; the open loop.
        "fresh_rps", "fresh_vs_floor", "api_rps", "api_vs_floor",
        "open_floor_p99_ms", "open_page_p99_ms", "open_fresh_p99_ms", "open_api_p99_ms",
        "open_write_p99_ms", "close_quarter_s", "close_quarter_vs_sql",
        # Issue 20, part two: the integrators' bulk reads, per item returned (members of the
        # bulk score read, entries of the change feed) against the floor's requests.
        "bulk_scores_vs_floor", "feed_vs_floor")
QUICK_MEMBERS = 10_000
# The open loop's arrivals per second, and how long each kind of request arrives at it.
OPEN_RATE = 100.0
OPEN_SECONDS = 30.0
QUICK_OPEN_SECONDS = 6.0
# Why the quarter's end publishes with no notice (below the year's minimum needs a reason).
CLOSE_REASON = "基准测试：公示与确认连续办理"
FLOOR_SQL = ("SELECT member_id, rule_code, sum(points) FROM entry "
             "WHERE year = :year AND status = 'approved' GROUP BY member_id, rule_code")
# The least the appraisal summary can cost: the year's rating lines counted per rating and
# grade, one aggregate over the same rating_item rows the summary reads.
APPRAISAL_FLOOR_SQL = ("SELECT rating_id, grade, count(*) FROM rating_item WHERE rating_id IN "
                       "(SELECT id FROM rating WHERE year = :year) GROUP BY rating_id, grade")
APPRAISAL_RUNS = 7
# The bulk reads: pages of this many items (the API's largest), at most this many pages
# (the change feed's pages cost over a second each on SQLite at 10k: see
# docs/performance.md; 4 keep --quick under three minutes).
BULK_LIMIT = 500
BULK_PAGES = {"bulk": 20, "feed": 4}


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the data set -------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path | None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database)


def _wipe(url: str) -> None:
    """Empty a database that holds a benchmark data set (never anything else)."""
    path = _sqlite_path(url)
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


def reset(url: str, data: DataSet) -> None:
    """Undo what a run did, so the next measures the same work: ratings, the finalization."""
    engine = make_engine(url)
    with engine.begin() as connection:
        params = {"year": data.year, "review": data.target_review, "audit": data.audit_max_id}
        of_the_year = "rating_id IN (SELECT id FROM rating WHERE year = :year)"
        for statement in (
            *(f"DELETE FROM {table} WHERE {of_the_year}" for table in (
                "rating_tally", "rating_voter", "self_assessment", "objection",
                "rating_item")),
            "DELETE FROM rating WHERE year = :year",
            "UPDATE review SET status = 'published', finalized_by = NULL, finalized_at = NULL "
            "WHERE id = :review",
            "UPDATE review_score SET final_ytd = NULL, final_delta = NULL "
            "WHERE review_id = :review",
            "DELETE FROM audit_log WHERE id > :audit",
            "DELETE FROM login_attempt",
            # The open loop's self-reports (dated today, after the data set's year).
            "DELETE FROM entry WHERE year > :year",
            "DELETE FROM evidence_photo WHERE path NOT IN "
            "(SELECT evidence FROM entry WHERE evidence IS NOT NULL)",
        ):
            connection.execute(sa.text(statement), params)
    engine.dispose()


def prepare(url: str, members: int, *, reuse: bool, seed: int,
            partition_entries: bool = False) -> tuple[DataSet, bool]:
    """The data set to measure: (data, whether it was generated now)."""
    path = _sqlite_path(url)
    existing: DataSet | None = None
    if path is None or path.exists():
        engine = make_engine(url)
        existing = load_meta(engine)
        same_layout = partition.is_partitioned(engine) == partition_entries
        has_rows = False
        if existing is None and sa.inspect(engine).has_table("org"):
            with engine.connect() as connection:
                has_rows = connection.execute(sa.text("SELECT 1 FROM org LIMIT 1")).first() \
                    is not None
        engine.dispose()
        if has_rows:
            raise SystemExit(f"{sa.make_url(url).render_as_string()} holds data that is not a "
                             "benchmark data set; give an empty database")
    if existing is not None and reuse and existing.members == members and same_layout:
        say(f"reusing the data set of {members} members ({existing.entries} entries); "
            "resetting its ratings and the Q4 finalization")
        upgrade(url)  # a data set made before the newest migration gets it first
        reset(url, existing)
        return existing, False
    if existing is not None or (path is not None and path.exists()):
        _wipe(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    say(f"generating {members} members")
    data = generate(url, members, seed=seed, progress=say,
                    partition_entries=partition_entries)
    say(f"generated {data.entries} entries ({sum(data.rows.values())} rows) in "
        f"{data.seconds['total']:.1f}s: {data.rates()}")
    return data, True


# --- the server: pages, API, finalize, memory ----------------------------------------------


def _load(server: Server, requests: list[Request], warmup: int, concurrency: int,
          client: str, what: str, extra: dict[str, float]) -> LoadResult:
    if warmup:
        run_load(server.url, requests[:warmup], concurrency, client)
    cpu = server.cpu_seconds()
    result = run_load(server.url, requests, concurrency, client)
    # Server CPU per request: unlike req/s, hardly moved by other work on the machine.
    cpu_ms = (server.cpu_seconds() - cpu) * 1000 / result.requests
    if result.failures:
        raise SystemExit(f"{what}: {sum(result.failures.values())} requests failed "
                         f"{result.failures}; see {server.log}")
    say(f"{what}: {result.rps:.0f} req/s, p50 {result.percentile(50):.1f} ms, "
        f"p99 {result.percentile(99):.1f} ms, server CPU {cpu_ms:.2f} ms/request, "
        f"{result.body_bytes // result.requests} B/answer")
    name = what.split()[0]
    extra[f"{name}_cpu_ms"] = round(cpu_ms, 3)
    extra[f"{name}_p99_ms"] = round(result.percentile(99), 1)
    extra[f"{name}_rps"] = round(result.rps, 1)
    return result


def _open(server: Server, schedule: list[tuple[float, Request]], what: str,
          extra: dict[str, float]) -> OpenLoopResult:
    """One open loop: the requests at their Poisson arrival times (bench/load.py)."""
    cpu = server.cpu_seconds()
    result = run_open_loop(server.url, schedule)
    cpu_ms = (server.cpu_seconds() - cpu) * 1000 / max(1, result.requests)
    if result.failures:
        raise SystemExit(f"open loop {what}: {sum(result.failures.values())} requests failed "
                         f"{result.failures}; see {server.log}")
    lag = sorted(result.lag_ms)[int(0.99 * (len(result.lag_ms) - 1))] if result.lag_ms else 0
    say(f"open loop {what}: {result.requests} requests at {result.offered_rate:.0f}/s, "
        f"p50 {result.percentile(50):.1f} ms, p99 {result.percentile(99):.1f} ms, "
        f"{result.connections} connections at most, client late by {lag:.1f} ms at p99, "
        f"server CPU {cpu_ms:.2f} ms/request")
    name = what.split()[0]
    extra[f"open_{name}_cpu_ms"] = round(cpu_ms, 3)
    extra[f"open_{name}_p50_ms"] = round(result.percentile(50), 1)
    extra[f"open_{name}_connections"] = result.connections
    extra[f"open_{name}_client_lag_p99_ms"] = round(lag, 1)
    return result


def _schedule(requests: list[Request], args: argparse.Namespace, seed: int
              ) -> list[tuple[float, Request]]:
    """Poisson arrivals at --rate over --open-seconds, cycling over the requests."""
    times = poisson_arrivals(args.rate, args.open_seconds, seed)
    return [(at, requests[i % len(requests)]) for i, at in enumerate(times)]


def bulk_pages(client: Any, headers: tuple[tuple[str, str], ...], first: str,
               most: int) -> list[tuple[Request, int]]:
    """A paged read's first `most` pages, each by the previous one's `next` cursor, with
    how many items each answers (`client`: an httpx client, or a TestClient)."""
    pages: list[tuple[Request, int]] = []
    path: str | None = first
    while path is not None and len(pages) < most:
        answer = client.get(path, headers=dict(headers))
        answer.raise_for_status()
        found = answer.json()
        pages.append((Request(path, headers), len(found["items"])))
        path = f"{first}&after={found['next']}" if found.get("next") else None
    return pages


def _bulk_reads(server: Server, data: DataSet, bearer: tuple[tuple[str, str], ...],
                args: argparse.Namespace, extra: dict[str, float]) -> dict[str, float]:
    """The bulk score read (GET /orgs/{root}/scores) and the change feed (GET /entries
    ?updated_since=...) as an integrator reads them, BULK_LIMIT items a page by the cursor
    (the first BULK_PAGES):
    items returned per second (and server CPU per item), against the floor's requests per
    second. Each page is read once to find the next cursor, then all are loaded."""
    reads = {
        "bulk": f"/api/v1/orgs/{data_root(server.url, bearer)}/scores?year={data.year}"
                f"&limit={BULK_LIMIT}",
        "feed": f"/api/v1/entries?updated_since=2000-01-01T00:00:00Z&limit={BULK_LIMIT}",
    }
    per_second: dict[str, float] = {}
    for name, first in reads.items():
        with httpx.Client(base_url=server.url, timeout=120) as client:
            pages = bulk_pages(client, bearer, first, BULK_PAGES[name])
        items = sum(n for _, n in pages)
        result = _load(server, [r for r, _ in pages], 0, args.concurrency, args.client,
                       f"{name} {first.split('?')[0]} ({len(pages)} pages, {items} items)",
                       extra)
        per_second[name] = items / result.seconds if result.seconds else 0.0
        extra[f"{name}_items_per_s"] = round(per_second[name], 1)
        extra[f"{name}_cpu_ms_per_item"] = round(
            extra[f"{name}_cpu_ms"] * result.requests / max(1, items), 4)
    return per_second


def data_root(base_url: str, bearer: tuple[tuple[str, str], ...]) -> int:
    """The top organisation (the 党委 over every branch of the data set)."""
    with httpx.Client(base_url=base_url, timeout=60, headers=dict(bearer)) as client:
        answer = client.get("/api/v1/orgs", params={"limit": 500})
        answer.raise_for_status()
        return int(min((o for o in answer.json()["items"] if o.get("parent_id") is None),
                       key=lambda o: o["id"])["id"])


def measure_server(url: str, data: DataSet, args: argparse.Namespace,
                   extra: dict[str, float]) -> dict[str, float]:
    server = Server(url, workers=args.workers, workdir=args.workdir)
    server.start()
    try:
        say(f"server on {server.url}, {args.workers} worker(s); logging in "
            f"{len(data.sample)} members")
        cookies = [page_login(server.url, u, data.password) for u in data.sample]
        admin = api_token(server.url, data.admin, data.password)
        secretary = api_token(server.url, data.target_secretary, data.password)
        n = args.requests
        pages = [Request(f"/me?year={data.year}",
                         (("Cookie", f"jifen_session={cookies[i % len(cookies)]}"),))
                 for i in range(n)]
        rng = random.Random(data.seed)
        bearer = (("Authorization", f"Bearer {admin}"),)
        api = [Request(f"/api/v1/members/{rng.randint(1, data.members)}/score?year={data.year}",
                       bearer) for _ in range(max(1, n // 2))]
        floor = [Request("/healthz")] * n
        warmup = min(200, n // 10)
        page = _load(server, pages, warmup, args.concurrency, args.client,
                     "page /me", extra)
        flo = _load(server, floor, warmup, args.concurrency, args.client, "floor /healthz",
                    extra)
        api_result = _load(server, api, warmup // 2, args.concurrency, args.client,
                           "api /api/v1/members/{id}/score", extra)
        bulk = _bulk_reads(server, data, bearer, args, extra)
        # The open loop: requests arrive at --rate whatever is outstanding (issue 20).
        opened: dict[str, float] = {}
        for key, requests, what in (("open_floor_p99_ms", floor, "floor /healthz"),
                                    ("open_page_p99_ms", pages, "page /me (kept)"),
                                    ("open_api_p99_ms", api, "api /members/{id}/score")):
            result = _open(server, _schedule(requests, args, data.seed + len(opened)), what,
                           extra)
            opened[key] = round(result.percentile(99), 1)
        # Writes: a member's self-report with a small photo (the form, one POST) and a
        # committee's approval of a pending self-report, by turns (bench/writes.py).
        writes = Writes.prepare(server.url, url, data, cookies)
        times = poisson_arrivals(args.rate, args.open_seconds, data.seed + 7)
        approvals = writes.pending(server.url, (len(times) + 1) // 2)
        schedule = [(at, writes.report(i // 2) if i % 2 == 0 else approvals[i // 2])
                    for i, at in enumerate(times)]
        opened["open_write_p99_ms"] = round(_open(server, schedule, "write (self-report, "
                                                  "approval)", extra).percentile(99), 1)
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {secretary}"}) as client:
            client.get("/api/v1/me").raise_for_status()  # the connection is open already
            started = time.perf_counter()
            answer = client.post(f"/api/v1/reviews/{data.target_review}/finalize")
            finalize_ms = (time.perf_counter() - started) * 1000
        if answer.status_code != 200 or answer.json().get("status") != "finalized":
            raise SystemExit(f"finalize: {answer.status_code} {answer.text[:300]}")
        say(f"finalize of a {min(TARGET_SIZE, data.members)}-member branch's Q4: "
            f"{finalize_ms:.1f} ms")
        rss = server.rss_mb()
    finally:
        server.stop()
    # The same pages with none kept (JIFEN_PAGE_CACHE_SIZE=0): what each costs when it is
    # made afresh, as the first look after a change is. Same secret: the logins still hold.
    cold = Server(url, workers=args.workers, workdir=args.workdir, secret_key=server.secret_key,
                  env={"JIFEN_PAGE_CACHE_SIZE": "0"})
    cold.start()
    try:
        # The floor again beside it, so that the ratio compares loads a moment apart.
        cold_floor = _load(cold, floor, warmup, args.concurrency, args.client,
                           "floor2 /healthz (beside the fresh pages)", extra)
        fresh = _load(cold, pages, warmup, args.concurrency, args.client,
                      "uncached /me (none kept)", extra)
        opened["open_fresh_p99_ms"] = round(_open(
            cold, _schedule(pages, args, data.seed + 5), "fresh /me (none kept)",
            extra).percentile(99), 1)
    finally:
        cold.stop()
    return {
        "page_rps": round(page.rps, 1),
        "page_p99_ms": round(page.percentile(99), 1),
        "floor_rps": round(flo.rps, 1),
        "page_vs_floor": round(page.rps / flo.rps, 3),
        "api_p99_ms": round(api_result.percentile(99), 1),
        "finalize_ms": round(finalize_ms, 1),
        "server_rss_mb": rss,
        "fresh_rps": round(fresh.rps, 1),
        "fresh_vs_floor": round(fresh.rps / cold_floor.rps, 3),
        "api_rps": round(api_result.rps, 1),
        # From the two figures as printed, so a reader dividing them gets the same ratio.
        "api_vs_floor": round(round(api_result.rps, 1) / round(flo.rps, 1), 3),
        "bulk_scores_vs_floor": round(bulk["bulk"] / flo.rps, 3),
        "feed_vs_floor": round(bulk["feed"] / flo.rps, 3),
        **opened,
    }


# --- the quarter's end of every branch ------------------------------------------------------


def measure_close_quarter(url: str, data: DataSet, extra: dict[str, float]
                          ) -> dict[str, float]:
    """Q4 published and finalized (已确认) for every branch through the services, one branch
    after another as the committees would (two transactions a branch, as two requests),
    against one SQL aggregate over the year's approved entries that finalizing reads (the
    best of three, right after). Every Q4 is first set back to a draft with no final totals;
    afterwards every quarter is finalized again, as the ratings need."""
    engine = make_engine(url)
    params = {"year": data.year}
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE review SET status = 'draft', notice_until = NULL, published_by = NULL, "
            "published_at = NULL, finalized_by = NULL, finalized_at = NULL, "
            "publish_reason = NULL, finalize_reason = NULL "
            "WHERE year = :year AND quarter = 4"), params)
        connection.execute(sa.text(
            "UPDATE review_score SET final_ytd = NULL, final_delta = NULL WHERE review_id IN "
            "(SELECT id FROM review WHERE year = :year AND quarter = 4)"), params)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == data.admin)).one()
        actor = load_actor(session, account)
        ids = [i for (i,) in session.execute(sa.text(
            "SELECT id FROM review WHERE year = :year AND quarter = 4 ORDER BY org_id"),
            params)]
    sql_floor(engine, data.year)  # warm the caches, untimed
    cpu, started = time.process_time(), time.perf_counter()
    for review_id in ids:
        with Session(engine, expire_on_commit=False) as session:
            reviews.publish_review(session, actor, review_id, 0, datetime.now(UTC),
                                   reason=CLOSE_REASON)
            session.commit()
        with Session(engine, expire_on_commit=False) as session:
            reviews.finalize_review(session, actor, review_id, datetime.now(UTC))
            session.commit()
    close_s = time.perf_counter() - started
    extra["close_quarter_cpu_s"] = round(time.process_time() - cpu, 3)
    floor_s = min(sql_floor(engine, data.year) for _ in range(3))
    engine.dispose()
    say(f"quarter's end: Q4 of {len(ids)} branches published and finalized in {close_s:.2f}s "
        f"({1000 * close_s / max(1, len(ids)):.1f} ms a branch; this process's CPU "
        f"{extra['close_quarter_cpu_s']:.2f}s); SQL aggregate {floor_s:.3f}s")
    return {"close_quarter_s": round(close_s, 3),
            "close_quarter_vs_sql": round(close_s / floor_s, 2)}


# --- the annual ratings against the SQL floor ------------------------------------------------


def sql_floor(engine: sa.Engine, year: int) -> float:
    started = time.perf_counter()
    with engine.connect() as connection:
        rows = connection.execute(sa.text(FLOOR_SQL), {"year": year}).fetchall()
    elapsed = time.perf_counter() - started
    assert rows
    return elapsed


def measure_ratings(url: str, data: DataSet, extra: dict[str, float]) -> dict[str, float]:
    engine = make_engine(url)
    sql_floor(engine, data.year)  # warm the caches for both, untimed
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == data.admin)).one()
        actor = load_actor(session, account)
        root = session.exec(select(Org.id).where(col(Org.parent_id).is_(None))
                            .order_by(col(Org.id))).first()
    now = datetime.now(UTC)
    cpu = time.process_time()
    started = time.perf_counter()
    # One call rates every branch of the organisation, as a city's committee would.
    with Session(engine, expire_on_commit=False) as session:
        batch = ratings.create_ratings(session, actor, root or 0, data.year, now)
        session.commit()
    rating_s = time.perf_counter() - started
    extra["rating_cpu_s"] = round(time.process_time() - cpu, 3)
    floors, floor_cpu = [], []
    for _ in range(3):
        cpu = time.process_time()
        floors.append(sql_floor(engine, data.year))
        floor_cpu.append(time.process_time() - cpu)
    floor_s = min(floors)
    extra["sql_floor_cpu_s"] = round(min(floor_cpu), 4)
    engine.dispose()
    assert not batch.skipped, batch.skipped[:3]
    say(f"ratings of {len(batch.created)} branches: {rating_s:.2f}s (this process's CPU "
        f"{extra['rating_cpu_s']:.2f}s); SQL floor {floor_s:.3f}s (min of "
        f"{', '.join(f'{f:.3f}' for f in floors)})")
    return {"rating_s": round(rating_s, 3), "sql_floor_s": round(floor_s, 4),
            "rating_vs_sql": round(rating_s / floor_s, 2)}


def measure_appraisal_summary(url: str, data: DataSet, extra: dict[str, float]
                              ) -> dict[str, float]:
    """The 党委's summary of the annual appraisal (appraisal.md §3), every branch rated, as
    the service makes it in a fresh session (the organisation, the rules, its statements,
    the answer's objects), against one SQL aggregate over the same rating lines: the best
    of APPRAISAL_RUNS each, taken in turns after one untimed run of both. SQLite works in
    this process, so its CPU time is measured too (steadier on a busy machine)."""
    engine = make_engine(url)
    with Session(engine) as session:
        account = session.exec(select(Account).where(Account.username == data.admin)).one()
        actor = load_actor(session, account)
        root = session.exec(select(Org.id).where(col(Org.parent_id).is_(None))
                            .order_by(col(Org.id))).first() or 0
    now = datetime.now(UTC)

    def summary() -> None:
        with Session(engine) as session:
            found = appraisal_summary.appraisal_summary(session, actor, root, data.year, now)
        assert found.totals.members == data.members, (found.totals.members, data.members)

    def floor() -> None:
        with engine.connect() as connection:
            assert connection.execute(sa.text(APPRAISAL_FLOOR_SQL),
                                      {"year": data.year}).all()

    timed: dict[str, list[tuple[float, float]]] = {"summary": [], "floor": []}
    for run_ in range(APPRAISAL_RUNS + 1):
        for name, work in (("summary", summary), ("floor", floor)):
            cpu, started = time.process_time(), time.perf_counter()
            work()
            if run_:
                timed[name].append((time.perf_counter() - started, time.process_time() - cpu))
    engine.dispose()
    (summary_s, summary_cpu), (floor_s, floor_cpu) = (
        (min(t[0] for t in timed[k]), min(t[1] for t in timed[k])) for k in timed)
    extra["appraisal_summary_cpu_ms"] = round(summary_cpu * 1000, 1)
    extra["appraisal_sql_cpu_ms"] = round(floor_cpu * 1000, 1)
    extra["appraisal_summary_vs_sql_cpu"] = round(summary_cpu / floor_cpu, 2)
    say(f"appraisal summary of {data.branches} branches: {summary_s * 1000:.1f} ms (CPU "
        f"{summary_cpu * 1000:.1f} ms); one SQL aggregate over the same lines "
        f"{floor_s * 1000:.1f} ms (CPU {floor_cpu * 1000:.1f} ms)")
    return {"appraisal_summary_ms": round(summary_s * 1000, 1),
            "appraisal_sql_ms": round(floor_s * 1000, 1),
            "appraisal_summary_vs_sql": round(summary_s / floor_s, 2)}


# --- the ballot of the 60-member branch ----------------------------------------------------


def measure_ballot(url: str, data: DataSet, args: argparse.Namespace,
                   extra: dict[str, float]) -> dict[str, float]:
    """The first branch's ballot (民主测评): every voter's ballot sent at once to a fresh
    server, each worked out from its number (bench/ballots.py); then closed, its tally
    compared with the sum of the ballots answered 201.

    `ballot_60_lost` is the least number of ballots not counted exactly once: the largest
    of the ballots not acknowledged, the acknowledged ones missing from (or added to) the
    ballots cast, and the largest difference of any line's count from the known sum.
    """
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        account = session.exec(select(Account).where(Account.username == data.admin)).one()
        actor = load_actor(session, account)
        rating = session.exec(select(Rating).where(Rating.org_id == data.target_branch,
                                                   Rating.year == data.year)).one()
        rating_id = rating.id or 0
        appraisal.open_ballot(session, actor, rating_id, Clock().now(), Clock().today())
        session.commit()
        voters = appraisal.voter_ids(session, rating_id)
        lines = [i.member_id for i in ratings.rating_items(session, rating_id)
                 if appraisal.graded(i)]
        usernames = dict(session.exec(select(Account.member_id, Account.username).where(
            col(Account.member_id).in_(voters))).all())
    ballots = [known_ballot(i, lines, own=voter) for i, voter in enumerate(voters)]
    server = Server(url, workers=args.workers, workdir=args.workdir)
    server.start()
    try:
        tokens = [api_token(server.url, usernames[v], data.password) for v in voters]
        casts = [Cast(f"/api/v1/ratings/{rating_id}/ballots", token, ballot)
                 for token, ballot in zip(tokens, ballots, strict=True)]
        cpu = server.cpu_seconds()
        seconds, answers = at_once(server.url, casts)
        # Server CPU per ballot: unlike the seconds, hardly moved by other work on the
        # machine (includes the connections' GET /healthz, 1 ms each: see floor_cpu_ms).
        extra["ballot_cpu_ms"] = round((server.cpu_seconds() - cpu) * 1000 / len(casts), 2)
    finally:
        server.stop()
    lost = _ballots_lost(engine, actor, rating_id, lines, len(casts),
                         [b for b, a in zip(ballots, answers, strict=True) if a.status == 201])
    engine.dispose()
    extra["ballot_voters"] = len(voters)
    refused = sorted({f"{a.status} {a.code}" for a in answers if a.status != 201})
    say(f"ballot: {len(casts)} voters at once in {seconds:.2f}s (server CPU "
        f"{extra['ballot_cpu_ms']:.1f} ms/ballot), {len(casts) - lost} counted once"
        f"{'; refused: ' + ', '.join(refused) if refused else ''}")
    return {"ballot_60_s": round(seconds, 3), "ballot_60_lost": lost}


def _ballots_lost(engine: sa.Engine, actor: Actor, rating_id: int, lines: list[int],
                  sent: int, acknowledged: list[dict[int, str]]) -> int:
    """Close the ballot and compare: see measure_ballot."""
    with Session(engine, expire_on_commit=False) as session:
        rating = appraisal.close_ballot(session, actor, rating_id, datetime.now(UTC))
        session.commit()
        stored = appraisal.tallies(session, rating)
    expected = tallies(acknowledged, lines)
    off = max(abs(stored[line][g] - expected[line][g]) for line in lines
              for g in (*GRADES, "abstain"))
    return max(sent - len(acknowledged), abs(rating.cast_online - len(acknowledged)), off)


# --- the run ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    return {"cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "load_avg": [round(x, 2) for x in
                                                              os.getloadavg()],
            "commit": commit}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--members", type=int, help="members in the data set")
    size.add_argument("--quick", action="store_true", help=f"{QUICK_MEMBERS:,} members")
    parser.add_argument("--database-url", help="an empty database, or one holding a data set "
                        "made by this tool (default: SQLite file bench/data/bench-N.db)")
    parser.add_argument("--reuse", action="store_true", help="reuse a data set of the same "
                        "size found in the database (reset), instead of building a fresh one")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--save", nargs="?", const="", default=None, metavar="PATH",
                        help="also write the results with metadata to PATH "
                        "(default bench/results/<date>-<database>-<members>.json)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--requests", type=int, default=2000, help="page and floor requests "
                        "(the API gets half as many)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load generator (see bench/load.py)")
    parser.add_argument("--rate", type=float, default=OPEN_RATE, help="open loop: requests "
                        "arriving per second (Poisson) of each kind")
    parser.add_argument("--open-seconds", type=float, default=None, help="open loop: how long "
                        f"each kind arrives (default {OPEN_SECONDS:g}; with --quick "
                        f"{QUICK_OPEN_SECONDS:g})")
    parser.add_argument("--partition-entries", action="store_true", help="PostgreSQL: "
                        "partition the entry table by year before loading (bench/partition.py)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench" / "data",
                        help="for the SQLite file, the server's log and uploads")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    members = QUICK_MEMBERS if args.quick else args.members
    if members < 1:
        raise SystemExit("--members must be at least 1")
    if args.open_seconds is None:
        args.open_seconds = QUICK_OPEN_SECONDS if args.quick else OPEN_SECONDS
    if args.rate <= 0 or args.open_seconds <= 0:
        raise SystemExit("--rate and --open-seconds must be above 0")
    url = args.database_url or f"sqlite:///{args.workdir / f'bench-{members}.db'}"
    if args.partition_entries and sa.make_url(url).get_backend_name() != "postgresql":
        raise SystemExit("--partition-entries needs a PostgreSQL --database-url")
    started = time.perf_counter()
    data, generated = prepare(url, members, reuse=args.reuse, seed=args.seed,
                              partition_entries=args.partition_entries)
    results: dict[str, Any] = {"members": data.members, "entries": data.entries}
    extra: dict[str, float] = {}
    results |= measure_server(url, data, args, extra)
    results |= measure_close_quarter(url, data, extra)
    results |= measure_ratings(url, data, extra)
    results |= measure_appraisal_summary(url, data, extra)
    results |= measure_ballot(url, data, args, extra)
    results = {key: results[key] for key in KEYS}
    say(f"done in {time.perf_counter() - started:.0f}s")
    if args.save is not None:
        dialect = sa.make_url(url).get_backend_name()
        layout = "-partitioned" if args.partition_entries else ""
        path = Path(args.save) if args.save else ROOT / "bench" / "results" / \
            f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{dialect}-{members}{layout}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"database": dialect, "workers": args.workers, "requests": args.requests,
                "concurrency": args.concurrency, "client": args.client,
                "open_rate": args.rate, "open_seconds": args.open_seconds,
                "generated": generated, "generation_s": data.seconds,
                "generation_rates": data.rates(), "rows": data.rows, "loads": extra,
                "entry_partitions": partition.partition_names(url)
                if args.partition_entries else None,
                "at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
        path.write_text(json.dumps(results | {"meta": meta}, indent=2) + "\n")
        say(f"saved {path}")
    if args.json:
        print(json.dumps(results))
    else:
        width = max(len(k) for k in KEYS)
        for key in KEYS:
            print(f"{key:<{width}}  {results[key]}")
    return results


if __name__ == "__main__":
    main()
