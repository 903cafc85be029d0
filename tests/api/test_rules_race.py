"""Two first writes of a year at once store its rule set once (services/rules.ensure_rule_set
under locking.lock_rule_year), on a SQLite file and on PostgreSQL when the tests have one."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.db import transaction
from app.models import AuditLog, RuleItemRow, RuleSetRow
from app.services import rules
from tests.api.test_audit_concurrency import NOW, chain, in_threads, race_engine

__all__ = ["race_engine"]  # the fixture, from the audit chain's race tests

YEAR = 2031


def test_concurrent_first_writes_store_the_year_once(race_engine: sa.Engine,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    writers = 4
    if race_engine.dialect.name == "postgresql":
        # Every writer has found no rule set for the year before any asks for the lock, so
        # without it they would all store one. (SQLite cannot interleave them: a writer's
        # IMMEDIATE transaction holds the database's one write lock from its first read.)
        together = threading.Barrier(writers)
        take = rules.lock_rule_year

        def lock_together(session: Session, year: int) -> None:
            together.wait(10)
            take(session, year)

        monkeypatch.setattr(rules, "lock_rule_year", lock_together)
    seen: list[int | None] = []

    def first_write() -> None:
        with transaction(race_engine) as session:
            item = rules.ensure_rule_set(session, YEAR, NOW).item("P01")
            seen.append(item.points if item else None)

    in_threads(*(first_write for _ in range(writers)))
    assert seen == [2] * writers
    with Session(race_engine) as session:
        assert session.exec(select(func.count()).select_from(RuleSetRow)
                            .where(RuleSetRow.year == YEAR)).one() == 1
        assert session.exec(select(func.count()).select_from(RuleItemRow)
                            .where(RuleItemRow.year == YEAR)).one() == 26
        assert session.exec(select(func.count()).select_from(AuditLog).where(
            col(AuditLog.action) == "rules.create", AuditLog.object_id == YEAR)).one() == 1
    chain(race_engine)  # and the audit chain is whole
