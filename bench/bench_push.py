"""`xtrack push` speed: N runs x 100 metric points copied to a second SQLite store.

    .venv/bin/python bench/bench_push.py [--runs 10000] [--points 100] [--repeat 3]
        [--to-postgres]

Three pushes, each the median of `--repeat`: into an empty store (everything copied), the
same push again (everything compared, nothing copied), and after 1% of the runs got one
more point (those updated). The anchor is SQLite's own online backup of the whole source
database (`sqlite3.Connection.backup`): the floor of any copy, which cannot select runs,
merge into a store that has others, or resume. `--to-postgres` pushes into a new database
of a durable PostgreSQL 15 cluster (fsync on) started here instead, the issue's case: its
goal is under 30 s for 10,000 runs.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_pg_common import LoadSampler, PostgresServer, durable_postgres  # noqa: E402
from bench.common import scratch  # noqa: E402
from jupyter_xtrack.store import Store, open_store  # noqa: E402
from jupyter_xtrack.store.sync import SyncSummary, sync_runs  # noqa: E402


def fill(store: Store, runs: int, points: int) -> list[str]:
    """`runs` finished runs, each with params, a tag, a code blob and `points` points."""
    ids = []
    now = time.time()
    for start in range(0, runs, 500):
        with store.batch():
            for i in range(start, min(runs, start + 500)):
                run_id, _ = store.create_run(name=f"r{i}", experiment="bench")
                store.set_params(run_id, {"lr": i / runs, "depth": i % 12})
                store.set_tags(run_id, {"team": "blue"})
                code = store.put_blob(f"train(lr={i / runs})".encode())
                store.set_facts(run_id, code={"blob": code})
                store.log_metrics(
                    [(run_id, "loss", 1.0 / (s + 1), s, now + s) for s in range(points)]
                )
                store.finish_run(run_id, status="finished", ended_at=now + points)
                ids.append(run_id)
    return ids


def timed_push(source: Store, target: Store) -> tuple[float, SyncSummary]:
    start = time.perf_counter()
    summary = sync_runs(source, target)
    return time.perf_counter() - start, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--to-postgres", action="store_true")
    args = parser.parse_args()
    work = scratch("push")
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(durable_postgres()) if args.to_postgres else None
        source = open_store(work / "local")
        t0 = time.perf_counter()
        ids = fill(source, args.runs, args.points)
        print(f"filled {args.runs} runs x {args.points} points in {time.perf_counter() - t0:.1f} s")
        load = LoadSampler().start()
        rows = measure(source, ids, args, lambda rep: fresh_target(work, server, rep))
        load.stop()
    print(f"\n{args.runs} runs x {args.points} points, median of {args.repeat}; {load.summary()}")
    print(f"target: {'PostgreSQL (durable)' if args.to_postgres else 'SQLite'}")
    print("| push | median | runs/s |\n|---|---|---|")
    for label, values in rows:
        med = statistics.median(values)
        print(f"| {label} | {med:.2f} s | {args.runs / med:,.0f} |")


def fresh_target(work: Path, server: PostgresServer | None, rep: int) -> Store:
    """An empty store to push into: a new database of `server` (its blobs in a new folder),
    else a new folder."""
    if server is not None:
        url = server.create_database(f"team{rep}")
        return open_store(url, artifacts=work / f"team{rep}-blobs")
    shutil.rmtree(work / "team", ignore_errors=True)
    return open_store(work / "team")


def measure(
    source: Store, ids: list[str], args: argparse.Namespace, new_target: Callable[[int], Store]
) -> list[tuple[str, list[float]]]:
    """Each push `args.repeat` times, and the anchor (see the module's docstring)."""
    work = scratch("push-backup")
    first, again, update, backup = [], [], [], []
    for rep in range(args.repeat):
        target = new_target(rep)
        seconds, summary = timed_push(source, target)
        first.append(seconds)
        assert summary.copied == args.runs, summary
        seconds, summary = timed_push(source, target)
        again.append(seconds)
        assert summary.skipped == args.runs, summary
        changed = ids[rep::100]
        source.log_metrics([(run_id, "loss", 0.0, 10**6 + rep, time.time()) for run_id in changed])
        seconds, summary = timed_push(source, target)
        update.append(seconds)
        assert summary.updated == len(changed), summary
        target.close()
        start = time.perf_counter()
        dst = sqlite3.connect(work / "backup.db")
        with sqlite3.connect(source.db_path) as src:
            src.backup(dst)
        dst.close()
        backup.append(time.perf_counter() - start)
        (work / "backup.db").unlink()

    return [
        ("push into an empty store", first),
        ("push again (nothing to copy)", again),
        ("push after 1% of runs changed", update),
        ("anchor: sqlite3 backup of the whole source database", backup),
    ]


if __name__ == "__main__":
    main()
