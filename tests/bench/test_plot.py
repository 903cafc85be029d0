"""bench/plot.py: the saved results become a table for docs/performance.md and a PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import plot
from bench.run import KEYS


def _run(database: str, members: int, at: str, page_rps: float) -> dict[str, Any]:
    values = dict.fromkeys(KEYS, 1.5) | {"members": members, "entries": 40 * members,
                                         "page_rps": page_rps}
    loads = {"page_cpu_ms": 6.5, "api_cpu_ms": 5.25, "uncached_rps": 120.0,
             "floor_p99_ms": 98.5}
    # Runs saved before the loads' measurements were named "loads" call them "cpu".
    name = "cpu" if database == "postgresql" else "loads"
    return values | {"meta": {"database": database, "at": at, "machine": {"cpus": 2},
                              name: loads}}


def test_the_table_shows_the_latest_run_of_each_database_and_size(tmp_path: Path) -> None:
    files = []
    for i, run in enumerate([_run("sqlite", 10_000, "2026-11-26T10:00", 100.0),
                             _run("sqlite", 10_000, "2026-11-26T11:00", 150.0),
                             _run("postgresql", 1_000_000, "2026-11-26T10:30", 90.0)]):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(run))
        files.append(path)
    (tmp_path / "broken.json").write_text("{")
    # bench/files.py's results: members, but none of the run's keys.
    (tmp_path / "files.json").write_text(json.dumps({"members": 3000, "review_pdf_ms": 80.0}))
    runs = plot.load([*files, tmp_path / "broken.json", tmp_path / "files.json"])
    assert len(runs) == 3
    lines = plot.table(runs).splitlines()
    assert lines[0].startswith("| database | members | entries | rating_s |")
    assert lines[2:] == [
        "| postgresql | 1,000,000 | 40,000,000 | 1.5 | 1.5 | 1.5 | 90.0 | 1.5 | 1.5 | 1.5 "
        "| 1.5 | 1.5 | 1.5 | 98.5 | 6.5 | 120.0 |  |  | 5.25 |",
        "| sqlite | 10,000 | 400,000 | 1.5 | 1.5 | 1.5 | 150.0 | 1.5 | 1.5 | 1.5 | 1.5 "
        "| 1.5 | 1.5 | 98.5 | 6.5 | 120.0 |  |  | 5.25 |",
    ]


def test_round_two_has_a_table_of_its_own_with_blanks_for_older_runs() -> None:
    new = _run("sqlite", 100_000, "2026-12-07T14:00", 300.0)
    new["meta"]["loads"] |= {"uncached_cpu_ms": 5.5, "open_write_cpu_ms": 10.9}
    old = _run("postgresql", 100_000, "2026-11-26T10:30", 90.0)
    for key in ("open_api_p99_ms", "close_quarter_s"):
        del old[key]
    lines = plot.table([new, old], round_two=True).splitlines()
    assert lines[0] == ("| database | members | open_page_p99_ms | open_api_p99_ms "
                        "| open_fresh_p99_ms | open_write_p99_ms | close_quarter_s "
                        "| close_quarter_vs_sql | appraisal_summary_vs_sql | ballot_60_s "
                        "| floor CPU ms | kept page CPU ms | fresh page CPU ms | API CPU ms "
                        "| write CPU ms |")
    assert lines[2:] == [
        "| postgresql | 100,000 | 1.5 |  | 1.5 | 1.5 |  | 1.5 | 1.5 | 1.5 |  | 6.5 |  "
        "| 5.25 |  |",
        "| sqlite | 100,000 | 1.5 | 1.5 | 1.5 | 1.5 | 1.5 | 1.5 | 1.5 | 1.5 |  | 6.5 | 5.5 "
        "| 5.25 | 10.9 |",
    ]


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the bench extra: pip install -e '.[bench]'
    png = tmp_path / "plot.png"
    plot.draw([_run("sqlite", 10_000, "2026-11-26T10:00", 100.0),
               _run("sqlite", 100_000, "2026-11-26T10:00", 90.0)], png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
