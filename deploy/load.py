"""The drill's steady mixed load, through the load balancer, as real clients behave.

Members read their score (the API, and the score page with a session cookie) and report
what they did with a photo: the photo first (POST /api/v1/photos), then the entry naming it
(POST /api/v1/entries). Committees approve what their branch's members reported. Every POST
carries an Idempotency-Key and is sent again with the SAME key after a connection error, a
502/503/504, a 507 (storage full), or a 409 `idempotency_in_progress` (after its
Retry-After), as docs/api/retries.md tells clients to; an operation still unanswered after
a while is put aside and sent again at the end (`drain`), as a phone keeps an outbox.

Every request is recorded (when, what, the answer), and every write the server acknowledged
(2xx) with what it gave back (the photo's path, the entry's id), for the checks afterwards.

Nothing the load sends may be refused for good: its photos are JPEGs under the size limit,
its entries a rule members may report themselves (P03), dated within the app's current
quarter (never in the future, nor before the member joined, nor in a quarter that could
be finalized or another year's rules), each approved once, by its branch's secretary, who
is not its author. So a write that ends in a 4xx (`Write.refused`) is the retry path
failing, e.g. an approval sent again with its key forgotten, answered 409 as already
approved: the drill checks that none does.
"""

from __future__ import annotations

import io
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx2 as httpx

from app.clock import Clock
from app.points import quarter_of, quarter_start

# A failure of the service as a client sees it (the rest are answers: 2xx, or a refusal).
FAILED = frozenset({0, 500, 502, 503, 504})
IN_PROGRESS = "idempotency_in_progress"
SELF_REPORT_RULE = "P03"  # 参加主题党日: members may report it themselves


@dataclass(frozen=True)
class Attempt:
    """One request and its answer: status 0 is a connection error (no answer)."""

    began: float
    ended: float
    kind: str
    status: int
    code: str | None = None
    key: str | None = None  # a write's Idempotency-Key


@dataclass
class Write:
    """One write operation under one Idempotency-Key, however many times it is sent."""

    kind: str  # photo | entry | approve
    key: str
    member: str
    marker: str = ""
    entry_id: int | None = None  # what an approval approves
    acked_at: float | None = None
    status: int | None = None
    result: Any = None  # the photo's path, the entry's id
    refused: str | None = None  # the code of a final refusal (4xx)
    sends: int = 0
    first_sent: float = 0.0


@dataclass
class Person:
    username: str
    member_id: int
    branch: str
    token: str
    cookie: str = ""


