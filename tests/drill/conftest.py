"""The failover drill (deploy/drill): run only when asked, JIFEN_DRILL=1, as root."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drill: the failover drill (deploy/drill --quick: "
                            "nginx, PostgreSQL replication, faults); runs only with "
                            "JIFEN_DRILL=1, as root")
