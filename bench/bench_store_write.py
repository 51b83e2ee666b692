"""Metric write throughput: `Store.log_metrics` points per second, median of several runs.

    .venv/bin/python bench/bench_store_write.py [--points 1000000] [--repeat 5]

Three shapes of batch: one series (a tight `xt.log(loss=...)` loop), 10 interleaved keys
of one run (a training loop logging several metrics per step), and the same through the
BackgroundWriter (PointBuffer.append then flush), which is what `xt.log` pays end to end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_xtrack.store import BackgroundWriter, PointBuffer, open_store

GOAL_POINTS_PER_S = 1_000_000


def one_series(run_id: str, n: int) -> list[tuple[str, str, float, int | None, float]]:
    now = time.time()
    return [(run_id, "loss", 1.0 / (i + 1), i, now) for i in range(n)]


def ten_keys(run_id: str, n: int) -> list[tuple[str, str, float, int | None, float]]:
    now = time.time()
    keys = [f"m{k}" for k in range(10)]
    return [(run_id, keys[i % 10], i * 0.5, i // 10, now) for i in range(n)]


def measure(
    label: str, n: int, repeat: int, work: Callable[[Path], Callable[[], None]]
) -> tuple[str, float]:
    rates = []
    for _ in range(repeat):
        folder = Path(tempfile.mkdtemp(prefix="xtrack-bench-"))
        try:
            run = work(folder)
            start = time.perf_counter()
            run()
            rates.append(n / (time.perf_counter() - start))
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return label, statistics.median(rates)


def direct(shape: Callable[[str, int], list[tuple[str, str, float, int | None, float]]], n: int):
    def setup(folder: Path) -> Callable[[], None]:
        store = open_store(folder / "store")
        run_id, _ = store.create_run()
        points = shape(run_id, n)
        return lambda: store.log_metrics(points)

    return setup


def through_writer(n: int):
    def setup(folder: Path) -> Callable[[], None]:
        store = open_store(folder / "store")
        run_id, _ = store.create_run()
        writer = BackgroundWriter(store, interval=0.5)
        buf = writer.add_buffer(PointBuffer())
        append = buf.append
        keys = [f"m{k}" for k in range(10)]

        def run() -> None:
            now = time.time()
            for i in range(n):
                append((run_id, keys[i % 10], i * 0.5, i // 10, now))
            assert writer.flush(120)
            writer.close()

        return run

    return setup


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n = args.points
    results = [
        measure("log_metrics, one series", n, args.repeat, direct(one_series, n)),
        measure("log_metrics, 10 interleaved keys", n, args.repeat, direct(ten_keys, n)),
        measure(
            "PointBuffer.append + BackgroundWriter.flush, 10 keys",
            n,
            args.repeat,
            through_writer(n),
        ),
    ]
    print(f"{n:,} points per batch, median of {args.repeat}")
    print()
    print("| write path | points/s | goal | status |")
    print("|---|---:|---:|---|")
    for label, rate in results:
        status = "met" if rate > GOAL_POINTS_PER_S else "MISSED"
        print(f"| {label} | {rate:,.0f} | > {GOAL_POINTS_PER_S:,} | {status} |")


if __name__ == "__main__":
    main()
