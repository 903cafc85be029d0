"""Cost against size: draw the saved benchmark results to docs/performance.png.

    python bench/plot.py [bench/results/*.json ...] [--output docs/performance.png]

Reads result files written by `bench/run.py --save` (the run's keys plus "meta": database,
machine, ...), or plain `--json` outputs. One panel per cost, members on a log axis, one
line per database (and worker count when it is not 1). Needs matplotlib (the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# (key, title, unit, target: (value, "max" | "min") or None)
PANELS: tuple[tuple[str, str, str, tuple[float, str] | None], ...] = (
    ("rating_vs_sql", "annual ratings ÷ SQL floor", "×", (2, "max")),
    ("rating_s", "annual ratings of every branch", "s", None),
    ("page_p99_ms", "member page p99, 32 connections", "ms", (50, "max")),
    ("page_vs_floor", "member page req/s ÷ /healthz req/s", "×", (0.4, "min")),
    ("api_p99_ms", "score API p99, 32 connections", "ms", None),
    ("finalize_ms", "finalize one 60-member branch's quarter", "ms", (200, "max")),
    ("server_rss_mb", "server memory at the end (RSS)", "MiB", (200, "max")),
    ("page_rps", "member page throughput", "req/s", None),
    # Round two (issue 20): open-loop p99s at --rate (100/s), the quarter's close.
    ("open_api_p99_ms", "score API p99, open loop 100/s", "ms", (50, "max")),
    ("open_fresh_p99_ms", "member page made afresh p99, open loop 100/s", "ms", (50, "max")),
    ("open_write_p99_ms", "self-report or approval p99, open loop 100/s", "ms", (50, "max")),
    ("close_quarter_vs_sql", "quarter's close, every branch ÷ SQL aggregate", "×", (3, "max")),
)


def load(paths: list[Path]) -> list[dict[str, Any]]:
    runs = []
    for path in paths:
        try:
            result = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            print(f"skipping {path}: {error}", file=sys.stderr)
            continue
        # A run of bench/run.py (bench/files.py's results have members but none of its keys).
        if "members" in result and any(key in result for key, *_ in PANELS):
            result.setdefault("meta", {})
            runs.append(result)
    return runs


def series_name(run: dict[str, Any]) -> str:
    meta = run["meta"]
    name = str(meta.get("database", "?"))
    if meta.get("entry_partitions"):
        name += ", entry partitioned by year"
    if meta.get("workers", 1) != 1:
        name += f", {meta['workers']} workers"
    return name


def draw(runs: list[dict[str, Any]], output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for run in sorted(runs, key=lambda r: str(r["meta"].get("at", ""))):
        series[series_name(run)][int(run["members"])] = run  # the latest run of each size
    # Only the costs some run measured (round one's runs have no open-loop keys).
    panels = [p for p in PANELS if any(p[0] in run for run in runs)]
    columns = 2
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(11, 3.2 * rows), squeeze=False)
    for (key, title, unit, target), axis in zip(panels, axes.flat, strict=False):
        for name, by_size in sorted(series.items()):
            sizes = sorted(s for s, r in by_size.items() if key in r)
            if sizes:
                line, = axis.plot(sizes, [by_size[s][key] for s in sizes], marker="o",
                                  label=name)
            if key == "page_p99_ms":  # what a constant answer gets under the same load
                floor = {s: _loads(r).get("floor_p99_ms") for s, r in by_size.items()}
                known = sorted(s for s, v in floor.items() if v is not None)
                if known:
                    axis.plot(known, [floor[s] for s in known], linestyle=":", marker=".",
                              color=line.get_color() if sizes else None,
                              label=f"{name}: /healthz p99")
        if target is not None:
            value, kind = target
            axis.axhline(value, color="grey", linestyle="--", linewidth=1)
            axis.annotate(f"target {'≤' if kind == 'max' else '≥'} {value:g}",
                          (0.01, value), xycoords=("axes fraction", "data"), fontsize=8,
                          color="grey", va="bottom")
        axis.set_xscale("log")
        axis.set_title(title, fontsize=10)
        axis.set_ylabel(unit)
        axis.set_xlabel("members")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(panels):]:
        axis.set_visible(False)
    machines = {f"{r['meta'].get('machine', {}).get('cpus', '?')} cores" for r in runs}
    figure.suptitle(f"Jifen benchmark ({', '.join(sorted(machines))}; bench/run.py)")
    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)


TABLE_KEYS = ("entries", "rating_s", "sql_floor_s", "rating_vs_sql", "page_rps", "page_p99_ms",
              "floor_rps", "page_vs_floor", "api_p99_ms", "finalize_ms", "server_rss_mb")


# From the run's meta "loads" (each load's server CPU per request, p99 and req/s; "cpu" in
# runs saved before it was renamed).
LOAD_COLUMNS = (("floor_p99_ms", "floor p99 ms"), ("page_cpu_ms", "page CPU ms"),
                ("uncached_rps", "page req/s, none kept"),
                ("uncached_p99_ms", "page p99 ms, none kept"),
                ("uncached_cpu_ms", "page CPU ms, none kept"), ("api_cpu_ms", "API CPU ms"))


# Round two's keys (issue 20), in a table of their own: runs saved before them show blanks.
ROUND_TWO_KEYS = ("open_page_p99_ms", "open_api_p99_ms", "open_fresh_p99_ms",
                  "open_write_p99_ms", "close_quarter_s", "close_quarter_vs_sql",
                  "appraisal_summary_vs_sql", "ballot_60_s")
ROUND_TWO_LOADS = (("floor_cpu_ms", "floor CPU ms"), ("page_cpu_ms", "kept page CPU ms"),
                   ("uncached_cpu_ms", "fresh page CPU ms"), ("api_cpu_ms", "API CPU ms"),
                   ("open_write_cpu_ms", "write CPU ms"))


def _loads(run: dict[str, Any]) -> dict[str, Any]:
    loads: dict[str, Any] = run["meta"].get("loads", run["meta"].get("cpu", {}))
    return loads


def table(runs: list[dict[str, Any]], *, round_two: bool = False) -> str:
    """The latest run of each database and size as a Markdown table (docs/performance.md):
    round one's keys, or with `round_two` the open loop's, the close's and the CPU a
    request."""
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for run in sorted(runs, key=lambda r: str(r["meta"].get("at", ""))):
        latest[(series_name(run), int(run["members"]))] = run
    keys, columns = (ROUND_TWO_KEYS, ROUND_TWO_LOADS) if round_two else (TABLE_KEYS, LOAD_COLUMNS)
    head = ["database", "members", *keys, *(title for _, title in columns)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (name, members), run in sorted(latest.items()):
        loads = _loads(run)
        cells = [name, f"{members:,}", *(f"{run[k]:,}" if k in run else "" for k in keys),
                 *(f"{loads[k]:,}" if k in loads else "" for k, _ in columns)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="*", type=Path,
                        help="result files (default bench/results/*.json)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.png")
    parser.add_argument("--table", action="store_true",
                        help="print the latest runs as a Markdown table instead of drawing")
    parser.add_argument("--round-two", action="store_true",
                        help="with --table: round two's keys (open loop, close, CPU)")
    args = parser.parse_args(argv)
    paths = args.results or sorted((ROOT / "bench" / "results").glob("*.json"))
    runs = load(paths)
    if not runs:
        raise SystemExit("no results to plot (run: python bench/run.py ... --save)")
    if args.table:
        print(table(runs, round_two=args.round_two))
        return
    draw(runs, args.output)
    print(f"wrote {args.output} from {len(runs)} run(s)")


if __name__ == "__main__":
    main()
