"""The benchmark's data set: a realistic year of a large organisation, written in bulk.

What goes through the services (so it is exactly what the app makes): the schema
(the Alembic migrations), the administrator account, and the year's rule set
(``ensure_rule_set``). Everything else is bulk rows shaped exactly as the services store
them, because a million members cannot go through one request each:

- the organisation tree 党委 → 总支 → 支部 with materialised paths as
  ``app/services/orgs.py`` writes them; branches of 10 to 60 members (the first one has
  60: it is the branch whose fourth quarter the runner finalizes over HTTP);
- every member with an account (one argon2 hash computed once and shared, since hashing
  a million passwords would take half a day), the committee grant of each branch's
  支部书记 and 支委 (secretary and deputy);
- about 40 approved entries per member over every rule kind, signed and capped as
  ``app/services/entries.py`` makes them (self-reports decided by the secretary, the
  deputy for the secretary's own, committee records approved at once);
- four quarterly reviews per branch: Q1 to Q3 finalized, with the ``final_ytd`` and
  ``final_delta`` that ``finalize_review`` stores, computed by the engine
  (``app.points.score_year``); Q4 finalized too except in the first branch, where it is
  published with a notice period of 0 days, ready to be finalized.

No audit rows are written for the bulk data (``jifen check`` would list every bulk row
as unaudited); the audit log holds only what went through the services.

SQLite: ``executemany`` on the plain driver in large transactions, journal and foreign
key checks off while loading (the rows are consistent by construction). PostgreSQL:
``COPY ... FROM STDIN`` with the foreign key triggers off (``session_replication_role =
replica``, when the user may), then the id sequences are moved past the ids written and
the tables are analysed (as autovacuum would do before long).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

import sqlalchemy as sa
from passlib.context import CryptContext
from sqlmodel import Session

from app.clock import CHINA
from app.db import make_engine
from app.demo.texts import GIVEN_MID, GIVEN_OLD, GIVEN_YOUNG, NOTES, SURNAMES
from app.migrate import upgrade
from app.points import ItemTotal, Kind, RuleItem, RuleSet, quarter_end, score_year
from app.services.accounts import create_admin
from app.services.rules import ensure_rule_set
from bench import partition
from bench.dataset import BulkWriter, DataSet, store_meta

PASSWORD = "bench-password-2025"
ADMIN = "bench_admin"
TARGET_SIZE = 60  # the branch whose Q4 the runner finalizes
BRANCHES_PER_GENERAL = 20
CHEAP_HASHING = CryptContext(schemes=["argon2"], argon2__memory_cost=1024,
                             argon2__time_cost=1, argon2__parallelism=1)
CHUNK_BRANCHES = 100
# Per member and year (scaled down for members who joined during the year).
POSITIVE_MEAN = 36.5
BONUS_MEAN = 1.5
NEGATIVE_MEAN = 1.5
GRAVE_NEGATIVE_MEAN = 0.05
DEDUCTION_MEAN = 0.5
VETO_SHARE = 0.002
LATE_JOINER_SHARE = 0.02
EXEMPT_SHARE = 0.01
LOW_ENGAGEMENT_SHARE = 0.06
# How often each positive item is earned by an average member in a year (sums to 36.5).
POSITIVE_WEIGHTS = {"P01": 4, "P02": 7.5, "P03": 4, "P04": 6, "P05": 3, "P06": 1,
                    "P07": 3, "P08": 3, "P09": 3, "P10": 2}
NEGATIVE_WEIGHTS = {"N01": 4, "N02": 3, "N03": 2, "N04": 2, "N05": 2}
GRAVE_WEIGHTS = {"N06": 1, "N07": 1, "N08": 2, "N09": 2, "N10": 2}
CATEGORIES = (("active", 45), ("retired", 25), ("rural", 20), ("mobile", 10))
REVIEW_SCORES = ((5, 80), (4, 12), (3, 5), (2, 2), (1, 1))
COMMITTEE_NOTES = ("支委会研究决定", "经支部核实", "")


class IndexedRules(RuleSet):
    """The same rule set with a dict behind item(): the engine looks items up per total."""

    def item(self, code: str) -> RuleItem | None:
        index: dict[str, RuleItem] | None = self.__dict__.get("_index")
        if index is None:
            index = {i.code: i for i in self.items}
            object.__setattr__(self, "_index", index)
        return index.get(code)


def choose_year(today: date) -> int:
    """The last year whose whole review timeline (to mid-January after it) is over."""
    return today.year - 1 if today >= date(today.year, 1, 25) else today.year - 2


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), tzinfo=CHINA).astimezone(UTC)


def stamp(moment: datetime) -> str:
    """A UTC moment as UTCDateTime stores it: naive UTC, SQLAlchemy's text form."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _table(weights: Iterable[tuple[Any, float]], slots: int = 1000) -> list[Any]:
    """A lookup list for O(1) weighted choice: table[int(random() * len(table))]."""
    pairs = list(weights)
    total = sum(w for _, w in pairs)
    table: list[Any] = []
    for value, weight in pairs:
        table.extend([value] * round(slots * weight / total))
    return table


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


