"""The generated requests counted by caller and status, printed at the end of the run.

A plugin (tests/conftest.py loads it) rather than part of tests/fuzz/conftest.py, because
under pytest-xdist the workers count and only the controlling process, which never loads
that conftest, prints: each worker hands its counts over when it ends.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

SENT: Counter[tuple[str, int]] = Counter()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if (output := getattr(session.config, "workeroutput", None)) is not None:
        output["fuzz_sent"] = [[role, status, count] for (role, status), count in SENT.items()]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    for role, status, count in getattr(node, "workeroutput", {}).get("fuzz_sent", []):
        SENT[role, status] += count


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
