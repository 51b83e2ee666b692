"""AutoML candidates evaluated within a fixed time budget: in the kernel, and on 1 and 2
local Dask worker processes (`xt.automl(..., workers=client)`), on a gallery dataset:
scikit-learn's breast cancer (569 rows x 30 features, binary, roc_auc; the one most of
bench/gallery's notebooks use) or `--dataset digits` (1,797 x 64, 10 classes, log_loss).

Each run gives every mode the same budget and seed, modes interleaved so a busy machine's
load falls on all of them alike. The clusters are started before the timed call and warmed
(scikit-learn imported in each worker), so the figures compare the searches; the mode
"2 started by the call" passes `workers=2` instead, so its wall time includes starting and
stopping the cluster, against the budget's bound (budget + 5 %). Reports per mode the
medians of: model candidates evaluated (a CV score on at least one rung), those completed,
the best CV score and the call's wall time; and the longest call.

    .venv/bin/python bench/bench_automl_workers.py [--budget 20] [--runs 3] [--dataset digits]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import scratch  # noqa: E402


def _import_families() -> None:
    from jupyter_xtrack.optimize.models import families

    families("binary", 2000)


def _one(X: Any, y: Any, budget: float, seed: int, workers: Any) -> dict[str, float]:  # noqa: N803
    from jupyter_xtrack.optimize.automl import AutoMLResult, automl

    started = time.perf_counter()
    result = automl(X, y, time_budget=budget, seed=seed, show=False, workers=workers)
    wall = time.perf_counter() - started
    assert isinstance(result, AutoMLResult)
    models = [c for c in result.candidates if c.kind == "model"]
    return {
        "evaluated": sum(c.cv_score is not None for c in models),
        "complete": sum(c.status == "complete" for c in models),
        "best": float(result.best.cv_score or float("nan")),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dataset", choices=["breast_cancer", "digits"], default="breast_cancer")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    os.environ["XTRACK_STORE"] = str(scratch("automl_workers") / ".xtrack")
    import sklearn.datasets

    from jupyter_xtrack.optimize.cluster import dask_client

    X, y = getattr(sklearn.datasets, f"load_{args.dataset}")(return_X_y=True, as_frame=True)
    clusters = {n: dask_client(n) for n in (1, 2)}
    for client, _ in clusters.values():
        client.run(_import_families)
    modes: dict[str, Any] = {
        "in the kernel": None,
        "1 worker": clusters[1][0],
        "2 workers": clusters[2][0],
        "2 started by the call": 2,
    }
    rows: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    load = [os.getloadavg()[0]]
    try:
        for run in range(args.runs):
            for mode, workers in modes.items():
                rows[mode].append(_one(X, y, args.budget, run, workers))
                print(f"run {run} {mode}: {rows[mode][-1]}", flush=True)
            load.append(os.getloadavg()[0])
    finally:
        for _, close in clusters.values():
            close()
    print(
        f"\nbudget {args.budget:g} s, {args.runs} runs, {args.dataset} {X.shape}; "
        f"{os.cpu_count()} CPUs, 1-min load average {min(load):.1f} to {max(load):.1f}"
    )
    print("| mode | candidates evaluated | completed | best CV score | wall s | max wall s |")
    print("|---|---|---|---|---|---|")
    for mode, results in rows.items():
        med = {k: statistics.median(r[k] for r in results) for k in results[0]}
        print(
            f"| {mode} | {med['evaluated']:g} | {med['complete']:g} | {med['best']:.4f} "
            f"| {med['wall_s']:.1f} | {max(r['wall_s'] for r in results):.1f} |"
        )


if __name__ == "__main__":
    main()
