"""The world the fuzzer runs against, the callers it runs as, and what it sent.

One world is built per test module through the real API (tests/api/support.py), then
every generated request runs in a savepoint that is rolled back after it: no request
sees another's writes, and the world's ids stay valid for the whole run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, func, select

from app.clock import FixedClock
from app.models import Account
from app.schemas import MAX_ID
from tests.api.support import NO_NOTICE, Headers, World, build_world, ok

# Who calls: nobody, a plain member of branch A, a committee member of branch A, a committee
# member of branch B (so branch A's things are outside their scope), the administrator.
ROLES = ("anonymous", "a1", "sec_a", "sec_b", "admin")


@dataclass
class FuzzWorld:
    db: Session
    headers: dict[str, Headers]
    # Real ids by kind; a generated id is aimed at one of them most of the time.
    ids: dict[str, list[int]] = field(default_factory=dict)
    built: dict[str, int] = field(default_factory=dict)  # the rows when it was built

    def rows(self) -> dict[str, int]:
        """Rows per table; every change also adds an audit row, so this shows any write."""
        with self.isolated():
            return {table.name: self.db.exec(select(func.count()).select_from(table)).one()
                    for table in SQLModel.metadata.sorted_tables}

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Whatever happens inside is rolled back: a savepoint around the request."""
        connection = self.db.get_bind()
        assert isinstance(connection, sa.Connection)
        self.db.close()  # the session's own savepoints must nest inside this one, not around it
        savepoint = connection.begin_nested()
        try:
            yield
        finally:
            # Forget what the request loaded (it may have been changed, then rolled back).
            self.db.close()
            savepoint.rollback()


def _finalized_year(world: World, who: str, branch: int, year: int) -> list[int]:
    reviews = []
    for quarter in (1, 2, 3, 4):
        review = ok(world.post(who, f"/orgs/{branch}/reviews",
                               {"year": year, "quarter": quarter}), 201)["id"]
        ok(world.post(who, f"/reviews/{review}/publish", NO_NOTICE))
        ok(world.post(who, f"/reviews/{review}/finalize"))
        reviews.append(review)
    return reviews


def build_fuzz_world(client: TestClient, db: Session, clock: FixedClock) -> FuzzWorld:
    """build_world, plus one of each thing in each state worth reaching.

    Branch A, 2025: Q1 published (notice running) with a1's open objection, Q2 and Q3 in
    draft; entries of Q3: a1's pending self-report, a2's approved entry, sec_a's own
    pending one. Branch B: 2025 finalized (b1 has a veto) and its rating in draft."""
    world = build_world(client, db, clock)
    a, b = world.branch_a, world.branch_b
    published = ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": 1}),
                   201)["id"]
    ok(world.post("sec_a", f"/reviews/{published}/publish", {"notice_days": 5}))
    objection = ok(world.post("a1", f"/reviews/{published}/objections",
                              {"text": "我一季度的评议分不对。"}), 201)["id"]
    drafts = [ok(world.post("sec_a", f"/orgs/{a}/reviews", {"year": 2025, "quarter": q}),
                 201)["id"] for q in (2, 3)]
    entries = [world.entry("a1", "a1", "P01", "2025-08-06", note="参加集中学习")["id"],
               world.entry("sec_a", "a2", "P01", "2025-08-06")["id"],
               world.entry("sec_a", "sec_a", "P02", "2025-08-06")["id"],
               world.entry("sec_b", "b1", "V01", "2025-03-01", note="违纪")["id"]]
    finalized = _finalized_year(world, "sec_b", b, 2025)
    rating = ok(world.post("sec_b", f"/orgs/{b}/ratings", {"year": 2025}), 201)["id"]
    accounts = [i for i in db.exec(select(Account.id)).all() if i is not None]
    orgs = [world.party, a, b]
    members = list(world.members.values())
    ids = {
        "org": orgs, "member": members, "entry": entries,
        "review": [published, *drafts, *finalized], "objection": [objection],
        "rating": [rating], "account": accounts,
    }
    ids["object"] = sorted({i for kind in ids.values() for i in kind})
    headers = {role: world.as_(role) for role in ROLES if role != "anonymous"}
    built = FuzzWorld(db=db, headers={"anonymous": {}, **headers}, ids=ids)
    built.built = built.rows()
    return built


# Which kind of id a parameter or field holds, by its name.
ID_KINDS = {
    "org_id": "org", "parent_id": "org", "member_id": "member", "entry_id": "entry",
    "review_id": "review", "objection_id": "objection", "rating_id": "rating",
    "actor_id": "account", "object_id": "object",
}


def _aimed(ids: list[int], value: Any) -> Any:
    """Three positive ids in four become a real one (chosen by the value, so the run stays
    deterministic); zero, negatives, huge numbers and non-numbers stay as generated."""
    if type(value) is int and 1 <= value <= MAX_ID and value % 4:
        return ids[value % len(ids)]
    return value


def aim_at_world(world: FuzzWorld, path: dict[str, Any] | None, query: dict[str, Any] | None,
                 body: Any) -> None:
    """Point the generated ids in the path, the query and a JSON body at the world's objects,
    so requests reach real members, entries, reviews... and not only 404s."""
    fields: dict[str, Any] = body if isinstance(body, dict) else {}
    for params in (path or {}, query or {}, fields):
        for name, value in params.items():
            if name in ID_KINDS:
                params[name] = _aimed(world.ids[ID_KINDS[name]], value)
    scores = fields.get("scores")
    if isinstance(scores, dict):  # PUT /reviews/{id}/scores: keyed by member id
        members = world.ids["member"]
        fields["scores"] = {(str(_aimed(members, int(k))) if k.isascii() and k.isdigit() else k): v
                            for k, v in scores.items()}
