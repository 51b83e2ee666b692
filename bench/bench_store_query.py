"""Run-query speed: `query_runs().to_frame()` over 100,000 runs (20 params and 20 metrics
each) and a selective filter, median of several runs.

    .venv/bin/python bench/bench_store_query.py [--runs 100000] [--repeat 5] [--rebuild]

The store is built once through the store contract (`batch()` of 500 runs) and cached
under bench/.work/.
"""

from __future__ import annotations

import argparse
import inspect
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_xtrack.store import hash_bytes, open_store, schema

N_PARAMS = 20
N_METRICS = 20
GOAL_FRAME_S = 1.0
GOAL_FILTER_S = 0.100


def build(path: Path, n_runs: int) -> None:
    """A store of `n_runs` finished runs with N_PARAMS params and N_METRICS metrics each,
    written through the store contract, 500 runs a transaction."""
    if path.exists():
        shutil.rmtree(path)
    store = open_store(path)
    rng = random.Random(42)
    t0 = 1.79e9
    optimizers = ["adam", "sgd", "adamw", "rmsprop"]
    for first in range(1, n_runs + 1, 500):
        with store.batch():
            for number in range(first, min(first + 500, n_runs + 1)):
                p: dict[str, object] = {f"p{i:02d}": rng.random() for i in range(N_PARAMS - 2)}
                p["optimizer"] = optimizers[number % 4]
                p["layers"] = number % 7
                m = {f"m{i:02d}": rng.random() for i in range(N_METRICS - 1)}
                m["acc"] = rng.random()
                started = t0 + number * 10.0
                run_id, _ = store.create_run(
                    name=f"run-{number}", experiment=f"exp{number % 5}", started_at=started
                )
                store.set_params(run_id, p)
                store.log_metrics([(run_id, k, v, None, started + 5.0) for k, v in m.items()])
                store.set_tags(run_id, {"team": "a" if number % 2 else "b"})
                store.finish_run(run_id, status="finished", ended_at=started + 5.0)
    store.close()


def fingerprint(n_runs: int) -> str:
    """Identifies the cached store: run count and the exact schema it was built with."""
    ddl = "".join(inspect.getsource(schema).split("MIGRATIONS")[0])
    return f"{n_runs} {hash_bytes(ddl.encode())}"


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median wall and median CPU seconds of `repeat` calls, and the last result. CPU time
    is shown because the development machine is shared: wall time includes waiting for
    a core."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rebuild", action="store_true")
    args = ap.parse_args()
    path = Path(__file__).resolve().parent / ".work" / f"query-store-{args.runs}"
    marker = path / "built"
    if args.rebuild or not marker.exists() or marker.read_text() != fingerprint(args.runs):
        start = time.perf_counter()
        build(path, args.runs)
        print(f"built {args.runs} runs in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    store = open_store(path)
    cases = [
        ("query_runs().to_frame(), all runs", GOAL_FRAME_S, lambda: store.query_runs().to_frame()),
        ("query_runs() (RunTable only), all runs", None, lambda: store.query_runs()),
        (
            "query_runs('metrics.acc > 0.999').to_frame()",
            GOAL_FILTER_S,
            lambda: store.query_runs("metrics.acc > 0.999").to_frame(),
        ),
        (
            "query_runs(\"params.optimizer = 'adam' and metrics.acc > 0.999\")",
            GOAL_FILTER_S,
            lambda: store.query_runs("params.optimizer = 'adam' and metrics.acc > 0.999"),
        ),
        (
            "query_runs(order_by='metrics.acc desc', limit=20)",
            None,
            lambda: store.query_runs(order_by="metrics.acc desc", limit=20),
        ),
    ]
    print(
        f"{args.runs:,} runs x ({N_PARAMS} params + {N_METRICS} metrics), median of {args.repeat}"
    )
    print()
    print("| query | rows | median wall | median CPU | goal | status (wall) |")
    print("|---|---:|---:|---:|---:|---|")
    for label, goal, fn in cases:
        fn()  # warm the page cache
        median, cpu, result = timed(fn, args.repeat)
        rows = len(result)  # type: ignore[arg-type]
        goal_text = f"< {goal * 1000:.0f} ms" if goal else "-"
        status = "-" if goal is None else ("met" if median < goal else "MISSED")
        print(
            f"| `{label}` | {rows:,} | {median * 1000:.0f} ms | {cpu * 1000:.0f} ms "
            f"| {goal_text} | {status} |"
        )
    store.close()


if __name__ == "__main__":
    main()
