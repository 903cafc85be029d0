"""Rule sets are cached per process by their revision; a change anywhere moves it on."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from app.clock import FixedClock
from app.services.rules import ensure_rule_set, load_rule_set
from tests.api.support import World, ok


def test_a_rule_change_made_elsewhere_is_seen_by_the_next_transaction(
        world: World, db: Session, clock: FixedClock) -> None:
    before = ensure_rule_set(db, 2025, clock.now())  # stored, as the first entry would
    assert before.item("P01") is not None and before.item("P01").points == 2  # type: ignore[union-attr]
    db.commit()
    # Another process changes P01 (as update_rule_item does: the row, then a new revision).
    db.execute(sa.text("UPDATE rule_item SET points = 3 WHERE year = 2025 AND code = 'P01'"))
    db.execute(sa.text("UPDATE rule_set SET revision = 'elsewhere' WHERE year = 2025"))
    db.commit()
    db.expire_all()
    after = load_rule_set(db, 2025, clock.now())
    assert after.item("P01").points == 3  # type: ignore[union-attr]


def test_within_one_transaction_the_rules_are_loaded_once(
        world: World, db: Session, clock: FixedClock) -> None:
    first = load_rule_set(db, 2025, clock.now())
    assert load_rule_set(db, 2025, clock.now()) is first
    changed = ok(world.put("admin", "/rules/P01", {"points": 4}, year=2025))
    assert changed["points"] == 4
    assert load_rule_set(db, 2025, clock.now()).item("P01").points == 4  # type: ignore[union-attr]
