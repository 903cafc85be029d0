"""The load generators: a fixed number of requests over N keep-alive connections (a closed
loop, `run_load`), and requests sent at Poisson arrival times whatever is still outstanding
(an open loop, `run_open_loop`).

A small asyncio HTTP/1.1 client rather than httpx: on two cores the client shares the
machine with the server, and httpx's own per-request cost (about as much as a whole
/healthz answer) would show up as server slowness on the cheap endpoints. `--client httpx`
runs the same load through httpx.AsyncClient, to compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "GET"
    body: bytes = b""
    # The answer that counts as success (a form's POST answers 303 See Other).
    expect: int = 200

    def raw(self, host: str, port: int) -> bytes:
        head = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}",
                "Accept-Encoding: gzip", "User-Agent: jifen-bench"]
        head += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method not in ("GET", "HEAD"):
            head.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]
    failures: dict[int, int]  # status -> count (0: connection error)
    body_bytes: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        rank = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[rank]


# uvicorn closes a keep-alive connection idle for 5 s (its default); the client opens a new
# one rather than send on one idle that long, which the server may be closing just then.
IDLE_LIMIT_S = 4.0


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used_at = time.monotonic()

    async def get(self, raw: bytes) -> tuple[int, int]:
        """Send one request, read the whole answer: (status, body length)."""
        if self.writer is not None and time.monotonic() - self.used_at > IDLE_LIMIT_S:
            await self.close()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        size = 0
        if "content-length" in headers:
            size = int(headers["content-length"])
            await self.reader.readexactly(size)
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                chunk = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
                await self.reader.readexactly(chunk + 2)
                size += chunk
                if chunk == 0:
                    break
        self.used_at = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, size

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def _run_raw(base_url: str, requests: Sequence[Request], concurrency: int) -> LoadResult:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raws = [(r.raw(host, port), r.expect) for r in requests]
    latencies: list[float] = []
    failures: dict[int, int] = {}
    total_bytes = 0
    next_index = 0

    async def worker() -> None:
        nonlocal next_index, total_bytes
        connection = _Connection(host, port)
        try:
            while next_index < len(raws):
                raw, expect = raws[next_index]
                next_index += 1
                started = time.perf_counter()
                try:
                    status, size = await connection.get(raw)
                except (OSError, asyncio.IncompleteReadError):
                    await connection.close()
                    status, size = 0, 0
                latencies.append((time.perf_counter() - started) * 1000)
                total_bytes += size
                if status != expect:
                    failures[status] = failures.get(status, 0) + 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(raws), time.perf_counter() - started, latencies, failures,
                      total_bytes)


async def _run_httpx(base_url: str, requests: Sequence[Request],
                     concurrency: int) -> LoadResult:
    import httpx2 as httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    failures: dict[int, int] = {}
    total_bytes = 0
    next_index = 0
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:

        async def worker() -> None:
            nonlocal next_index, total_bytes
            while next_index < len(requests):
                r = requests[next_index]
                next_index += 1
                started = time.perf_counter()
                try:
                    answer = await client.request(r.method, r.path, headers=dict(r.headers),
                                                  content=r.body or None)
                    status, size = answer.status_code, len(answer.content)
                except httpx.TransportError:
                    status, size = 0, 0
                latencies.append((time.perf_counter() - started) * 1000)
                total_bytes += size
                if status != r.expect:
                    failures[status] = failures.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(requests), time.perf_counter() - started, latencies, failures,
                      total_bytes)


def run_load(base_url: str, requests: Sequence[Request], concurrency: int = 32,
             client: str = "raw") -> LoadResult:
    runner = _run_httpx if client == "httpx" else _run_raw
    return _run(runner(base_url, requests, concurrency))


def _run(work: Any) -> Any:
    """Run the client's coroutine on an event loop of its own; in a thread of its own when
    this one already runs a loop (Playwright's sync API leaves one in the test process)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _loop(work)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_loop, work).result()


def _loop(work: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)


# --- the open loop ------------------------------------------------------------------------


def poisson_arrivals(rate: float, seconds: float, seed: int) -> list[float]:
    """Arrival times (seconds from the start) of a Poisson process of `rate` per second over
    `seconds`: independent exponential gaps, so bursts come as they would from many people."""
    if rate <= 0 or seconds <= 0:
        return []
    rng = random.Random(seed)
    times, at = [], 0.0
    while True:
        at += rng.expovariate(rate)
        if at >= seconds:
            return times
        times.append(at)


@dataclass
class OpenLoopResult(LoadResult):
    """An open loop's answers. Latency runs from each request's *scheduled* arrival, not
    from when the client got round to sending it, so a client or server falling behind
    shows in it (no coordinated omission); `lag_ms` is how late the client sent each
    one (its own share), `connections` how many were open at most (requests in flight)."""

    lag_ms: list[float] = field(default_factory=list)
    connections: int = 0
    offered_rate: float = 0.0


async def _run_open(base_url: str, schedule: Sequence[tuple[float, Request]],
                    timeout: float) -> OpenLoopResult:
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    raws = [(at, r.raw(host, port), r.expect) for at, r in schedule]
    idle: list[_Connection] = []
    opened = 0
    latencies: list[float] = []
    lags: list[float] = []
    failures: dict[int, int] = {}
    total_bytes = 0

    async def send(due: float, raw: bytes, expect: int) -> None:
        nonlocal opened, total_bytes
        lags.append((time.perf_counter() - due) * 1000)
        if idle:
            connection = idle.pop()
        else:  # every open connection is busy: the arrival does not wait for one
            connection = _Connection(host, port)
            opened += 1
        try:
            status, size = await asyncio.wait_for(connection.get(raw), timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            await connection.close()
            status, size = 0, 0
        latencies.append((time.perf_counter() - due) * 1000)
        total_bytes += size
        if status != expect:
            failures[status] = failures.get(status, 0) + 1
        idle.append(connection)

    tasks = []
    started = time.perf_counter()
    for at, raw, expect in raws:
        due = started + at
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.ensure_future(send(due, raw, expect)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - started
    for connection in idle:
        await connection.close()
    span = schedule[-1][0] if schedule else 0.0
    return OpenLoopResult(len(raws), seconds, latencies, failures, total_bytes, lag_ms=lags,
                          connections=opened,
                          offered_rate=len(raws) / span if span else 0.0)


def run_open_loop(base_url: str, schedule: Sequence[tuple[float, Request]],
                  timeout: float = 60.0) -> OpenLoopResult:
    """Send each request at its time (seconds from the start; `poisson_arrivals`) on an idle
    keep-alive connection, or on a new one if all are busy: arrivals never wait for an
    earlier answer. A request not answered within `timeout` counts as failed (status 0)."""
    return _run(_run_open(base_url, schedule, timeout))
