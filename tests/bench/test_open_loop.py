"""The open-loop load generator (bench/load.py): Poisson arrivals, requests sent whatever is
outstanding, latency from the scheduled arrival (no coordinated omission); and the bench
extra holding what the benchmark imports.

Against a tiny HTTP server in a thread that serves one request at a time, taking a fixed
time each: offered more than it can serve, the queue must show in the latencies.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import statistics
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from bench.load import Request, poisson_arrivals, run_load, run_open_loop

ROOT = Path(__file__).resolve().parents[2]


class SerialServer:
    """HTTP/1.1 on a free port; one request served at a time, each `service_s` long.
    Answers `status` (the path /303 answers 303) with the body length it read."""

    def __init__(self, service_s: float) -> None:
        self.service_s = service_s
        self.port = 0
        self.served = 0
        self.bodies: list[int] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        lock = asyncio.Lock()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                    length = next((int(line.split(":", 1)[1]) for line in head.split("\r\n")
                                   if line.lower().startswith("content-length:")), 0)
                    body = await reader.readexactly(length) if length else b""
                    async with lock:  # one at a time: a server at its capacity
                        await asyncio.sleep(self.service_s)
                    self.served += 1
                    self.bodies.append(len(body))
                    status = 303 if head.split(" ", 2)[1] == "/303" else 200
                    answer = str(len(body)).encode()
                    writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: {len(answer)}\r\n\r\n"
                                 .encode() + answer)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    def __enter__(self) -> SerialServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def slow_server() -> Iterator[SerialServer]:
    with SerialServer(0.02) as server:  # 20 ms a request: at most 50 requests/s
        yield server


def test_poisson_arrivals_come_at_the_rate_with_exponential_gaps() -> None:
    times = poisson_arrivals(200, 20, seed=1)
    assert times == sorted(times) and times[0] > 0 and times[-1] < 20
    assert 3700 <= len(times) <= 4300  # 4,000 expected; the sd is 63
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Exponential: the mean and the standard deviation are both 1/rate.
    assert statistics.mean(gaps) == pytest.approx(1 / 200, rel=0.1)
    assert statistics.stdev(gaps) == pytest.approx(1 / 200, rel=0.1)
    assert poisson_arrivals(200, 20, seed=1) == times  # reproducible
    assert poisson_arrivals(200, 20, seed=2) != times
    assert poisson_arrivals(0, 5, seed=1) == [] == poisson_arrivals(10, 0, seed=1)


def test_an_overloaded_server_shows_its_queue_in_the_open_loop(
        slow_server: SerialServer) -> None:
    # 100 arrivals a second for 1 s at a server that serves 50 a second: the last arrivals
    # wait for about half a second of queue. A closed loop of one connection would have
    # measured 20 ms for every request (the queue hidden in its waiting to send).
    schedule = [(at, Request("/")) for at in poisson_arrivals(100, 1.0, seed=3)]
    result = run_open_loop(slow_server.url, schedule)
    assert result.failures == {}
    assert result.requests == len(schedule) == slow_server.served
    assert result.percentile(99) > 300  # the queue, measured from each scheduled arrival
    assert result.connections > 5  # arrivals did not wait for a free connection
    assert max(result.lag_ms) < 100  # the client itself sent each on time
    closed = run_load(slow_server.url, [Request("/")] * 20, concurrency=1)
    assert closed.percentile(99) < 100


def test_a_server_with_room_answers_the_open_loop_at_its_own_speed(
        slow_server: SerialServer) -> None:
    schedule = [(at, Request("/")) for at in poisson_arrivals(10, 1.0, seed=4)]
    result = run_open_loop(slow_server.url, schedule)
    assert result.failures == {}
    assert 20 <= result.percentile(50) < 100


def test_posts_carry_their_body_and_count_the_expected_status(
        slow_server: SerialServer) -> None:
    body = b"x" * 5000
    schedule = [(0.0, Request("/303", method="POST", body=body, expect=303)),
                (0.01, Request("/", method="POST", body=b"", expect=200)),
                (0.02, Request("/303", method="POST", body=body))]  # 303, 200 expected
    result = run_open_loop(slow_server.url, schedule)
    assert sorted(slow_server.bodies) == [0, 5000, 5000]
    assert result.failures == {303: 1}


def test_the_load_runs_where_an_event_loop_already_runs(slow_server: SerialServer) -> None:
    """Playwright's sync API leaves a running loop in a test process (the browser tests and
    these share workers): the client then runs its own loop in a thread of its own."""
    async def inside_a_loop() -> None:
        result = run_open_loop(slow_server.url, [(0.0, Request("/"))])
        assert len(result.latencies_ms) == 1 and not result.failures
        closed = run_load(slow_server.url, [Request("/")] * 3, concurrency=1)
        assert len(closed.latencies_ms) == 3 and not closed.failures
        assert slow_server.served == 4

    asyncio.run(inside_a_loop())


def test_a_request_not_answered_in_time_is_a_failure() -> None:
    with SerialServer(0.5) as server:
        started = time.perf_counter()
        result = run_open_loop(server.url, [(0.0, Request("/"))], timeout=0.1)
        assert time.perf_counter() - started < 0.45
    assert result.failures == {0: 1}


def _third_party_imports() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "bench").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names
            and n not in ("app", "bench", "tests")}


def _requirement_name(spec: str) -> str:
    for stop in "<>=!~[; ":
        spec = spec.split(stop)[0]
    return spec.strip().lower().replace("_", "-")


def test_the_bench_extra_and_the_dependencies_hold_what_the_benchmark_imports() -> None:
    """`pip install -e '.[bench]'` must be enough to run bench/ (issue 20): every package
    bench/ imports is a dependency, in the bench extra, or required by one of those (uvloop
    comes with uvicorn[standard]). py-spy is a program, run only with --py-spy."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["bench"]]
    direct = {_requirement_name(r) for r in wanted}
    assert "httpx2" in direct
    provided = set(direct)
    todo = list(direct)
    while todo:  # what those require in turn (any extra: uvicorn[standard] brings uvloop)
        try:
            requires = metadata.requires(todo.pop()) or []
        except metadata.PackageNotFoundError:
            continue
        for name in map(_requirement_name, requires):
            if name not in provided:
                provided.add(name)
                todo.append(name)
    distributions = metadata.packages_distributions()
    # A module of a package not installed here (the bench extra under CI's '.[test]') has
    # no distribution to look up: its own name must then be the requirement's.
    missing = {module: distributions.get(module) for module in _third_party_imports()
               if not ({d.lower().replace("_", "-") for d in distributions.get(module, [])}
                       | {module.lower().replace("_", "-")}) & provided}
    assert missing == {}
