"""Where the time goes: the annual ratings, the member page and the score API.

pyinstrument, in process: the ratings as bench/run.py makes them; the page and the API
as ASGI calls one at a time with the thread pool inlined, so that one profiler sees the
middleware, the dependencies, the endpoint and the template. With --py-spy, also the real
uvicorn server under 32 connections (py-spy, only threads holding the GIL), which shows
what concurrency adds (connection pool churn, thread hand-offs). The SQL statements each
one issues are counted.

    python bench/profile.py --members 10000 [--database-url URL] [--py-spy PATH] [--fresh]

It reuses the data set of bench/run.py (building it if missing) and resets it first.
Reports go to bench/data/profile-*.txt; a summary is printed.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from app.db import make_engine  # noqa: E402
from app.models import Account, Org  # noqa: E402
from app.services import ratings, reviews  # noqa: E402
from app.services.access import load_actor  # noqa: E402
from bench.dataset import DataSet  # noqa: E402
from bench.load import Request, run_load  # noqa: E402
from bench.run import prepare, reset  # noqa: E402
from bench.server import Server, api_token, page_login  # noqa: E402


class StatementLog:
    """Counts the SQL statements an engine runs and the time spent in them."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        self.seconds = 0.0
        self.shapes: Counter[str] = Counter()
        self._started: list[float] = []
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: object) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.seconds += time.perf_counter() - self._started.pop()
        self.count += 1
        self.shapes[re.sub(r"\s+", " ", statement)[:110]] += 1


def profile_ratings(url: str, year: int, admin: str, target_review: int, out: Path) -> str:
    from pyinstrument import Profiler

    engine = make_engine(url)
    with Session(engine) as session:
        actor = load_actor(session, session.exec(
            select(Account).where(Account.username == admin)).one())
        # Every quarter must be finalized: the run does the first branch's Q4 over HTTP.
        reviews.finalize_review(session, actor, target_review, datetime.now(UTC))
        session.commit()
        root = session.exec(select(Org.id).where(col(Org.parent_id).is_(None))
                            .order_by(col(Org.id))).first()
    log = StatementLog(engine)
    now = datetime.now(UTC)
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    with Session(engine, expire_on_commit=False) as session:
        batch = ratings.create_ratings(session, actor, root or 0, year, now)
        session.commit()
    profiler.stop()
    branches = batch.created
    elapsed = time.perf_counter() - started
    engine.dispose()
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    (out / "profile-rating.txt").write_text(text)
    top = "\n".join(f"  {n:6d}  {shape}" for shape, n in log.shapes.most_common(15))
    return (f"ratings of {len(branches)} branches: {elapsed:.2f}s, "
            f"{log.count / len(branches):.1f} statements per branch, "
            f"{log.seconds / elapsed:.0%} of the time inside the driver\n{top}\n")


def _inline_threadpool() -> None:
    """Run sync endpoints and dependencies in the calling thread, so one profiler sees it all."""
    import anyio.to_thread

    async def run_sync(func, *args, **_kwargs):  # type: ignore[no-untyped-def]
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


async def _asgi_get(app: object, path: str, headers: dict[str, str]) -> tuple[int, int]:
    """One GET straight into the ASGI app: no sockets, no client library."""
    target, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": target, "raw_path": target.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {}}
    status, size = 0, 0

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))  # type: ignore[arg-type]

    await app(scope, receive, send)  # type: ignore[operator]
    return status, size


def profile_requests(url: str, data: DataSet, out: Path, requests: int) -> str:
    """The page and the score API in process, one request at a time, under pyinstrument;
    plus the SQL statements one request issues."""
    import asyncio

    from fastapi.testclient import TestClient
    from pyinstrument import Profiler

    os.environ["JIFEN_DATABASE_URL"] = url
    # As the benchmark's server runs: production settings, plain http.
    os.environ.update(JIFEN_ENV="production", JIFEN_COOKIE_SECURE="false",
                      JIFEN_SECRET_KEY=secrets.token_urlsafe(48))
    from app.db import get_engine
    from app.main import app
    from app.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    log = StatementLog(get_engine())
    with TestClient(app) as client:
        cookies = []
        for username in data.sample:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            assert token is not None
            client.post("/login", data={"username": username, "password": data.password,
                                        "csrf_token": token.group(1)})
            cookies.append(client.cookies["jifen_session"])
            client.cookies.clear()
        bearer = client.post("/api/v1/auth/token", data={
            "username": data.admin, "password": data.password}).json()["access_token"]
    _inline_threadpool()
    cases = {
        "page": [(f"/me?year={data.year}", {"Cookie": f"jifen_session={c}",
                                            "Accept-Encoding": "gzip"}) for c in cookies],
        "api": [(f"/api/v1/members/{1 + (i * 7919) % data.members}/score?year={data.year}",
                 {"Authorization": f"Bearer {bearer}", "Accept-Encoding": "gzip"})
                for i in range(200)],
    }
    report = []
    for label, calls in cases.items():
        async def many(n: int, calls: list[tuple[str, dict[str, str]]] = calls) -> None:
            for i in range(n):
                status, _ = await _asgi_get(app, *calls[i % len(calls)])
                assert status == 200, status

        asyncio.run(many(50))  # warm
        log.count, log.seconds = 0, 0.0
        log.shapes.clear()
        asyncio.run(many(1))
        shapes = [f"  {n:3d}  {shape}" for shape, n in log.shapes.most_common()]
        statements = log.count
        profiler = Profiler(interval=0.0002)
        cpu, started = time.process_time(), time.perf_counter()
        profiler.start()
        asyncio.run(many(requests))
        profiler.stop()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        text = profiler.output_text(unicode=True, color=False)
        (out / f"profile-{label}.txt").write_text(text)
        report.append(f"--- {label}: {1000 * cpu / requests:.2f} ms CPU per request in "
                      f"process (wall {1000 * wall / requests:.2f} ms), "
                      f"{statements} SQL statements:\n" + "\n".join(shapes))
    return "\n".join(report) + "\n"


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip().rpartition(" ")
    return stack.split(";"), int(count)


