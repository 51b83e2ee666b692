"""Per-trial overhead of `xt.sweep` against plain Optuna on a trivial objective, same
sampler, same number of trials.

A sweep keeps its study in a journal file beside the run store (so it can be resumed);
anchors: Optuna's `study.optimize` in memory, with a journal file, and with SQLite.

Per-trial cost is the slope between a short and a long sweep (fixed start-up costs, such
as creating the study database, cancel out); start-up is reported separately.

    .venv/bin/python bench/bench_optimize_overhead.py [--reps 5] [--short 10] [--long 110]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def objective_value(x: float, y: float) -> float:
    return (x - 0.3) ** 2 + (y - 0.7) ** 2


def plain_optuna(n: int, sampler: str, storage: object) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.samplers.RandomSampler(seed=0) if sampler == "random" else optuna.samplers.TPESampler(
        seed=0, multivariate=True
    )
    t0 = time.perf_counter()
    study = optuna.create_study(sampler=s, storage=storage, direction="minimize")  # type: ignore[arg-type]
    study.optimize(lambda t: objective_value(t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)),
                   n_trials=n)
    return time.perf_counter() - t0


def xtrack_sweep(n: int, sampler: str, storage: object) -> float:
    from jupyter_xtrack import api
    from jupyter_xtrack.optimize.sweep import sweep
    from jupyter_xtrack.tracking.session import CONTEXT

    folder = tempfile.mkdtemp(prefix="xtrack-overhead-")
    CONTEXT.reset()
    api.open_store(folder)
    CONTEXT.store()
    t0 = time.perf_counter()
    sweep(objective_value, "x=uniform(0, 1); y=uniform(0, 1)", trials=n, sampler=sampler,
          direction="minimize", seed=0, show=False)
    elapsed = time.perf_counter() - t0
    api.flush()
    return elapsed


def sqlite_url() -> str:
    return f"sqlite:///{tempfile.mkdtemp(prefix='optuna-overhead-')}/optuna.db"


def journal() -> object:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = f"{tempfile.mkdtemp(prefix='optuna-overhead-')}/optuna.journal"
    return JournalStorage(JournalFileBackend(path))


def measure(fn: Callable[[int, str, object], float], sampler: str, short: int, long: int,
            reps: int, storage: Callable[[], object]) -> tuple[float, float]:
    """(median per-trial ms, median start-up ms)."""
    per, start = [], []
    for _ in range(reps):
        a = fn(short, sampler, storage())
        b = fn(long, sampler, storage())
        slope = (b - a) / (long - short)
        per.append(slope * 1000)
        start.append((a - slope * short) * 1000)
    return statistics.median(per), statistics.median(start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--short", type=int, default=10)
    ap.add_argument("--long", type=int, default=110)
    args = ap.parse_args()
    os.environ.setdefault("XTRACK_WIDGETS", "0")
    print("| sampler | Optuna, in memory | Optuna, journal file | Optuna, SQLite | "
          "xt.sweep (journal file + runs) | overhead vs in memory | overhead vs journal file |")
    print("|---|---|---|---|---|---|---|")
    for sampler in ("random", "tpe"):
        mem, mem0 = measure(plain_optuna, sampler, args.short, args.long, args.reps, lambda: None)
        jrn, jrn0 = measure(plain_optuna, sampler, args.short, args.long, args.reps, journal)
        sql, sql0 = measure(plain_optuna, sampler, args.short, args.long, args.reps, sqlite_url)
        ours, ours0 = measure(xtrack_sweep, sampler, args.short, args.long, args.reps, lambda: None)
        print(f"| {sampler} | {mem:.2f} ms | {jrn:.2f} ms | {sql:.2f} ms | {ours:.2f} ms | "
              f"{ours - mem:+.2f} ms | {ours - jrn:+.2f} ms |")
        print(f"|   start-up | {mem0:.0f} ms | {jrn0:.0f} ms | {sql0:.0f} ms | {ours0:.0f} ms | | |")
    print(f"\nper-trial = slope between {args.short} and {args.long} trials, median of {args.reps} reps")


if __name__ == "__main__":
    main()
