"""One world per module, in an outer transaction rolled back at its end (tests/conftest.py).

Under pytest-xdist the module's tests all go to one worker, in order (the xdist_group below,
with --dist loadgroup): the world is built once, and test_no_request_left_a_trace still
runs last, after every generated request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.clock import FixedClock
from tests.conftest import rolled_back_session, serving
from tests.fuzz.world import FuzzWorld, build_fuzz_world

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.xdist_group("fuzz"))


@pytest.fixture(scope="module")
def fuzz_world(engine: sa.Engine) -> Iterator[FuzzWorld]:
    """Built once for the module's many generated requests, each rolled back on its own."""
    clock = FixedClock(datetime(2026, 1, 10, 2, 0, tzinfo=UTC))  # as tests/conftest.py
    with rolled_back_session(engine) as db, serving(db, clock) as client:
        yield build_fuzz_world(client, db, clock)
