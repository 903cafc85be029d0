"""Ballots (民主测评, appraisal.md §2.3) cast at once against a running server.

Used by the benchmark (`ballot_60_s`, `ballot_60_lost`: bench/run.py) and by the live test
of a branch of 60 voting at once (tests/live/test_ballot_load.py). Every ballot is worked
out from its number, so what the tally must be afterwards is known.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx2 as httpx

GRADES = ("excellent", "qualified", "basically_qualified", "unqualified")
Ballot = dict[int, str]  # graded line (member id) -> grade; a line left out abstains


def known_ballot(number: int, lines: Sequence[int], own: int | None = None) -> Ballot:
    """Ballot `number`: line j (in the order given) gets GRADES[(number + 2j) % 5], the
    fifth value being an abstention; never the voter's own line."""
    ballot = {}
    for j, line in enumerate(lines):
        pick = (number + 2 * j) % 5
        if line != own and pick < len(GRADES):
            ballot[line] = GRADES[pick]
    return ballot


def tallies(ballots: Iterable[Ballot], lines: Sequence[int]) -> dict[int, dict[str, int]]:
    """Each line's counts and abstentions over the ballots, as GET /ratings/{id} gives
    them once the ballot is closed."""
    cast = list(ballots)
    counts = {line: dict.fromkeys(GRADES, 0) for line in lines}
    for ballot in cast:
        for line, grade in ballot.items():
            counts[line][grade] += 1
    return {line: {**c, "abstain": len(cast) - sum(c.values())} for line, c in counts.items()}


@dataclass(frozen=True)
class Cast:
    """One POST: an online ballot (…/ballots, the voter's token), a paper one typed in by a
    committee member (…/paper-ballots, their token), or a step without a body (None)."""

    path: str
    token: str
    ballot: Ballot | None
    after: float = 0.0  # seconds it waits once released


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (the connection failed)
    code: str  # the error's code; "" for a success


def at_once(base_url: str, casts: Sequence[Cast]) -> tuple[float, list[Answer]]:
    """Send every cast at the same moment, one thread and one open connection each.

    Returns the seconds from their release to the last answer, and the answers in order.
    The connections are opened beforehand (a GET /healthz on each, also all at once), so
    what is timed is the ballots alone.
    """
    n = len(casts)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    started: list[float] = []
    barrier = threading.Barrier(n, action=lambda: started.append(time.perf_counter()))
    warm = threading.Barrier(n)

    def send(cast: Cast) -> tuple[Answer, float]:
        warm.wait()
        client.get("/healthz")
        barrier.wait()
        time.sleep(cast.after)
        try:
            body = None if cast.ballot is None else {
                "votes": {str(k): v for k, v in cast.ballot.items()}}
            answer = client.post(cast.path, headers={"Authorization": f"Bearer {cast.token}"},
                                 json=body)
        except httpx.TransportError:
            return Answer(0, "transport_error"), time.perf_counter()
        code = "" if answer.status_code < 400 else str(answer.json().get("code", ""))
        return Answer(answer.status_code, code), time.perf_counter()

    with httpx.Client(base_url=base_url, timeout=120, limits=limits) as client, \
            ThreadPoolExecutor(max_workers=n) as pool:
        done = list(pool.map(send, casts))
    return max(t for _, t in done) - started[0], [a for a, _ in done]
