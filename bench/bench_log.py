"""`xt.log` throughput in a loop inside a tracked cell, against MLflow's `log_metric`.

    .venv/bin/python bench/bench_log.py [--points 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--mlflow-points", type=int, default=1000)
    args = ap.parse_args()
    work = scratch("log")
    os.environ["XTRACK_STORE"] = str(work / "store")
    import jupyter_xtrack as xt

    rates, totals = [], []
    for _ in range(args.repeat):
        with xt.start_run(name="bench-log"):
            log = xt.log
            t0 = time.perf_counter()
            for i in range(args.points):
                log(step=i, loss=0.5)
            rates.append(args.points / (time.perf_counter() - t0))
        xt.flush()
        totals.append(args.points / (time.perf_counter() - t0))

    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    mrates = []
    for _ in range(3):
        with mlflow.start_run():
            t0 = time.perf_counter()
            for i in range(args.mlflow_points):
                mlflow.log_metric("loss", 0.5, step=i)
            mrates.append(args.mlflow_points / (time.perf_counter() - t0))

    print("| what | points/s (median) | goal |")
    print("|---|---|---|")
    print(f"| `xt.log(step=i, loss=v)` in the loop ({args.points:,} calls, median of {args.repeat}) | {median(rates):,.0f} | >= 1,000,000 |")
    print(f"| same, including the wait until every point is in SQLite | {median(totals):,.0f} | |")
    print(f"| anchor: MLflow `log_metric` (SQLite, {args.mlflow_points:,} calls, median of 3) | {median(mrates):,.0f} | |")


if __name__ == "__main__":
    main()