@dataclass
class _Day:
    text: str
    quarter: int
    created: list[str]  # a few plausible moments of recording, Beijing daytime
    decided: list[str]  # the committee's decision on a self-report, a little later


def _days(year: int, rng: random.Random) -> list[_Day]:
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        created, decided = [], []
        for _ in range(8):
            moment = at(day + timedelta(days=rng.randrange(3)), rng.randrange(8, 22),
                        rng.randrange(60))
            created.append(stamp(moment))
            decided.append(stamp(moment + timedelta(minutes=rng.randrange(60, 48 * 60))))
        days.append(_Day(day.isoformat(), (day.month - 1) // 3 + 1, created, decided))
        day += timedelta(days=1)
    return days


@dataclass
class _Member:
    id: int
    org_id: int
    account: int
    recorder: int  # the account that records for and decides about this member
    joined: date
    exempt: bool
    category: str


ENTRY_COLUMNS = ("member_id", "org_id", "rule_code", "kind", "occurred_on", "year", "quarter",
                 "quantity", "points", "status", "note", "created_by", "created_at",
                 "decided_by", "decided_at")


def _updated(rows: list[tuple[Any, ...]], *latest: int) -> list[tuple[Any, ...]]:
    """The rows with updated_at (migration 0020) last: the first of the columns at `latest`
    that holds a time, as the migration fills it for rows stored before it."""
    return [(*row, next(row[i] for i in latest if row[i] is not None)) for row in rows]


class _EntryMaker:
    """Entries of one member's year, and the per-item, per-quarter totals the engine reads."""

    def __init__(self, rules: RuleSet, year: int, rng: random.Random) -> None:
        self.rules, self.year, self.rng = rules, year, rng
        self.days = _days(year, rng)
        self.first = date(year, 1, 1)
        # code -> (kind, points per unit or None when chosen, sign), as entries.py signs them
        self.shape = {i.code: (i.kind.value, i.points,
                               1 if i.kind in (Kind.positive, Kind.bonus) else -1)
                      for i in rules.items}
        codes = set(self.shape)
        self.positive = _table((c, w) for c, w in POSITIVE_WEIGHTS.items() if c in codes)
        self.negative = _table((c, w) for c, w in NEGATIVE_WEIGHTS.items() if c in codes)
        self.grave = _table((c, w) for c, w in GRAVE_WEIGHTS.items() if c in codes)
        self.vetoes = [i.code for i in rules.items if i.kind is Kind.veto]
        self.bonus = next((i.code for i in rules.items if i.kind is Kind.bonus), None)
        self.deduction = next((i.code for i in rules.items if i.kind is Kind.deduction), None)
        self.notes = {code: [[t.format(m=m, q=(m - 1) // 3 + 1) for t in NOTES.get(code, ("",))]
                             for m in range(1, 13)] for code in codes}

    def _points(self, code: str, chosen: int | None) -> tuple[int, int]:
        kind, per_unit, sign = self.shape[code]
        if kind == "veto":
            return 1, 0
        if per_unit is None:
            return 1, sign * (chosen or 1)
        quantity = 1
        if code == "P07":
            quantity = 1 + int(self.rng.random() * 4)
        elif self.rng.random() < 0.05:
            quantity = 2
        return quantity, sign * per_unit * quantity

    def member_year(self, m: _Member, out: list[tuple[Any, ...]]) -> list[ItemTotal]:
        rng, days = self.rng, self.days
        start = max(0, (m.joined - self.first).days)
        span = len(days) - start
        share = span / len(days)
        # Most members do what is asked; a few do little (they get the low grades).
        engagement = 0.2 if m.exempt else 0.3 + 0.4 * rng.random() \
            if rng.random() < LOW_ENGAGEMENT_SHARE else 0.8 + 0.45 * rng.random()
        plan: list[tuple[str, int | None, bool]] = []  # code, chosen points, self-reported
        for _ in range(round(POSITIVE_MEAN * engagement * share + rng.uniform(-2, 2))):
            plan.append((self.positive[int(rng.random() * len(self.positive))], None,
                         rng.random() < 0.7))
        if self.bonus:
            for _ in range(_poisson(rng, BONUS_MEAN * share)):
                plan.append((self.bonus, 1 + rng.randrange(5), False))
        for _ in range(_poisson(rng, NEGATIVE_MEAN * share * (1.6 - engagement * 0.6))):
            plan.append((self.negative[int(rng.random() * len(self.negative))], None, False))
        for _ in range(_poisson(rng, GRAVE_NEGATIVE_MEAN * share)):
            plan.append((self.grave[int(rng.random() * len(self.grave))], None, False))
        if self.deduction:
            for _ in range(_poisson(rng, DEDUCTION_MEAN * share)):
                plan.append((self.deduction, min(10, 1 + int(rng.expovariate(0.35))), False))
        if self.vetoes and rng.random() < VETO_SHARE:
            plan.append((self.vetoes[rng.randrange(len(self.vetoes))], None, False))
        totals: dict[tuple[str, int], list[int]] = {}
        year = self.year
        for code, chosen, reported in plan:
            day = days[start + int(rng.random() * span)]
            quantity, points = self._points(code, chosen)
            slot = int(rng.random() * 8)
            created = day.created[slot]
            month = int(day.text[5:7])
            notes = self.notes[code][month - 1]
            if reported:
                note, created_by, decided = notes[int(rng.random() * len(notes))], m.account, \
                    day.decided[slot]
            else:
                note, created_by, decided = COMMITTEE_NOTES[int(rng.random() * 3)], \
                    m.recorder, created
            out.append((m.id, m.org_id, code, self.shape[code][0], day.text, year, day.quarter,
                        quantity, points, "approved", note, created_by, created, m.recorder,
                        decided))
            key = (code, day.quarter)
            magnitude = abs(points)
            total = totals.get(key)
            if total is None:
                totals[key] = [magnitude, 1, magnitude]
            else:
                total[0] += magnitude
                total[1] += 1
                if magnitude > total[2]:
                    total[2] = magnitude
        return [ItemTotal(code, q, p, n, big) for (code, q), (p, n, big) in totals.items()]


def _name(rng: random.Random, joined: date) -> str:
    given = GIVEN_OLD if joined.year < 1990 else GIVEN_MID if joined.year < 2008 \
        else GIVEN_YOUNG
    return SURNAMES[rng.randrange(len(SURNAMES))] + given[rng.randrange(len(given))]


def branch_sizes(members: int, rng: random.Random) -> list[int]:
    """Sizes of 10 to 60 summing to `members`; the first is 60 when there are enough."""
    if members < 10:
        return [members]
    sizes = [min(TARGET_SIZE, members)]
    while sum(sizes) < members:
        left = members - sum(sizes)
        size = rng.randint(10, 60)
        if left - size < 10:
            size = left if left <= 60 else left - 10
        sizes.append(size)
    return sizes


def _refuse_unless_empty(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        for table in ("org", "member", "account", "entry"):
            if connection.execute(sa.text(f"SELECT 1 FROM {table} LIMIT 1")).first():
                raise SystemExit(f"the database already has {table} rows; the generator "
                                 "fills only an empty database")


def generate(url: str, members: int, *, seed: int = 2025, year: int | None = None,
             sample_size: int = 50, now: datetime | None = None,
             progress: Callable[[str], None] = lambda _: None,
             partition_entries: bool = False) -> DataSet:
    """Fill the empty database at `url` with `members` members and their year.

    With `partition_entries` (PostgreSQL), `entry` is partitioned by year right after the
    migrations (bench/partition.py): the data's year, the years beside it, a default.
    """
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    year = year or choose_year(now.astimezone(CHINA).date())
    rng = random.Random(seed)
    upgrade(url)
    engine = make_engine(url)
    _refuse_unless_empty(engine)
    if partition_entries:
        partition.partition_entries(engine, range(year - 1, year + 2))
    roll_out = at(date(year - 1, 12, 1), 9)
    with Session(engine) as session:
        admin = create_admin(session, ADMIN, PASSWORD, roll_out)
        stored = ensure_rule_set(session, year, roll_out)
        session.commit()
        if admin.id != 1:
            raise SystemExit("the administrator must be the first account")
    rules = IndexedRules(year=stored.year, items=stored.items, params=stored.params)
    # One argon2 hash shared by every member account, with cheap parameters: logging in is
    # not measured, and the page benchmark logs in 50 members on a busy machine.
    member_hash = CHEAP_HASHING.hash(PASSWORD)
    seconds: dict[str, float] = {"setup": time.perf_counter() - started}
    rows: dict[str, int] = {}

    writer = BulkWriter(engine)
    sizes = branch_sizes(members, rng)
    # Orgs: the 党委 (1), a 总支 per 20 branches, the branches; ids in that order.
    org_rows: list[tuple[Any, ...]] = [(1, "市直机关党委", None, "committee", "/1/",
                                        stamp(roll_out))]
    generals = math.ceil(len(sizes) / BRANCHES_PER_GENERAL)
    for g in range(generals):
        org_id = 2 + g
        org_rows.append((org_id, f"第{g + 1}党总支", 1, "general_branch", f"/1/{org_id}/",
                         stamp(roll_out)))
    branch_ids = []
    for b in range(len(sizes)):
        org_id = 2 + generals + b
        parent = 2 + b // BRANCHES_PER_GENERAL
        branch_ids.append(org_id)
        org_rows.append((org_id, f"第{b + 1}党支部", parent, "branch",
                         f"/1/{parent}/{org_id}/", stamp(roll_out)))
    writer.insert("org", ("id", "name", "parent_id", "kind", "path", "created_at",
                          "updated_at"), _updated(org_rows, -1))
    rows["org"] = len(org_rows)

    maker = _EntryMaker(rules, year, rng)
    category_table = _table(CATEGORIES)
    review_score_table = _table(REVIEW_SCORES)
    quarter_ends = {q: quarter_end(year, q) for q in (1, 2, 3, 4)}
    target_review = 4  # branch 0's Q4 (review ids are 4 * branch index + quarter)
    counts = dict.fromkeys(("member", "account", "role_grant", "entry", "review",
                            "review_score"), 0)
    sample_every = max(1, members // sample_size)
    sample: list[tuple[int, str]] = []
    target_secretary = ""
    member_id = 0
    review_score_id = 0
    t_entries = 0.0
    for chunk_start in range(0, len(sizes), CHUNK_BRANCHES):
        member_rows: list[tuple[Any, ...]] = []
        exemption_rows: list[tuple[Any, ...]] = []
        account_rows: list[tuple[Any, ...]] = []
        grant_rows: list[tuple[Any, ...]] = []
        entry_rows: list[tuple[Any, ...]] = []
        review_rows: list[tuple[Any, ...]] = []
        score_rows: list[tuple[Any, ...]] = []
        for b in range(chunk_start, min(len(sizes), chunk_start + CHUNK_BRANCHES)):
            org_id = branch_ids[b]
            first = member_id + 1
            secretary, deputy = first + 1, first + 2  # account ids: member id + 1
            branch: list[_Member] = []
            for position in range(sizes[b]):
                member_id += 1
                late = position > 1 and rng.random() < LATE_JOINER_SHARE
                if late:
                    joined = date(year, 1, 2) + timedelta(days=rng.randrange(330))
                else:
                    joined = date(rng.randint(1972, year - 1), rng.randint(1, 12),
                                  rng.randint(1, 28))
                category = category_table[int(rng.random() * len(category_table))]
                # None in the first branch, whose 60 members all vote in ballot_60_s.
                exempt = position > 1 and not late and rng.random() < EXEMPT_SHARE and b > 0
                if exempt:
                    category = "retired"
                created = stamp(at(joined, 9) if late else roll_out)
                member_rows.append((member_id, _name(rng, joined), org_id, category,
                                    joined.isoformat(), created))
                if exempt:  # 免评 of the year (appraisal.md §1)
                    exemption_rows.append((member_id, year, "other", "年老体弱", "active",
                                           created))
                account_id = member_id + 1
                username = f"m{member_id}"
                account_rows.append((account_id, username, member_hash, member_id, False,
                                     created, created))
                branch.append(_Member(member_id, org_id, account_id,
                                      deputy if account_id == secretary else secretary,
                                      joined, exempt, category))
                if member_id % sample_every == 0 and len(sample) < sample_size:
                    sample.append((member_id, username))
            if b == 0:
                target_secretary = f"m{first}"
            grant_rows.append((first, org_id, "committee", stamp(roll_out)))
            if sizes[b] > 1:
                grant_rows.append((first + 1, org_id, "committee", stamp(roll_out)))
            t0 = time.perf_counter()
            finals: dict[int, tuple[Any, ...]] = {}
            review_scores: dict[int, dict[int, int | None]] = {}
            for m in branch:
                totals = maker.member_year(m, entry_rows)
                scores = {q: review_score_table[int(rng.random() * len(review_score_table))]
                          for q in (1, 2, 3, 4) if m.joined <= quarter_ends[q]}
                review_scores[m.id] = scores
                year_score = score_year(rules, totals, scores)
                finals[m.id] = tuple((year_score.quarter(q).ytd, year_score.quarter(q).delta)
                                     for q in (1, 2, 3, 4))
            t_entries += time.perf_counter() - t0
            for q in (1, 2, 3, 4):
                review_id = 4 * b + q
                end = quarter_ends[q]
                published = at(end + timedelta(days=8), 10)
                open_q4 = b == 0 and q == 4
                review_rows.append((
                    review_id, org_id, year, q, "published" if open_q4 else "finalized",
                    stamp(published if open_q4 else published + timedelta(days=5)), secretary,
                    stamp(at(end + timedelta(days=3), 9)), secretary, stamp(published),
                    None if open_q4 else secretary,
                    None if open_q4 else stamp(at(end + timedelta(days=14), 10))))
                for m in branch:
                    score = review_scores[m.id].get(q)
                    if m.joined > end:
                        continue
                    review_score_id += 1
                    ytd, delta = (None, None) if open_q4 else finals[m.id][q - 1]
                    score_rows.append((review_score_id, review_id, m.id, score, ytd, delta))
        t0 = time.perf_counter()
        writer.insert("member", ("id", "name", "org_id", "category", "joined_on",
                                 "created_at", "updated_at"), _updated(member_rows, -1))
        writer.insert("member_exemption", ("member_id", "year", "reason_kind", "note", "status",
                                           "created_at", "updated_at"),
                      _updated(exemption_rows, -1))
        writer.insert("account", ("id", "username", "password_hash", "member_id", "is_admin",
                                  "password_changed_at", "created_at"), account_rows)
        writer.insert("role_grant", ("member_id", "org_id", "role", "created_at"), grant_rows)
        # decided_at, else created_at; finalized_at, else published_at
        writer.insert("entry", (*ENTRY_COLUMNS, "updated_at"), _updated(entry_rows, -1, -3))
        writer.insert("review", ("id", "org_id", "year", "quarter", "status", "notice_until",
                                 "created_by", "created_at", "published_by", "published_at",
                                 "finalized_by", "finalized_at", "updated_at"),
                      _updated(review_rows, -1, -3))
        writer.insert("review_score", ("id", "review_id", "member_id", "score", "final_ytd",
                                       "final_delta"), score_rows)
        writer.commit()
        seconds["write"] = seconds.get("write", 0.0) + time.perf_counter() - t0
        for table, batch in (("member", member_rows), ("account", account_rows),
                             ("role_grant", grant_rows), ("entry", entry_rows),
                             ("review", review_rows), ("review_score", score_rows)):
            counts[table] += len(batch)
        progress(f"{member_id}/{members} members, {counts['entry']} entries, "
                 f"{time.perf_counter() - started:.0f}s")
    t0 = time.perf_counter()
    writer.finish(("org", "member", "account", "review", "review_score"))
    seconds["finish"] = time.perf_counter() - t0
    rows.update(counts)
    seconds["generate"] = t_entries
    seconds["total"] = time.perf_counter() - started
    with engine.connect() as connection:
        audit_max = connection.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_log")
                                       ).scalar_one()
    data = DataSet(
        members=members, entries=counts["entry"], year=year, branches=len(sizes), seed=seed,
        admin=ADMIN, password=PASSWORD, target_branch=branch_ids[0],
        target_review=target_review, target_secretary=target_secretary,
        sample=[u for _, u in sample], sample_ids=[i for i, _ in sample],
        audit_max_id=int(audit_max), rows=rows,
        seconds={k: round(v, 3) for k, v in seconds.items()})
    store_meta(engine, data)
    engine.dispose()
    return data
