"""AutoML vs FLAML at an equal time budget on 11 public tabular datasets available offline
(scikit-learn's bundled ones and statsmodels.datasets).

For each dataset and each split seed: a 75/25 train/test split; `xt.automl` and FLAML's
`AutoML.fit` each get the training part, the same time budget and the same metric (the
task's default: roc_auc, log_loss, r2); both are scored on the test part. Both run
single-threaded (n_jobs=1) so that neither suffers from the other's load on a shared
machine. Reports the median test score over seeds per dataset and tool, and wall times.

    .venv/bin/python bench/bench_automl_flaml.py [--budget 15] [--seeds 3] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
WORK = Path(__file__).resolve().parent / ".work"


def _sk(loader: str) -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    def load() -> tuple[pd.DataFrame, pd.Series]:
        import sklearn.datasets as d

        bunch = getattr(d, loader)(as_frame=True)
        return bunch.data, bunch.target

    return load


def _sm(name: str, target: Callable[[pd.DataFrame], pd.Series], drop: list[str]) -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    def load() -> tuple[pd.DataFrame, pd.Series]:
        import statsmodels.api as sm

        frame = getattr(sm.datasets, name).load_pandas().data
        y = target(frame)
        return frame.drop(columns=drop), y

    return load


DATASETS: dict[str, Callable[[], tuple[pd.DataFrame, pd.Series]]] = {
    "iris": _sk("load_iris"),
    "wine": _sk("load_wine"),
    "breast_cancer": _sk("load_breast_cancer"),
    "digits": _sk("load_digits"),
    "diabetes": _sk("load_diabetes"),
    "fair (affairs>0)": _sm("fair", lambda f: (f["affairs"] > 0).astype(int), ["affairs"]),
    "randhie (mdvis)": _sm("randhie", lambda f: f["mdvis"], ["mdvis"]),
    "anes96 (vote)": _sm("anes96", lambda f: f["vote"].astype(int), ["vote"]),
    "star98 (share above)": _sm(
        "star98", lambda f: f["NABOVE"] / (f["NABOVE"] + f["NBELOW"]), ["NABOVE", "NBELOW"]
    ),
    "modechoice (choice)": _sm("modechoice", lambda f: f["choice"].astype(int), ["choice", "individual"]),
    "grunfeld (invest)": _sm("grunfeld", lambda f: f["invest"], ["invest"]),
}


def _score(metric: Any, y: Any, model: Any, X: Any, task: str, classes: Any) -> float:  # noqa: N803
    from jupyter_xtrack.optimize.ensemble import aligned_proba

    pred = aligned_proba(model, X, classes) if task != "regression" else model.predict(X)
    return metric.value(np.asarray(y), pred, classes)


def run_xtrack(Xtr: Any, ytr: Any, budget: float, seed: int) -> tuple[Any, float]:  # noqa: N803
    from jupyter_xtrack.optimize.automl import automl

    t0 = time.perf_counter()
    result = automl(Xtr, ytr, time_budget=budget, seed=seed, show=False)
    return result.best_model, time.perf_counter() - t0


def run_flaml(Xtr: Any, ytr: Any, budget: float, seed: int, task: str, metric: str) -> tuple[Any, float]:  # noqa: N803
    from flaml import AutoML

    model = AutoML()
    t0 = time.perf_counter()
    model.fit(Xtr, ytr, task="regression" if task == "regression" else "classification",
              time_budget=budget, metric=metric, n_jobs=1, seed=seed, verbose=0)
    return model, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=15.0)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("flaml").setLevel(logging.ERROR)
    os.environ["XTRACK_STORE"] = tempfile.mkdtemp(prefix="xtrack-bench-")
    from sklearn.model_selection import train_test_split

    from jupyter_xtrack.optimize.scoring import detect_task, get_metric

    WORK.mkdir(exist_ok=True)
    out = WORK / "automl_flaml.jsonl"
    names = [n for n in DATASETS if not args.only or n.split(" ")[0] in args.only.split(",")]
    rows = []
    with out.open("w") as fh:
        for name in names:
            X, y = DATASETS[name]()
            task = detect_task(y)
            metric = get_metric(None, task)
            for seed in range(args.seeds):
                strat = y if task != "regression" else None
                Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed,
                                                      stratify=strat)
                classes = np.unique(ytr) if task != "regression" else None
                rec: dict[str, Any] = {"dataset": name, "task": task, "metric": metric.name,
                                       "rows": len(X), "features": X.shape[1], "seed": seed}
                for tool in ("xtrack", "flaml"):
                    try:
                        if tool == "xtrack":
                            model, wall = run_xtrack(Xtr, ytr, args.budget, seed)
                        else:
                            model, wall = run_flaml(Xtr, ytr, args.budget, seed, task, metric.name)
                        rec[tool] = _score(metric, yte, model, Xte, task, classes)
                        rec[f"{tool}_wall_s"] = wall
                    except Exception as exc:  # noqa: BLE001 - a tool failing is a result too
                        rec[tool] = None
                        rec[f"{tool}_error"] = f"{type(exc).__name__}: {exc}"
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                rows.append(rec)
                print(json.dumps(rec), flush=True)
    summarize(rows, args.budget, args.seeds)


def summarize(rows: list[dict[str, Any]], budget: float, seeds: int) -> None:
    from jupyter_xtrack.optimize.scoring import get_metric

    print("\n| dataset | rows | task (metric) | xtrack | FLAML | result | wall s (xtrack / FLAML) |")
    print("|---|---|---|---|---|---|---|")
    wins = ties = losses = 0
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_name.setdefault(r["dataset"], []).append(r)
    for name, recs in by_name.items():
        r0 = recs[0]
        greater = get_metric(r0["metric"], r0["task"]).greater_is_better

        def med(key: str, recs: list[dict[str, Any]] = recs) -> float | None:
            vals = [r[key] for r in recs if r.get(key) is not None]
            return statistics.median(vals) if vals else None

        a, b = med("xtrack"), med("flaml")
        if a is None or b is None:
            verdict = "error"
        else:
            tol = 1e-4 * max(1.0, abs(b))
            if abs(a - b) <= tol:
                verdict, ties = "tie", ties + 1
            elif (a > b) == greater:
                verdict, wins = "**win**", wins + 1
            else:
                verdict, losses = "loss", losses + 1
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"  # noqa: E731
        wa, wb = med("xtrack_wall_s"), med("flaml_wall_s")
        print(f"| {name} | {r0['rows']} | {r0['task']} ({r0['metric']}) | {fmt(a)} | {fmt(b)} | "
              f"{verdict} | {fmt(wa)[:-2]} / {fmt(wb)[:-2]} |")
    print(f"\nbudget {budget:g} s per fit, median of {seeds} split seeds: {wins} wins, {ties} ties, "
          f"{losses} losses for xtrack against FLAML")


if __name__ == "__main__":
    main()
