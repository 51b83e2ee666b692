"""Sweep throughput on Dask workers (issue 16): trials per second of `xt.sweep(...,
workers=client)` on a trivial objective with 1 and N local worker processes, the scaling
ratio against the goal (>= 0.8 x N), and the per-trial overhead over plain Optuna's
`study.optimize` on the same study storage (goal <= 5 ms). Anchors: plain Optuna in one
process, and in N processes optimizing one study on the same storage (what this machine
and storage allow N workers at best). For each sweep, the CPU seconds per trial of the
kernel process and of the workers together (the machine's cores bound the scaling).

Storages: the journal file beside a store folder (the default), and Optuna's RDBStorage on
a local PostgreSQL (tests/pgserver.py, durable: fsync on), with the run records in SQLite
either way; or the team's set-up, study and run records on one PostgreSQL
(`--storages postgres-records`). The sampler is random (no sampler cost in either). Per-trial cost is the
slope between a short and a long sweep, so fixed costs (the sweep run, its plan, the
study) cancel out; the cluster is started once per worker count, outside the timings.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_sweep_workers.py [--reps 3] [--short 10] [--long 160]
        [--scale-long] [--workers 1 2 4 8] [--storages journal postgres postgres-records]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SPACE = "x=uniform(0, 1); y=uniform(0, 1)"


def objective_value(x: float, y: float) -> float:
    return (x - 0.3) ** 2 + (y - 0.7) ** 2


CPU: dict[str, list[float]] = {}  # CPU seconds per trial of each long run, by row


def anchor_storage(location: str) -> Any:
    """The anchors' storage at `location`: a store folder's journal as the sweeps open it,
    or on PostgreSQL Optuna's own `RDBStorage` (the sweeps' creates its trials its own way,
    `optimize/sweep/rdb.py`), on the same schema."""
    import optuna

    from jupyter_xtrack.optimize.sweep.storage import (
        is_database_url,
        open_storage,
        sqlalchemy_url,
    )

    if not is_database_url(location):
        return open_storage(location)
    open_storage(location)  # makes the schema
    return optuna.storages.RDBStorage(
        sqlalchemy_url(location),
        engine_kwargs={"connect_args": {"options": "-csearch_path=optuna"}},
    )


def plain_optuna(n: int, storage: Any, row: str, long: int) -> float:
    """Seconds for `n` trials of plain `study.optimize` on `storage` (a new study); for a
    `long` one, its CPU seconds per trial go to CPU[row]."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0), storage=storage, direction="minimize"
    )
    study.optimize(
        lambda t: objective_value(t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
        n_trials=n,
    )
    elapsed = time.perf_counter() - t0
    if n == long:
        CPU.setdefault(row, []).append((time.process_time() - cpu0) / n)
    return elapsed


def _optimize_part(location: str, name: str, n: int) -> float:
    """One of the processes of `plain_optuna_parallel`: `n` trials of study `name`; its CPU
    seconds."""
    import optuna

    cpu0 = time.process_time()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=name, storage=anchor_storage(location), sampler=optuna.samplers.RandomSampler()
    )
    study.optimize(
        lambda t: objective_value(t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
        n_trials=n,
    )
    return time.process_time() - cpu0


def plain_optuna_parallel(
    n: int, location: str, pool: ProcessPoolExecutor, processes: int, row: str, long: int
) -> float:
    """Seconds for `n` trials of plain `study.optimize` split over `processes` of the pool's
    processes on one new study at `location` (a store folder's journal, or a PostgreSQL
    URL); for a `long` one, the processes' CPU seconds per trial go to CPU[row]."""
    import optuna

    name = f"plain-{time.monotonic_ns()}"
    optuna.create_study(study_name=name, storage=anchor_storage(location), direction="minimize")
    t0 = time.perf_counter()
    parts = [pool.submit(_optimize_part, location, name, n // processes) for _ in range(processes)]
    cpu = sum(part.result() for part in parts)
    elapsed = time.perf_counter() - t0
    if n == long:
        CPU.setdefault(row, []).append(cpu / n)
    return elapsed


def on_workers(
    n: int,
    client: Any,
    storage: str | None,
    row: str,
    long: int,
    records: Callable[[], str] | None = None,
) -> float:
    """Seconds for a sweep of `n` trials on the cluster of `client` (a fresh store: a
    folder, or the URL `records()` gives); for a `long` one, the kernel's and the workers'
    CPU seconds per trial go to CPU[row]."""
    from jupyter_xtrack import api
    from jupyter_xtrack.optimize.sweep import sweep
    from jupyter_xtrack.tracking.session import CONTEXT

    CONTEXT.reset()
    api.open_store(records() if records else tempfile.mkdtemp(prefix="xtrack-bench-workers-"))
    CONTEXT.store()
    kernel0, workers0 = time.process_time(), sum(client.run(time.process_time).values())
    t0 = time.perf_counter()
    sweep(
        objective_value,
        SPACE,
        trials=n,
        sampler="random",
        direction="minimize",
        seed=0,
        show=False,
        workers=client,
        storage=storage,
    )
    elapsed = time.perf_counter() - t0
    if n == long:
        kernel = time.process_time() - kernel0
        workers = sum(client.run(time.process_time).values()) - workers0
        CPU.setdefault(row, []).extend([kernel / n, workers / n])
    api.flush()
    return elapsed


def per_trial(run: Callable[[int], float], short: int, long: int, reps: int) -> float:
    """Median over `reps` of the per-trial slope between `short` and `long` trials (s)."""
    slopes = []
    for _ in range(reps):
        t_short, t_long = run(short), run(long)
        slopes.append((t_long - t_short) / (long - short))
    return statistics.median(slopes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=160)
    parser.add_argument(
        "--scale-long",
        action="store_true",
        help="N workers or processes run N times --long trials in the long sweep (at 8 "
        "workers 120 trials last half a second, and the slope moves by a fifth with the "
        "sweep's fixed costs)",
    )
    parser.add_argument(
        "--storages",
        nargs="+",
        choices=["journal", "postgres", "postgres-records"],
        default=["journal", "postgres"],
        help="where the studies go: a journal file, PostgreSQL (run records in SQLite "
        "either way), or PostgreSQL for the study and the run records (the team store)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="worker counts to measure (1 is always measured: the others are compared to it)",
    )
    args = parser.parse_args()
    counts = sorted({1, *args.workers})

    from distributed import Client, LocalCluster

    from jupyter_xtrack.optimize.sweep.storage import open_storage

    rows: list[tuple[str, str, float]] = []
    with ExitStack() as stack:
        # Each storage: where a sweep puts its study (None: beside the store), where the
        # anchors put theirs, and that storage; and where the sweeps' run records go
        # (None: a store folder, SQLite).
        storages: dict[str, Callable[[], tuple[str | None, str, Any]]] = {}
        records_of: dict[str, Callable[[], str]] = {}

        def journal() -> tuple[str | None, str, Any]:
            folder = tempfile.mkdtemp(prefix="xtrack-bench-journal-")
            return None, folder, open_storage(folder)

        if "journal" in args.storages:
            storages["journal file"] = journal
        if {"postgres", "postgres-records"} & set(args.storages):
            from tests.pgserver import pg_bindir, postgres_server

            if pg_bindir() is not None:
                server = stack.enter_context(postgres_server(durable=True))
                url = server.create_database()

                def rdb() -> tuple[str | None, str, Any]:
                    return url, url, anchor_storage(url)

                if "postgres" in args.storages:
                    storages["PostgreSQL RDBStorage"] = rdb
                if "postgres-records" in args.storages:
                    # The team's set-up: the study and the run records on one PostgreSQL
                    # (a fresh database per sweep).
                    storages["PostgreSQL, records too"] = rdb
                    records_of["PostgreSQL, records too"] = server.create_database
        most = max(max(counts), 2)
        pool = stack.enter_context(ProcessPoolExecutor(most))
        for warm in [pool.submit(time.sleep, 0.5) for _ in range(most)]:
            warm.result()  # every process started before any timing
        for name, make in storages.items():
            location, anchor, storage = make()
            row = f"{name}/plain"
            plain = per_trial(
                partial(plain_optuna, storage=storage, row=row, long=args.long),
                args.short,
                args.long,
                args.reps,
            )
            cpu = statistics.median(CPU[row]) * 1000
            rows.append((name, f"plain Optuna study.optimize (CPU per trial {cpu:.1f} ms)", plain))
            for processes in [c for c in counts if c > 1]:
                row = f"{name}/plain{processes}"
                long = args.long * processes if args.scale_long else args.long
                cost = per_trial(
                    partial(
                        plain_optuna_parallel,
                        location=anchor,
                        pool=pool,
                        processes=processes,
                        row=row,
                        long=long,
                    ),
                    args.short,
                    long,
                    args.reps,
                )
                cpu = statistics.median(CPU[row]) * 1000
                rows.append(
                    (
                        name,
                        f"plain Optuna, {processes} processes on one study (CPU per trial "
                        f"{cpu:.1f} ms)",
                        cost,
                    )
                )
            for workers in counts:
                t0 = time.perf_counter()
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
                client = Client(cluster)
                started = time.perf_counter() - t0
                row = f"{name}/{workers}"
                long = args.long * workers if args.scale_long else args.long
                try:
                    cost = per_trial(
                        partial(
                            on_workers,
                            client=client,
                            storage=location,
                            row=row,
                            long=long,
                            records=records_of.get(name),
                        ),
                        args.short,
                        long,
                        args.reps,
                    )
                finally:
                    client.close()
                    cluster.close()
                kernel = statistics.median(CPU[row][0::2]) * 1000
                cpu = statistics.median(CPU[row][1::2]) * 1000
                rows.append(
                    (
                        name,
                        f"xt.sweep, {workers} worker(s) (cluster start {started:.1f} s; CPU per "
                        f"trial: kernel {kernel:.1f} ms, workers {cpu:.1f} ms)",
                        cost,
                    )
                )
    print("| storage | what | per trial | trials/s |")
    print("|---|---|---|---|")
    for name, what, cost in rows:
        print(f"| {name} | {what} | {cost * 1000:.1f} ms | {1 / cost:.0f} |")
    print()
    for name in dict.fromkeys(r[0] for r in rows):
        mine = {what.split(" (")[0]: cost for storage, what, cost in rows if storage == name}
        one = mine["xt.sweep, 1 worker(s)"]
        plain = mine["plain Optuna study.optimize"]
        print(
            f"{name}: per-trial overhead over plain Optuna, 1 worker = "
            f"{(one - plain) * 1000:.1f} ms (goal <= 5 ms)"
        )
        for n in [c for c in counts if c > 1]:
            many = mine[f"xt.sweep, {n} worker(s)"]
            plain_many = mine[f"plain Optuna, {n} processes on one study"]
            print(
                f"{name}: scaling {n} workers / 1 worker = {one / many:.2f} x (goal >= "
                f"{0.8 * n:.1f} x; plain Optuna {n} processes / 1 = {plain / plain_many:.2f} x)"
            )


if __name__ == "__main__":
    main()
