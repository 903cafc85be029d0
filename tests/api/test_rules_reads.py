"""Reads never write: a year with no rule set reads as the rules it would start from, and
the first write that records something under them stores them, once (docs/scoring.md, Rule
items; Workflow 5)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.models import AuditLog, RuleItemRow, RuleSetRow
from tests.api.support import World, ok
from tests.web.support import web_login


def stored(db: Session) -> tuple[int, int, int]:
    """Rule sets, rule items and audit rows in the database now."""
    db.expire_all()
    return tuple(db.exec(select(func.count()).select_from(table)).one()  # type: ignore[return-value]
                 for table in (RuleSetRow, RuleItemRow, AuditLog))


def created(db: Session, year: int) -> list[dict[str, object]]:
    """The `after` of each rules.create audit row of the year."""
    rows = db.exec(select(AuditLog).where(AuditLog.action == "rules.create",
                                          AuditLog.object_id == year)
                   .order_by(col(AuditLog.id))).all()
    return [json.loads(r.after or "{}") for r in rows]


def test_reading_a_year_with_no_rule_set_writes_nothing(world: World, client: TestClient,
                                                       db: Session) -> None:
    a1 = world.members["a1"]
    before = stored(db)
    rules = ok(world.get("a1", "/rules", year=2079))
    assert (rules["year"], rules["frozen"], len(rules["items"])) == (2079, False, 26)
    assert rules["items"][0]["code"] == "P01" and rules["items"][0]["points"] == 2
    score = ok(world.get("a1", f"/members/{a1}/score", year=2079))
    assert (score["score"], score["stars"]) == (0, 0)
    export = client.get("/api/v1/rules/2079/export.yaml", headers=world.as_("admin"))
    assert export.status_code == 200 and "year: 2079" in export.text
    web_login(client, "admin")
    assert client.get("/admin/rules?year=2079").status_code == 200
    web_login(client, "a1")  # the phone page, of this year (2026), has no rule set either
    assert client.get("/me").status_code == 200 and client.get("/me/report").status_code == 200
    assert stored(db) == before
    assert db.get(RuleSetRow, 2079) is None and db.get(RuleSetRow, 2026) is None


def test_a_year_reads_as_the_latest_earlier_rules_until_its_first_write(
        world: World, db: Session) -> None:
    before = stored(db)
    # An edit is a write: 2025 is stored (from the defaults), then changed.
    assert ok(world.put("admin", "/rules/P01", {"points": 3}, year=2025))["points"] == 3
    assert [c["copied_from"] for c in created(db, 2025)] == [None]
    assert stored(db)[:2] == (before[0] + 1, before[1] + 26)
    # 2026 has no rule set: it reads as 2025's, and reading it stores nothing.
    after_edit = stored(db)
    assert ok(world.get("a1", "/rules", year=2026))["items"][0]["points"] == 3
    assert ok(world.get("a1", "/rules", year=2024))["items"][0]["points"] == 2
    assert stored(db) == after_edit
    # Its first entry stores it, copied from 2025, and is scored by it; later ones do not.
    entry = world.entry("sec_a", "a1", "P01", "2026-01-05", quantity=2)
    assert entry["points"] == 6
    assert [c["copied_from"] for c in created(db, 2026)] == [2025]
    world.entry("sec_a", "a2", "P01", "2026-01-06")
    ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews", {"year": 2026, "quarter": 1}),
       201)
    assert len(created(db, 2026)) == 1
    assert stored(db)[:2] == (after_edit[0] + 1, after_edit[1] + 26)


def test_a_review_stores_the_year_it_is_for(world: World, db: Session) -> None:
    assert db.get(RuleSetRow, 2024) is None
    ok(world.post("sec_b", f"/orgs/{world.branch_b}/reviews", {"year": 2024, "quarter": 4}),
       201)
    db.expire_all()
    assert db.get(RuleSetRow, 2024) is not None and len(created(db, 2024)) == 1
