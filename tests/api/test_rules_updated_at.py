"""A year's rules answer updated_at as every other resource does (issue 18, docs/api/sync.md):
null while nothing is stored, the stored set's time once it is, moved by an item's edit, a
procedural edit, an import and the year's freezing, and by nothing else; an item carries its
year's time. Migration 0021 starts existing rule sets at their latest audited change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.db import make_engine
from app.migrate import upgrade
from tests.api.support import NO_NOTICE, World, ok
from tests.api.test_migrations import fresh_database  # noqa: F401  (the fixture)
from tests.api.test_rules_file import YAML, export


def rules_time(world: World, year: int) -> datetime | None:
    """The year's updated_at, checked to be its every item's too."""
    answer = ok(world.get("a1", "/rules", year=year))
    times = {item["updated_at"] for item in answer["items"]}
    assert times == {answer["updated_at"]}, times
    one = ok(world.get("a1", f"/rules/{answer['items'][0]['code']}", year=year))
    assert one["updated_at"] == answer["updated_at"]
    text = answer["updated_at"]
    return datetime.fromisoformat(text) if text is not None else None


def later(world: World) -> datetime:
    world.clock.advance(minutes=5)
    return world.clock.now()


def test_nothing_stored_is_null_then_the_stored_sets_time(world: World) -> None:
    assert rules_time(world, 2025) is None and rules_time(world, 2026) is None
    stored = later(world)
    world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)  # stores 2025's rules
    assert rules_time(world, 2025) == stored
    # 2026 has none of its own and reads as 2025's, so it answers 2025's time.
    assert rules_time(world, 2026) == stored
    seeded = later(world)
    world.entry("sec_a", "a1", "P01", "2026-01-05", quantity=1)
    assert rules_time(world, 2026) == seeded and rules_time(world, 2025) == stored


def test_each_change_of_the_rules_moves_it_and_only_that_years(world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    world.entry("sec_a", "a1", "P01", "2026-01-05", quantity=1)
    untouched = rules_time(world, 2026)

    edited = later(world)
    ok(world.put("admin", "/rules/P01", {"cap": 9}, year=2025))
    assert rules_time(world, 2025) == edited

    procedure = later(world)
    ok(world.put("admin", "/rules/2025/procedure", {"rating_notice_days": 7}))
    assert rules_time(world, 2025) == procedure

    imported = later(world)
    text = export(world, 2025).replace("excellent_divisor: 3", "excellent_divisor: 4")
    assert "excellent_divisor: 4" in text
    answer = world.client.post("/api/v1/rules/2025/import", content=text.encode(),
                               headers={**world.as_("admin"), **YAML})
    assert answer.status_code == 200, answer.text
    assert datetime.fromisoformat(answer.json()["updated_at"]) == imported
    assert rules_time(world, 2025) == imported
    assert rules_time(world, 2026) == untouched

    # A dry run writes nothing and answers the time the stored rules keep.
    later(world)
    dry = world.client.post("/api/v1/rules/2025/import", content=text.encode(),
                            params={"dry_run": "true"}, headers={**world.as_("admin"), **YAML})
    assert dry.status_code == 200, dry.text
    assert datetime.fromisoformat(dry.json()["updated_at"]) == imported == rules_time(world, 2025)


def test_what_is_not_a_change_of_the_rules_leaves_it(world: World) -> None:
    entry = world.entry("a1", "a1", "P02", "2025-02-14", quantity=1)  # self-reported
    stored = rules_time(world, 2025)
    later(world)
    ok(world.post("sec_a", f"/entries/{entry['id']}/approve"))
    review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                           {"year": 2025, "quarter": 1}), 201)["id"]
    ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
    assert rules_time(world, 2025) == stored


def test_the_first_finalized_quarter_freezes_the_year_and_moves_it(world: World) -> None:
    world.entry("sec_a", "a1", "P01", "2025-02-14", quantity=1)
    frozen_at = None
    for quarter in (1, 2):
        review = ok(world.post("sec_a", f"/orgs/{world.branch_a}/reviews",
                               {"year": 2025, "quarter": quarter}), 201)["id"]
        ok(world.post("sec_a", f"/reviews/{review}/publish", NO_NOTICE))
        finalized = later(world)
        ok(world.post("sec_a", f"/reviews/{review}/finalize"))
        frozen_at = frozen_at or finalized
        assert ok(world.get("a1", "/rules", year=2025))["frozen"] is True
        # Frozen once: the second quarter's finalizing changes nothing the rules answer.
        assert rules_time(world, 2025) == frozen_at


# --------------------------------------------------------------------------- migration 0021
T0, T1, T2, T3 = ("'2025-01-01 00:00:00'", "'2025-02-01 08:30:00'", "'2025-03-01 12:00:00'",
                  "'2025-04-01 09:00:00'")
SET_COLUMNS = ("year, review_max, review_default, star_thresholds, unqualified_below, "
               "basic_below, basic_single_deduction, excellent_min, excellent_divisor, "
               "created_at")
AUDIT_COLUMNS = "(at, action, object_type, object_id, prev_hash, hash)"


def _set(year: int, created: str) -> str:
    return (f"INSERT INTO rule_set ({SET_COLUMNS}) VALUES "
            f"({year}, 5, 5, '60,70,80,90,96', 60, 70, 10, 90, 3, {created})")


def _audit(at: str, action: str, kind: str, object_id: int) -> str:
    return (f"INSERT INTO audit_log {AUDIT_COLUMNS} VALUES "
            f"({at}, '{action}', '{kind}', {object_id}, '', 'x')")


ROWS = (
    # 2024: created, never changed. 2025: an item edited at T2, a procedural edit at T1.
    # 2026: an item of 2025 with 2026's id would be wrong: only its own items count.
    _set(2024, T0), _set(2025, T0), _set(2026, T1),
    "INSERT INTO rule_item (id, year, position, code, kind, name, categories) VALUES "
    "(1, 2025, 0, 'P01', 'positive', 'x', 'active'), "
    "(2, 2026, 0, 'P01', 'positive', 'x', 'active')",
    _audit(T0, "rules.create", "rule_set", 2024),
    _audit(T1, "rules.procedure", "rule_set", 2025),
    _audit(T2, "rule.update", "rule_item", 1),
    _audit(T3, "entry.create", "entry", 2026),  # another object with the same id
)


def test_0021_starts_each_rule_set_at_its_latest_audited_change(
        fresh_database: str) -> None:  # noqa: F811
    upgrade(fresh_database, "0020")
    engine = make_engine(fresh_database)
    with engine.begin() as connection:
        for statement in ROWS:
            connection.execute(sa.text(statement))
    upgrade(fresh_database, "0021")
    with engine.connect() as connection:
        times = connection.execute(sa.text(
            "SELECT year, updated_at FROM rule_set ORDER BY year")).all()
    assert [(year, f"'{str(at)[:19]}'") for year, at in times] == [
        (2024, T0), (2025, T2), (2026, T1)]
    engine.dispose()