@dataclass
class Recorder:
    """What the clients saw, shared by their threads."""

    clock: Callable[[], float]
    attempts: list[Attempt] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    parked: list[tuple[Write, Callable[[Write, float], None]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self, began: float, kind: str, status: int, code: str | None,
                key: str | None = None) -> None:
        with self.lock:
            self.attempts.append(Attempt(began, self.clock(), kind, status, code, key))

    def write(self, write: Write) -> None:
        with self.lock:
            self.writes.append(write)

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(a.kind for a in self.attempts)


def small_photos(count: int, seed: int = 19, size: tuple[int, int] = (480, 360)) -> list[bytes]:
    """Distinct JPEGs (small: the app re-encodes a phone's photo small anyway)."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    photos = []
    width, height = size
    for n in range(count):
        image = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), 90))
        draw = ImageDraw.Draw(image)
        for _ in range(12 + width // 40):
            x, y = rng.randrange(width - 40), rng.randrange(height - 40)
            draw.rectangle((x, y, x + rng.randrange(10, 60), y + rng.randrange(10, 60)),
                           fill=(rng.randrange(256), n % 256, rng.randrange(256)))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85)
        photos.append(out.getvalue())
    return photos


def _code(answer: httpx.Response) -> str | None:
    if "json" not in answer.headers.get("content-type", ""):
        return None
    try:
        body = answer.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


class Load:
    """The clients: `start` their threads, `stop` them, `drain` what was put aside."""

    def __init__(self, base_url: str, people: list[Person], committees: dict[str, Person],
                 recorder: Recorder, *, threads: int, think: float, park_after: float,
                 run_id: str, seed: int = 2026) -> None:
        self.base_url = base_url
        self.people = people
        self.committees = committees
        self.recorder = recorder
        self.threads = threads
        self.think = think
        self.park_after = park_after
        self.run_id = run_id
        self.seed = seed
        self.stopping = threading.Event()
        self.pending: dict[str, queue.Queue[int]] = {b: queue.Queue() for b in committees}
        self.photos = small_photos(24)
        self._workers: list[threading.Thread] = []
        self._serial = 0
        self._serial_lock = threading.Lock()

    # --- one request -----------------------------------------------------------------

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(30, connect=3))

    def _get(self, client: httpx.Client, kind: str, path: str, who: Person,
             page: bool = False) -> httpx.Response | None:
        began = self.recorder.clock()
        headers = {"Cookie": f"jifen_session={who.cookie}"} if page else \
            {"Authorization": f"Bearer {who.token}"}
        try:
            answer = client.get(path, headers=headers)
        except httpx.TransportError:
            self.recorder.attempt(began, kind, 0, None)
            return None
        self.recorder.attempt(began, kind, answer.status_code, _code(answer))
        return answer

    def send(self, client: httpx.Client, write: Write, who: Person, path: str,
             deadline: float, **body: Any) -> httpx.Response | None:
        """POST until answered (2xx or a refusal) or `deadline`: the same key every time."""
        delay = 0.2
        headers = {"Authorization": f"Bearer {who.token}", "Idempotency-Key": write.key}
        while True:
            began = self.recorder.clock()
            if not write.first_sent:
                write.first_sent = began
            write.sends += 1
            try:
                answer = client.post(path, headers=headers, **body)
            except httpx.TransportError:
                self.recorder.attempt(began, write.kind, 0, None, write.key)
                wait = delay
            else:
                code = _code(answer)
                self.recorder.attempt(began, write.kind, answer.status_code, code, write.key)
                status = answer.status_code
                if 200 <= status < 300:
                    write.status, write.acked_at = status, self.recorder.clock()
                    return answer
                if status == 409 and code == IN_PROGRESS:
                    wait = min(float(answer.headers.get("retry-after", 2)), 2.0)
                elif status in FAILED or status in (429, 507):
                    wait = min(float(answer.headers.get("retry-after", delay)), 2.0)
                else:
                    write.status, write.refused = status, code or str(status)
                    return answer
            if self.recorder.clock() + wait > deadline:
                return None
            time.sleep(wait)
            delay = min(delay * 2, 2.0)

    # --- what people do ----------------------------------------------------------------

    def _marker(self) -> str:
        with self._serial_lock:
            self._serial += 1
            return f"drill {self.run_id} #{self._serial}"

    def _upload(self, client: httpx.Client, write: Write, who: Person, deadline: float,
                photo: bytes) -> str | None:
        answer = self.send(client, write, who, "/api/v1/photos", deadline,
                           files={"photo": ("photo.jpg", photo, "image/jpeg")})
        if answer is not None and write.acked_at is not None:
            write.result = answer.json()["evidence"]
            return str(write.result)
        return None

    def _report(self, client: httpx.Client, write: Write, who: Person, deadline: float,
                evidence: str, day: date) -> None:
        answer = self.send(client, write, who, "/api/v1/entries", deadline, json={
            "member_id": who.member_id, "rule_code": SELF_REPORT_RULE,
            "occurred_on": day.isoformat(), "note": write.marker, "evidence": evidence})
        if answer is not None and write.acked_at is not None:
            write.result = int(answer.json()["id"])
            self.pending[who.branch].put(write.result)

    def _approve(self, client: httpx.Client, write: Write, who: Person,
                 deadline: float) -> None:
        answer = self.send(client, write, who, f"/api/v1/entries/{write.entry_id}/approve",
                           deadline)
        if answer is not None and write.acked_at is not None:
            write.result = answer.json()["status"]

    def _park(self, write: Write, finish: Callable[[Write, float], None]) -> None:
        with self.recorder.lock:
            self.recorder.parked.append((write, finish))

    def self_report(self, client: httpx.Client, who: Person, rng: random.Random,
                    image: bytes | None = None) -> None:
        photo = Write("photo", str(uuid.uuid4()), who.username)
        self.recorder.write(photo)
        image = image or rng.choice(self.photos)
        today = Clock().today()  # the app's (Beijing's): a later day would be in the future
        day = max(today - timedelta(days=rng.randrange(0, 20)),
                  quarter_start(today.year, quarter_of(today)))
        entry = Write("entry", str(uuid.uuid4()), who.username, marker=self._marker())
        self.recorder.write(entry)

        def finish_entry(write: Write, deadline: float) -> None:
            with self._client() as later:
                self._report(later, write, who, deadline, str(photo.result), day)

        def finish_photo(write: Write, deadline: float) -> None:
            with self._client() as later:
                if self._upload(later, write, who, deadline, image) is not None:
                    finish_entry(entry, deadline)
                    if entry.acked_at is None and entry.refused is None:
                        self._park(entry, finish_entry)

        deadline = self.recorder.clock() + self.park_after
        if self._upload(client, photo, who, deadline, image) is None:
            if photo.refused is None:
                self._park(photo, finish_photo)
            return
        self._report(client, entry, who, self.recorder.clock() + self.park_after,
                     str(photo.result), day)
        if entry.acked_at is None and entry.refused is None:
            self._park(entry, finish_entry)

    def approve_one(self, client: httpx.Client, branch: str) -> bool:
        try:
            entry_id = self.pending[branch].get_nowait()
        except queue.Empty:
            return False
        who = self.committees[branch]
        write = Write("approve", str(uuid.uuid4()), who.username, entry_id=entry_id)
        self.recorder.write(write)

        def finish(write: Write, deadline: float) -> None:
            with self._client() as later:
                self._approve(later, write, who, deadline)

        self._approve(client, write, who, self.recorder.clock() + self.park_after)
        if write.acked_at is None and write.refused is None:
            self._park(write, finish)
        return True

    def burst(self, count: int, image: bytes) -> list[threading.Thread]:
        """`count` members reporting with a large photo at once, each in its own thread: the
        requests a fault started now cuts off in flight."""
        def report(n: int) -> None:
            with self._client() as client:
                self.self_report(client, self.people[n % len(self.people)],
                                 random.Random(n), image)

        threads = [threading.Thread(target=report, args=(n,), name=f"burst-{n}", daemon=True)
                   for n in range(count)]
        for thread in threads:
            thread.start()
        return threads

    # --- threads ---------------------------------------------------------------------

    def _member_loop(self, n: int) -> None:
        rng = random.Random(self.seed + n)
        mine = self.people[n::self.threads] or self.people
        with self._client() as client:
            while not self.stopping.is_set():
                who = rng.choice(mine)
                roll = rng.random()
                if roll < 0.4:
                    self._get(client, "score", f"/api/v1/members/{who.member_id}/score", who)
                elif roll < 0.6:
                    self._get(client, "page", "/me", who, page=True)
                else:
                    self.self_report(client, who, rng)
                self.stopping.wait(rng.uniform(0.5, 1.5) * self.think)

    def _committee_loop(self, n: int) -> None:
        rng = random.Random(self.seed + 1000 + n)
        branches = sorted(self.committees)
        with self._client() as client:
            while not self.stopping.is_set():
                branch = branches[n % len(branches)] if len(branches) > 1 else branches[0]
                if not self.approve_one(client, branch):
                    who = self.committees[branch]
                    self._get(client, "list", "/api/v1/entries?status=pending&limit=20", who)
                self.stopping.wait(rng.uniform(0.5, 1.5) * self.think)

    def _outbox_loop(self) -> None:
        """What was put aside is sent again every few seconds (as a phone retries its outbox
        while the app is open), each write with its own key, until answered."""
        while not self.stopping.wait(2.0):
            self._resend(self.recorder.clock() + self.park_after)

    def _resend(self, deadline: float) -> None:
        with self.recorder.lock:
            todo, self.recorder.parked = self.recorder.parked, []
        for write, finish in todo:
            if write.acked_at is None and write.refused is None:
                finish(write, deadline)
                if write.acked_at is None and write.refused is None:
                    self._park(write, finish)

    def start(self) -> None:
        self._workers.append(threading.Thread(target=self._outbox_loop, name="outbox",
                                              daemon=True))
        committee_threads = max(1, len(self.committees))
        for n in range(self.threads):
            self._workers.append(threading.Thread(target=self._member_loop, args=(n,),
                                                  name=f"member-{n}", daemon=True))
        for n in range(committee_threads):
            self._workers.append(threading.Thread(target=self._committee_loop, args=(n,),
                                                  name=f"committee-{n}", daemon=True))
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self.stopping.set()
        for worker in self._workers:
            worker.join(timeout=120)

    def drain(self, deadline: float) -> None:
        """Send again what was put aside, each with its own key, until answered or the
        deadline; then approve what is still waiting for its committee."""
        while self.recorder.parked and self.recorder.clock() < deadline:
            self._resend(deadline)
        with self._client() as client:
            for branch in self.committees:
                while self.recorder.clock() < deadline and self.approve_one(client, branch):
                    pass
