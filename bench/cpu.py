"""Server CPU per request in process, for before/after comparisons on a busy machine.

    python bench/cpu.py --kind page --requests 300 --rounds 3 [--code DIR] [--profile]

One request at a time straight into the ASGI app (no sockets, the thread pool inlined, as
bench/profile.py does), on the --quick data set (built if missing, in bench/data or
--database-url). Prints, per round, the CPU time (time.process_time) per request in ms and
the best of the rounds. Kinds: `page` (the member page made afresh: no page kept), `api`
(GET /members/{id}/score as the administrator), `own` (the same as the member), `bulk`
(GET /orgs/{id}/scores, 50 a page), `feed` (GET /entries?updated_since=..., 100 a page)
and `floor` (GET /healthz, the bench's constant floor). `bulk` and `feed` walk a read's
first 40 pages, each by the previous page's `next`, as an integrator does.

--code DIR runs another checkout's app (say, the commit before a change, from
`git archive`) on the same data. --against DIR compares: two processes, one with that
checkout's app and one with this one, each warmed up, then asked for a round by turns
(old, new, old, new...), so each pair of rounds ran a moment apart under the same load;
it prints the median of the pairs' ratios (new / old) beside each side's best and median
round. On a machine shared with other work this is steadier than either side alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(code: Path | None) -> None:
    if code is not None:  # the other checkout's app comes first
        sys.path.insert(0, str(code))
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=("page", "api", "own", "bulk", "feed", "floor"),
                        default="page")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--database-url")
    parser.add_argument("--code", type=Path, help="import app from this directory")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument report here")
    parser.add_argument("--against", type=Path, help="compare with this checkout, by turns")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is not None:
        compare(args)
        return
    _setup(args.code)
    os.environ["JIFEN_PAGE_CACHE_SIZE"] = "0"
    url = args.database_url or f"sqlite:///{ROOT / 'bench' / 'data' / f'bench-{args.members}.db'}"

    from bench.run import prepare

    data, _ = prepare(url, args.members, reuse=True, seed=2025)
    os.environ.update(JIFEN_DATABASE_URL=url, JIFEN_ENV="production",
                      JIFEN_COOKIE_SECURE="false", JIFEN_SECRET_KEY=secrets.token_urlsafe(48))
    from fastapi.testclient import TestClient

    import app as app_package
    from app.db import get_engine
    from app.main import app
    from app.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    from bench.profile import _asgi_get, _inline_threadpool

    headers_of: list[dict[str, str]] = []
    with TestClient(app) as client:
        def bearer(username: str) -> dict[str, str]:
            token = client.post("/api/v1/auth/token", data={
                "username": username, "password": data.password}).json()["access_token"]
            return {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}

        if args.kind == "page":
            for username in data.sample:
                found = re.search(r'name="csrf_token" value="([^"]+)"',
                                  client.get("/login").text)
                assert found is not None
                client.post("/login", data={"username": username, "password": data.password,
                                            "csrf_token": found.group(1)})
                headers_of.append({"Cookie": f"jifen_session={client.cookies['jifen_session']}",
                                   "Accept-Encoding": "gzip"})
                client.cookies.clear()
        elif args.kind == "own":
            headers_of = [bearer(u) for u in data.sample]
        else:
            headers_of = [bearer(data.admin)]
        calls = [_call(args.kind, data, i, headers_of[i % len(headers_of)])
                 for i in range(max(args.requests, len(headers_of)))]
        if args.kind in ("bulk", "feed"):  # a read's pages, each by the previous `next`
            calls = _pages(client, calls[0])
    _inline_threadpool()

    async def many(n: int) -> None:
        for i in range(n):
            status, _ = await _asgi_get(app, *calls[i % len(calls)])
            assert status == 200, (status, calls[i % len(calls)][0])

    asyncio.run(many(min(50, args.requests)))  # warm
    if args.serve:  # a round each time the comparing process asks
        print("ready", flush=True)
        for _line in sys.stdin:
            cpu = time.process_time()
            asyncio.run(many(args.requests))
            print(1000 * (time.process_time() - cpu) / args.requests, flush=True)
        return
    rounds = []
    for _ in range(args.rounds):
        profiler = None
        if args.profile:
            from pyinstrument import Profiler
            profiler = Profiler(interval=0.0002)
            profiler.start()
        cpu = time.process_time()
        asyncio.run(many(args.requests))
        rounds.append(1000 * (time.process_time() - cpu) / args.requests)
        if profiler is not None:
            profiler.stop()
            args.profile.write_text(profiler.output_text(unicode=True, color=False))
    print(json.dumps({"kind": args.kind, "code": str(Path(app_package.__file__).parent.parent),
                      "best_ms": round(min(rounds), 3),
                      "median_ms": round(statistics.median(rounds), 3),
                      "ms_per_request": [round(r, 3) for r in rounds]}))


def compare(args: argparse.Namespace) -> None:
    """Old (--against) and new (this checkout) by turns, a round each, paired."""
    sides = {}
    for name, code in (("old", args.against), ("new", ROOT)):
        command = [sys.executable, str(Path(__file__).resolve()), "--serve",
                   "--kind", args.kind, "--requests", str(args.requests),
                   "--members", str(args.members), "--code", str(code)]
        if args.database_url:
            command += ["--database-url", args.database_url]
        sides[name] = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True)
    for side in sides.values():  # both warmed up before the first round
        assert side.stdout is not None and side.stdout.readline().strip() == "ready"
    rounds: dict[str, list[float]] = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name, side in sides.items():
            assert side.stdin is not None and side.stdout is not None
            side.stdin.write("go\n")
            side.stdin.flush()
            rounds[name].append(float(side.stdout.readline()))
    for side in sides.values():
        assert side.stdin is not None
        side.stdin.close()
        side.wait()
    ratios = [new / old for old, new in zip(rounds["old"], rounds["new"], strict=True)]
    print(json.dumps({
        "kind": args.kind, "requests_per_round": args.requests, "rounds": args.rounds,
        "old_best_ms": round(min(rounds["old"]), 3),
        "new_best_ms": round(min(rounds["new"]), 3),
        "old_median_ms": round(statistics.median(rounds["old"]), 3),
        "new_median_ms": round(statistics.median(rounds["new"]), 3),
        "new_vs_old_median_ratio": round(statistics.median(ratios), 3)}))


def _call(kind: str, data: object, i: int,
          headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    year = data.year  # type: ignore[attr-defined]
    members = data.members  # type: ignore[attr-defined]
    sample = data.sample_ids  # type: ignore[attr-defined]
    if kind == "page":
        return f"/me?year={year}", headers
    if kind == "own":
        return f"/api/v1/members/{sample[i % len(sample)]}/score?year={year}", headers
    if kind == "api":
        return f"/api/v1/members/{1 + (i * 7919) % members}/score?year={year}", headers
    if kind == "bulk":
        return f"/api/v1/orgs/1/scores?year={year}&limit=50", headers
    if kind == "floor":
        return "/healthz", headers
    return "/api/v1/entries?updated_since=2000-01-01T00:00:00Z&limit=100", headers


def _pages(client: object, first: tuple[str, dict[str, str]],
           most: int = 40) -> list[tuple[str, dict[str, str]]]:
    """A read's first pages (the bulk read's, the feed's), each by the previous `next`."""
    path, headers = first
    pages = [first]
    while len(pages) < most:
        found = client.get(path, headers=headers).json()  # type: ignore[attr-defined]
        if not found.get("next"):
            break
        path = f"{first[0]}&after={found['next']}"
        pages.append((path, headers))
    return pages


if __name__ == "__main__":
    main()
