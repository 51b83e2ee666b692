"""Metric writes into PostgreSQL from one client: xtrack's BackgroundWriter against MLflow's
tracking server (`log_batch`) on the same cluster, side by side.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_pg_metrics.py [--points 100000]
        [--mlflow-points 20000] [--repeat 5] [--skip-xtrack] [--skip-mlflow] [--sqlite]

One durable PostgreSQL 15 cluster (fsync on) is started here, with a database for xtrack's
store and one for `mlflow server --backend-store-uri postgresql+psycopg://...` (one worker,
tracking only), both on 127.0.0.1. Three shapes of the same points, each repetition on a
fresh run, the two sides alternating:

- kernel: `--points` points of 10 interleaved keys appended to the kernel's PointBuffer in a
  tight loop while the BackgroundWriter (the kernel's 0.5 s interval) drains it, then
  flushed: what `xt.log` in a training loop costs end to end. MLflow gets the same points in
  `log_batch` calls of 1,000 (its most per call).
- batch-10: batches of 500 points (10 keys x 50 steps), each flushed on its own (one
  transaction, one commit each), as `log_batch` sends one request each.
- batch-500: batches of 500 distinct keys x 1 step (the mlflow-go-backend figure's shape:
  1,200 ms per 500-metric batch from Python MLflow, 13 ms from its Go server).

MLflow gets `--mlflow-points` points per shape (it is slow enough that 100,000 would take
minutes per repetition); its figures are per batch and per point, so they compare. Medians
over `--repeat` repetitions; the load average is sampled throughout (the machine is shared).
`--sqlite` writes xtrack's side into a SQLite store in a local folder instead (the same
code path on the embedded backend, to check that what speeds up one does not slow the
other).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pg_common import LoadSampler, durable_postgres, mlflow_on_postgres  # noqa: E402
from common import median, scratch  # noqa: E402

GOAL_POINTS_PER_S = 200_000
BATCH = 500
MLFLOW_MAX_PER_CALL = 1000

# A point before it has a run: (key, value, step); each side adds its run and time.
Shape = Callable[[int], list[list[tuple[str, float, int]]]]


def kernel_shape(n: int) -> list[list[tuple[str, float, int]]]:
    """One stream of n points over 10 interleaved keys (the writer batches it)."""
    keys = [f"m{k}" for k in range(10)]
    return [[(keys[i % 10], i * 0.5, i // 10) for i in range(n)]]


def ten_key_batches(n: int) -> list[list[tuple[str, float, int]]]:
    """Batches of 500 points: 10 keys x 50 steps."""
    keys = [f"m{k}" for k in range(10)]
    return [
        [(keys[i % 10], i * 0.5, i // 10) for i in range(start, start + BATCH)]
        for start in range(0, n, BATCH)
    ]


def wide_batches(n: int) -> list[list[tuple[str, float, int]]]:
    """Batches of 500 distinct keys, one step each."""
    keys = [f"metric_{k}" for k in range(BATCH)]
    return [[(keys[k], step + k * 1e-3, step) for k in range(BATCH)] for step in range(n // BATCH)]


SHAPES: dict[str, Shape] = {
    "kernel": kernel_shape,
    "batch-10": ten_key_batches,
    "batch-500": wide_batches,
}


def xtrack_seconds(store: Any, batches: list[list[tuple[str, float, int]]]) -> float:
    """Append each batch to a PointBuffer drained by a BackgroundWriter; one batch: wait
    for the writer once at the end (the kernel's case); several: flush after each."""
    from jupyter_xtrack.capture.redact import redact_text
    from jupyter_xtrack.store import BackgroundWriter, PointBuffer

    run_id, _ = store.create_run(name="bench", experiment="bench")
    # As the kernel's writer is made (tracking/session.py): keys go through redaction.
    writer = BackgroundWriter(store, interval=0.5, metric_name=redact_text)
    append = writer.add_buffer(PointBuffer()).append
    now = time.time()
    start = time.perf_counter()
    for batch in batches:
        for key, value, step in batch:
            append((run_id, key, value, step, now))
        if len(batches) > 1:
            assert writer.flush(600)
    assert writer.flush(600)
    seconds = time.perf_counter() - start
    writer.close()
    assert writer.dropped_points == 0 and writer.errors == 0, writer.last_error
    store.finish_run(run_id, status="finished")
    return seconds


def mlflow_seconds(
    client: Any, experiment_id: str, batches: list[list[tuple[str, float, int]]]
) -> float:
    """The same points through `MlflowClient.log_batch`, at most 1,000 per call."""
    from mlflow.entities import Metric

    run_id = client.create_run(experiment_id).info.run_id
    now = int(time.time() * 1000)
    calls = [
        [Metric(key, value, now, step) for key, value, step in batch[i : i + MLFLOW_MAX_PER_CALL]]
        for batch in batches
        for i in range(0, len(batch), MLFLOW_MAX_PER_CALL)
    ]
    start = time.perf_counter()
    for metrics in calls:
        client.log_batch(run_id, metrics=metrics)
    seconds = time.perf_counter() - start
    client.set_terminated(run_id)
    return seconds


def report(label: str, shape: str, points: int, batches: int, seconds: list[float]) -> None:
    med = median(seconds)
    rate = points / med
    per_batch = f"{med / batches * 1000:,.1f} ms" if batches > 1 else "-"
    goal = ""
    if label == "xtrack" and shape == "kernel":  # the goal is what `xt.log` pays
        goal = "met" if rate >= GOAL_POINTS_PER_S else "MISSED"
    print(f"| {shape} | {label} | {points:,} | {per_batch} | {rate:,.0f} | {goal} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--mlflow-points", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--skip-xtrack", action="store_true")
    ap.add_argument("--skip-mlflow", action="store_true")
    ap.add_argument("--sqlite", action="store_true", help="xtrack's store in SQLite")
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    work = scratch("pg_metrics")
    os.environ["XTRACK_ARTIFACTS"] = (work / "blobs").as_uri()
    os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    times: dict[tuple[str, str], list[float]] = {}
    load = LoadSampler()
    with durable_postgres() as server, ExitStack() as stack:
        store = client = experiment_id = None
        if not args.skip_xtrack:
            from jupyter_xtrack.store import open_store

            store = open_store(work / "sqlite" if args.sqlite else server.create_database("xtrack"))
            stack.callback(store.close)
        if not args.skip_mlflow:
            from mlflow import MlflowClient

            client = MlflowClient(
                tracking_uri=stack.enter_context(mlflow_on_postgres(server, work))
            )
            experiment_id = client.create_experiment("bench")
        load.start()
        for _ in range(args.repeat):
            for shape in shapes:
                if store is not None:
                    batches = SHAPES[shape](args.points)
                    times.setdefault((shape, "xtrack"), []).append(xtrack_seconds(store, batches))
                if client is not None:
                    batches = SHAPES[shape](args.mlflow_points)
                    times.setdefault((shape, "mlflow"), []).append(
                        mlflow_seconds(client, experiment_id, batches)
                    )
        load.stop()
    print(f"\nmedian of {args.repeat} repetitions; {load.summary()}")
    print(
        "| shape | client | points | per 500-point batch | points/s | goal: kernel >= 200,000/s |"
    )
    print("|---|---|---:|---:|---:|---|")
    for shape in shapes:
        for label, points in (("xtrack", args.points), ("mlflow", args.mlflow_points)):
            if (shape, label) in times:
                batches = 1 if shape == "kernel" else points // BATCH
                report(label, shape, points, batches, times[(shape, label)])


if __name__ == "__main__":
    main()
