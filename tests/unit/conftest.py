"""tests/unit touch no database: CI's PostgreSQL run leaves them out (.ci/run), so a test
here that asks for one is refused at collection rather than silently never run there."""

from __future__ import annotations

import pytest

DATABASE_FIXTURES = frozenset({"db", "engine", "database_url", "world", "world_database",
                               "client", "own_database", "fresh_database"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if used and "tests/unit/" in str(item.path):
            raise pytest.UsageError(
                f"{item.nodeid} uses {sorted(used)}: a test with a database belongs in "
                "tests/api (tests/unit run on SQLite only).")
