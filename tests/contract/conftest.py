"""The OpenAPI document's contract with clients: Spectral lints it, and a client generated
from it runs a committee's flow against a live server (docs/api/schema.md).

Neither reads the test database: they run once, in the SQLite run; the PostgreSQL run of
.ci/run (JIFEN_TEST_DATABASE_URL set) skips them. A tool that is missing skips them on a
developer's machine and fails them under CI=true, where .ci/run installs it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            # Together on one xdist worker: each starts tools that take a core of their own.
            item.add_marker(pytest.mark.xdist_group("contract"))


@pytest.fixture(autouse=True)
def _once() -> None:
    if os.environ.get("JIFEN_TEST_DATABASE_URL"):
        pytest.skip("the document's contract is checked once, in the SQLite run")


def missing(what: str) -> None:
    """A tool is not installed: a failure under CI, else a skip that says how to get it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: .ci/run installs it, so this is a failure here")
    pytest.skip(what)
