"""One world per module, in an outer transaction rolled back at its end (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from tests.conftest import rolled_back_session, serving
from tests.fuzz.world import SENT, FuzzWorld, build_fuzz_world


@pytest.fixture(scope="module")
def fuzz_world(engine: sa.Engine) -> Iterator[FuzzWorld]:
    """Built once for the module's many generated requests, each rolled back on its own."""
    clock = FixedClock(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))  # as tests/conftest.py
    with rolled_back_session(engine) as db, serving(db, clock) as client:
        yield build_fuzz_world(client, db, clock)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SENT:
        return
    by_role: dict[str, list[str]] = {}
    for (role, status), count in sorted(SENT.items()):
        by_role.setdefault(role, []).append(f"{status}×{count}")
    terminalreporter.section("schemathesis requests")
    terminalreporter.write_line(f"{sum(SENT.values())} requests generated")
    for role, counts in by_role.items():
        terminalreporter.write_line(f"  {role}: {' '.join(counts)}")