# Where a sample's innermost frame is, by the first matching pattern.
CATEGORIES = (
    ("database driver (execute, fetch, connect, commit)",
     ("do_execute", "CursorFetchStrategy.fetch", "do_commit", "do_rollback", "do_close",
      "DefaultDialect.connect", "_sqlite_pragmas", "_sqlite_begin", "psycopg/")),
    ("Jinja2 rendering", ("jinja2/", "templates/", "getmtime")),
    ("gzip", ("gzip.py", "zlib")),
    ("SQLAlchemy (compile, cache keys, ORM loading, unit of work)", ("sqlalchemy/",)),
    ("SQLModel and pydantic (models, validation, JSON)", ("sqlmodel/", "pydantic")),
    ("the app's own code", ("(app/",)),
    ("server and framework (uvicorn, starlette, fastapi, anyio, asyncio)",
     ("uvicorn/", "starlette/", "fastapi/", "anyio/", "asyncio/", "threading.py",
      "contextlib.py", "concurrent/", "Runner.run")),
)


def summarize_spy(raw: Path, top: int = 25) -> str:
    """From py-spy's raw (collapsed) stacks: time by kind of work, and by app function."""
    inclusive: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        total += count
        # The event loop (MainThread: uvicorn, middleware, routing) or a worker thread
        # (sync endpoints and dependencies, the session's commit).
        threads["event loop" if "MainThread" in frames[0] else "worker threads"] += count
        for frame in set(frames):
            if "(app/" in frame:
                inclusive[frame] += count
        leaf = frames[-1]
        kind = next((name for name, marks in CATEGORIES
                     if any(mark in leaf for mark in marks)), "other")
        kinds[kind] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples holding the GIL", "by thread:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in threads.most_common()]
    lines += ["by kind of work (innermost frame):"]
    lines += [f"  {n / total:6.1%}  {kind}" for kind, n in kinds.most_common()]
    lines += ["the app's functions (inclusive):"]
    lines += [f"  {n / total:6.1%}  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def profile_server(url: str, data: DataSet, py_spy: str, out: Path, requests: int) -> str:
    server = Server(url, workers=1, workdir=out)
    server.start()
    report = []
    try:
        cookies = [page_login(server.url, u, data.password) for u in data.sample]
        admin = api_token(server.url, data.admin, data.password)
        pages = [Request(f"/me?year={data.year}",
                         (("Cookie", f"jifen_session={cookies[i % len(cookies)]}"),))
                 for i in range(requests)]
        api = [Request(f"/api/v1/members/{1 + (i * 7919) % data.members}/score?year="
                       f"{data.year}", (("Authorization", f"Bearer {admin}"),))
               for i in range(requests)]
        for label, load in (("page", pages), ("api", api)):
            run_load(server.url, load[:100])
            raw = out / f"spy-{label}.raw"
            assert server.process is not None
            spy = subprocess.Popen([py_spy, "record", "--pid", str(server.process.pid),
                                    "--rate", "200", "--format", "raw", "--threads", "--gil",
                                    "--output", str(raw)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            result = run_load(server.url, load)
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            summary = summarize_spy(raw)
            (out / f"spy-{label}.txt").write_text(summary)
            report.append(f"--- {label}: {result.rps:.0f} req/s, p99 "
                          f"{result.percentile(99):.0f} ms under 32 connections\n{summary}")
    finally:
        server.stop()
    return "\n".join(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--py-spy", metavar="PATH", help="also sample the real server under "
                        "32 connections with py-spy (pip install py-spy)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "data")
    parser.add_argument("--fresh", action="store_true", help="no page kept "
                        "(JIFEN_PAGE_CACHE_SIZE=0): every member page made afresh, as the "
                        "first look after a change is")
    args = parser.parse_args()
    if args.fresh:  # for the in-process app and the server (which inherits the environment)
        os.environ["JIFEN_PAGE_CACHE_SIZE"] = "0"
    args.out.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{args.out / f'bench-{args.members}.db'}"
    data, _ = prepare(url, args.members, reuse=True, seed=2025)
    reset(url, data)
    print(profile_ratings(url, data.year, data.admin, data.target_review, args.out))
    if args.py_spy:
        print(profile_server(url, data, args.py_spy, args.out, args.requests))
    print(profile_requests(url, data, args.out, args.requests))
    reset(url, data)


if __name__ == "__main__":
    main()
