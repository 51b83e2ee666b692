"""Sweep throughput on Dask workers (issue 16): trials per second of `xt.sweep(...,
workers=client)` on a trivial objective with 1 and 2 local worker processes, the scaling
ratio against the goal (>= 0.8 x N), and the per-trial overhead over plain Optuna's
`study.optimize` on the same study storage (goal <= 5 ms). Anchors: plain Optuna in one
process, and in two processes optimizing one study on the same storage (what this machine
and storage allow two workers at best). For each sweep, the CPU seconds per trial of the
kernel process and of the workers together (the machine's cores bound the scaling).

Storages: the journal file beside a store folder (the default), and Optuna's RDBStorage on
a local PostgreSQL (tests/pgserver.py, durable: fsync on), with the run records in SQLite
either way. The sampler is random (no sampler cost in either). Per-trial cost is the slope
between a short and a long sweep, so fixed costs (the sweep run, its plan, the study)
cancel out; the cluster is started once per worker count, outside the timings.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_sweep_workers.py [--reps 3] [--short 10] [--long 160]
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
    from jupyter_xtrack.optimize.sweep.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=name, storage=open_storage(location), sampler=optuna.samplers.RandomSampler()
    )
    study.optimize(
        lambda t: objective_value(t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
        n_trials=n,
    )
    return time.process_time() - cpu0


def plain_optuna_parallel(
    n: int, location: str, pool: ProcessPoolExecutor, row: str, long: int
) -> float:
    """Seconds for `n` trials of plain `study.optimize` split over the pool's two processes
    on one new study at `location` (a store folder's journal, or a PostgreSQL URL); for a
    `long` one, the processes' CPU seconds per trial go to CPU[row]."""
    import optuna

    from jupyter_xtrack.optimize.sweep.storage import open_storage

    name = f"plain-{time.monotonic_ns()}"
    optuna.create_study(study_name=name, storage=open_storage(location), direction="minimize")
    t0 = time.perf_counter()
    parts = [pool.submit(_optimize_part, location, name, n // 2) for _ in range(2)]
    cpu = sum(part.result() for part in parts)
    elapsed = time.perf_counter() - t0
    if n == long:
        CPU.setdefault(row, []).append(cpu / n)
    return elapsed


def on_workers(n: int, client: Any, storage: str | None, row: str, long: int) -> float:
    """Seconds for a sweep of `n` trials on the cluster of `client` (a fresh store); for a
    `long` one, the kernel's and the workers' CPU seconds per trial go to CPU[row]."""
    from jupyter_xtrack import api
    from jupyter_xtrack.optimize.sweep import sweep
    from jupyter_xtrack.tracking.session import CONTEXT

    CONTEXT.reset()
    api.open_store(tempfile.mkdtemp(prefix="xtrack-bench-workers-"))
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
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    from jupyter_xtrack.optimize.sweep.storage import open_storage

    rows: list[tuple[str, str, float]] = []
    with ExitStack() as stack:
        # Each storage: where a sweep puts its study (None: beside the store), where the
        # anchors put theirs, and that storage.
        storages: dict[str, Callable[[], tuple[str | None, str, Any]]] = {}

        def journal() -> tuple[str | None, str, Any]:
            folder = tempfile.mkdtemp(prefix="xtrack-bench-journal-")
            return None, folder, open_storage(folder)

        storages["journal file"] = journal
        if not args.no_postgres:
            from tests.pgserver import pg_bindir, postgres_server

            if pg_bindir() is not None:
                server = stack.enter_context(postgres_server(durable=True))
                url = server.create_database()

                def rdb() -> tuple[str | None, str, Any]:
                    return url, url, open_storage(url)

                storages["PostgreSQL RDBStorage"] = rdb
        pool = stack.enter_context(ProcessPoolExecutor(2))
        for warm in [pool.submit(time.sleep, 0.5) for _ in range(2)]:
            warm.result()  # both processes started before any timing
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
            row = f"{name}/plain2"
            two = per_trial(
                partial(plain_optuna_parallel, location=anchor, pool=pool, row=row, long=args.long),
                args.short,
                args.long,
                args.reps,
            )
            cpu = statistics.median(CPU[row]) * 1000
            rows.append(
                (name, f"plain Optuna, 2 processes on one study (CPU per trial {cpu:.1f} ms)", two)
            )
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
                row = f"{name}/{workers}"
                try:
                    cost = per_trial(
                        partial(
                            on_workers, client=client, storage=location, row=row, long=args.long
                        ),
                        args.short,
                        args.long,
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
        two = mine["xt.sweep, 2 worker(s)"]
        plain = mine["plain Optuna study.optimize"]
        plain_two = mine["plain Optuna, 2 processes on one study"]
        print(
            f"{name}: scaling 2 workers / 1 worker = {one / two:.2f} x (goal >= 1.6 x; plain "
            f"Optuna 2 processes / 1 = {plain / plain_two:.2f} x); per-trial overhead over "
            f"plain Optuna, 1 worker = {(one - plain) * 1000:.1f} ms (goal <= 5 ms)"
        )


if __name__ == "__main__":
    main()
