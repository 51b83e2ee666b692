"""The runs table's first page with a filter, flat (as before) and nested (`GET runs?nest=1`:
matched trials under their parent), read through the server's StoreReader on a store of
100,000 runs (bench_store_query.py's store, 20 params and 20 metrics each) where 90% of the
runs are trials of 500 sweeps. Median wall time of several reads of one 200-row page.

    .venv/bin/python bench/bench_sidebar_nested.py [--runs 100000] [--repeat 5]

Nesting costs two reads besides the page: the matched children's parent ids (a scan of the
filter's matches, base columns only) and which of those parents match themselves. Goal: the
nested page within 2x the flat one, and under the sidebar's 1 s for a first page.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store_query import build  # noqa: E402

from jupyter_xtrack.server.reader import StoreReader  # noqa: E402
from jupyter_xtrack.store import open_store  # noqa: E402

WORK = Path(__file__).resolve().parent / ".work"
N_SWEEPS = 500
FILTERS = {
    "selective (acc > 0.99, ~1%)": "metrics.acc > 0.99",
    "broad (acc > 0.5, ~50%)": "metrics.acc > 0.5",
}


def make_store(n_runs: int) -> Path:
    """The bench store, its runs after the first N_SWEEPS made trials of those (10% roots)."""
    path = WORK / f"nested-{n_runs}"
    if path.exists():
        shutil.rmtree(path)
    build(path, n_runs)
    with open_store(path) as store:
        conn = store._conn()  # bench only: re-parent in one statement
        conn.execute(
            "UPDATE runs SET kind = 'trial', parent_id = (SELECT id FROM runs AS p "
            "WHERE p.number = 1 + (runs.number % ?)) WHERE number > ? AND number % 10 != 0",
            (N_SWEEPS, N_SWEEPS),
        )
        conn.commit()
    return path


def timed(read: StoreReader, filter: str, nest: bool, repeat: int) -> tuple[float, int]:
    walls = []
    total = 0
    for _ in range(repeat):
        start = time.perf_counter()
        page = read.page(filter, None, 0, 200, None, None, None, None, nest)
        walls.append(time.perf_counter() - start)
        total = int(page.get("matched", page["total"]))
    return statistics.median(walls), total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = make_store(args.runs)
    read = StoreReader(path)
    print(f"{args.runs:,} runs, {N_SWEEPS} sweeps; first page of 200, median of {args.repeat}")
    print("| filter | flat | nested | matched |")
    print("|---|---|---|---|")
    for label, text in FILTERS.items():
        flat, matched = timed(read, text, False, args.repeat)
        nested, matched_nested = timed(read, text, True, args.repeat)
        assert matched == matched_nested, (matched, matched_nested)
        print(f"| {label} | {flat * 1000:.0f} ms | {nested * 1000:.0f} ms | {matched:,} |")


if __name__ == "__main__":
    main()
