"""nginx's access log as the drill's nginx writes it (deploy/cluster.py, `log_format drill`),
read for what an app server's death did: which requests it cut off in flight, and whether
nginx passed each on to the other server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r'(?P<msec>\d+\.\d+) (?P<status>\d{3}) "(?P<request>[^"]*)" '
                   r'(?P<seconds>\d+\.\d+) "(?P<addr>[^"]*)" "(?P<upstream_status>[^"]*)" '
                   r'"(?P<sent>[^"]*)" "(?P<key>[^"]*)"')
# Between two servers of one upstream group ", ", between groups (an internal redirect) " : ".
_SEPARATOR = re.compile(r", | : ")


@dataclass(frozen=True)
class Try:
    """One server nginx sent the request to: its address, its answer's status ("502" for
    no answer, "-" for none at all) and the bytes sent to it."""

    server: str
    status: str
    sent: int

    @property
    def answered(self) -> bool:
        """The server answered (its 5xx too, but not 502/504: nginx's own for no answer)."""
        return self.status.isdigit() and self.status not in ("502", "504")


@dataclass(frozen=True)
class Logged:
    """One request as nginx logged it, at its end."""

    ended: float  # seconds since the epoch
    status: int  # what the client was answered
    method: str
    path: str
    seconds: float  # from its first byte read to its end
    tries: tuple[Try, ...]
    key: str | None  # its Idempotency-Key

    @property
    def began(self) -> float:
        return self.ended - self.seconds


def parse(text: str) -> list[Logged]:
    """The lines of the log that are the drill's format (any other is skipped)."""
    found = []
    for line in text.splitlines():
        match = _LINE.fullmatch(line.strip())
        if match is None:
            continue
        method, _, rest = match["request"].partition(" ")
        servers = _SEPARATOR.split(match["addr"]) if match["addr"] != "-" else []
        statuses = _SEPARATOR.split(match["upstream_status"])
        sent = _SEPARATOR.split(match["sent"])
        tries = tuple(
            Try(server, statuses[n] if n < len(statuses) else "-",
                int(sent[n]) if n < len(sent) and sent[n].isdigit() else 0)
            for n, server in enumerate(servers))
        found.append(Logged(float(match["msec"]), int(match["status"]), method,
                            rest.rpartition(" ")[0] or rest, float(match["seconds"]), tries,
                            None if match["key"] in ("", "-") else match["key"]))
    return found


def cut_off(lines: list[Logged], server: str, killed_at: float) -> list[Logged]:
    """The requests `server` had in flight when it was killed at `killed_at` (epoch): begun
    before and ended after, sent to it (some bytes) and never answered by it. (A request
    that found it already dead began after, or was sent nothing: refused, not cut off.)"""
    return [line for line in lines if line.began <= killed_at <= line.ended
            and any(t.server == server and t.sent > 0 and not t.answered for t in line.tries)]


def passed_on(line: Logged, server: str) -> bool:
    """nginx sent the request to another server after `server` failed it, and that one
    answered."""
    tries = list(line.tries)
    failed = max((n for n, t in enumerate(tries) if t.server == server), default=len(tries))
    return any(t.answered and t.server != server for t in tries[failed + 1:])
