"""The load generator: a fixed number of GET requests over N keep-alive connections.

A small asyncio HTTP/1.1 client rather than httpx: on two cores the client shares the
machine with the server, and httpx's own per-request cost (about as much as a whole
/healthz answer) would show up as server slowness on the cheap endpoints. `--client httpx`
runs the same load through httpx.AsyncClient, to compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    headers: tuple[tuple[str, str], ...] = ()


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


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, raw: bytes) -> tuple[int, int]:
        """Send one request, read the whole answer: (status, body length)."""
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
    raws = []
    for r in requests:
        head = [f"GET {r.path} HTTP/1.1", f"Host: {host}:{port}", "Accept-Encoding: gzip",
                "User-Agent: jifen-bench"]
        head += [f"{name}: {value}" for name, value in r.headers]
        raws.append(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    latencies: list[float] = []
    failures: dict[int, int] = {}
    total_bytes = 0
    next_index = 0

    async def worker() -> None:
        nonlocal next_index, total_bytes
        connection = _Connection(host, port)
        try:
            while next_index < len(raws):
                raw = raws[next_index]
                next_index += 1
                started = time.perf_counter()
                try:
                    status, size = await connection.get(raw)
                except (OSError, asyncio.IncompleteReadError):
                    await connection.close()
                    status, size = 0, 0
                latencies.append((time.perf_counter() - started) * 1000)
                total_bytes += size
                if status != 200:
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
                    answer = await client.get(r.path, headers=dict(r.headers))
                    status, size = answer.status_code, len(answer.content)
                except httpx.TransportError:
                    status, size = 0, 0
                latencies.append((time.perf_counter() - started) * 1000)
                total_bytes += size
                if status != 200:
                    failures[status] = failures.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(len(requests), time.perf_counter() - started, latencies, failures,
                      total_bytes)


def run_load(base_url: str, requests: Sequence[Request], concurrency: int = 32,
             client: str = "raw") -> LoadResult:
    runner = _run_httpx if client == "httpx" else _run_raw
    try:
        import uvloop

        return uvloop.run(runner(base_url, requests, concurrency))
    except ImportError:
        return asyncio.run(runner(base_url, requests, concurrency))
