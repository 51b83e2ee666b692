"""Sweep throughput on Dask workers (issue 16): trials per second of `xt.sweep(...,
workers=client)` on a trivial objective with 1 and 2 local worker processes, the scaling
ratio against the goal (>= 0.8 x N), and the per-trial overhead over plain Optuna's
`study.optimize` on the same study storage (goal <= 5 ms).

Storages: the journal file beside a store folder (the default), and Optuna's RDBStorage on
a local PostgreSQL (tests/pgserver.py, durable: fsync on), with the run records in SQLite
either way. The sampler is random (no sampler cost in either). Per-trial cost is the slope
between a short and a long sweep, so fixed costs (the sweep run, its plan, the study)
cancel out; the cluster is started once per worker count, outside the timings.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_sweep_workers.py [--reps 3] [--short 10] [--long 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SPACE = "x=uniform(0, 1); y=uniform(0, 1)"


def objective_value(x: float, y: float) -> float:
    return (x - 0.3) ** 2 + (y - 0.7) ** 2


def plain_optuna(n: int, storage: Any) -> float:
    """Seconds for `n` trials of plain `study.optimize` on `storage` (a new study)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0), storage=storage, direction="minimize"
    )
    study.optimize(
        lambda t: objective_value(t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
        n_trials=n,
    )
    return time.perf_counter() - t0


def on_workers(n: int, client: Any, storage: str | None) -> float:
    """Seconds for a sweep of `n` trials on the cluster of `client` (a fresh store)."""
    from jupyter_xtrack import api
    from jupyter_xtrack.optimize.sweep import sweep
    from jupyter_xtrack.tracking.session import CONTEXT

    CONTEXT.reset()
    api.open_store(tempfile.mkdtemp(prefix="xtrack-bench-workers-"))
    CONTEXT.store()
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
    parser.add_argument("--long", type=int, default=60)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from jupyter_xtrack.optimize.sweep.storage import open_storage

    rows: list[tuple[str, str, float]] = []
    with ExitStack() as stack:
        storages: dict[str, Callable[[], tuple[str | None, Any]]] = {}

        def journal() -> tuple[str | None, Any]:
            folder = tempfile.mkdtemp(prefix="xtrack-bench-journal-")
            return None, open_storage(folder)

        storages["journal file"] = journal
        if not args.no_postgres:
            from tests.pgserver import pg_bindir, postgres_server

            if pg_bindir() is not None:
                server = stack.enter_context(postgres_server(durable=True))
                url = server.create_database()

                def rdb() -> tuple[str | None, Any]:
                    return url, open_storage(url)

                storages["PostgreSQL RDBStorage"] = rdb
        for name, make in storages.items():
            location, storage = make()
            plain = per_trial(
                partial(plain_optuna, storage=storage), args.short, args.long, args.reps
            )
            rows.append((name, "plain Optuna study.optimize", plain))
            for workers in (1, 2):
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
                try:
                    cost = per_trial(
                        partial(on_workers, client=client, storage=location),
                        args.short,
                        args.long,
                        args.reps,
                    )
                finally:
                    client.close()
                    cluster.close()
                rows.append(
                    (name, f"xt.sweep, {workers} worker(s) (cluster start {started:.1f} s)", cost)
                )
    print("| storage | what | per trial | trials/s |")
    print("|---|---|---|---|")
    for name, what, cost in rows:
        print(f"| {name} | {what} | {cost * 1000:.1f} ms | {1 / cost:.0f} |")
    print()
    for name in {r[0] for r in rows}:
        mine = {what.split(" (")[0]: cost for storage, what, cost in rows if storage == name}
        one = mine["xt.sweep, 1 worker(s)"]
        two = mine["xt.sweep, 2 worker(s)"]
        plain = mine["plain Optuna study.optimize"]
        print(
            f"{name}: scaling 2 workers / 1 worker = {one / two:.2f} x (goal >= 1.6 x); "
            f"per-trial overhead over plain Optuna, 1 worker = {(one - plain) * 1000:.1f} ms "
            "(goal <= 5 ms)"
        )


if __name__ == "__main__":
    main()
