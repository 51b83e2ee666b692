"""Per-cell cost of reading a cell's params, loops included (`%%track`'s hot path).

A cell in the style of the scikit-learn gallery (a loop over C feeding a LogisticRegression,
a GridSearchCV with a refit callable, a KMeans with a 100x4 `init`, accumulators and plot
settings) is run once; then, median and p95 of many calls each: analyze_cell on its source,
cell_params on the namespace it left, jsonable of every resulting param (what
ActiveRun.log_params does), and jsonable of a 1000x1000 float array (stored by digest).

Run: .venv/bin/python bench/bench_params.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, percentile  # noqa: E402

from jupyter_xtrack.capture.params import analyze_cell, cell_params, jsonable  # noqa: E402

CELL = """\
import matplotlib.colors
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC

X, y = load_iris(return_X_y=True)
y = (y == 0).astype(int)
clfs = []
colors = "byr"
tol = 0.01
for i, C in enumerate((1, 0.1, 0.01)):
    clf_l1_LR = LogisticRegression(C=C, penalty="l1", tol=tol, solver="liblinear").fit(X, y)
    clfs.append(clf_l1_LR)

def refit_strategy(cv_results):
    return int(np.argmax(cv_results["mean_test_score"]))

grid = GridSearchCV(SVC(random_state=np.random.RandomState(0)), {"C": [1, 10]},
                    refit=refit_strategy, cv=3)
kmeans = KMeans(n_clusters=100, init=np.random.RandomState(0).rand(100, 4), n_init=1)
"""


def report(label: str, fn: Callable[[], object], n: int) -> None:
    fn()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    print(
        f"   {label:44s} median {median(times) * 1e3:8.3f} ms   p95 "
        f"{percentile(times, 95) * 1e3:8.3f} ms   (n={n})"
    )


def main() -> None:
    import numpy as np

    ns: dict[str, Any] = {}
    exec(compile(CELL, "<cell>", "exec"), ns)  # noqa: S102 - the benchmark's own cell
    analysis = analyze_cell(CELL)
    params, _ = cell_params(analysis, ns)
    print(f"python {sys.version.split()[0]}, {len(params)} params from the cell")
    report("analyze_cell, gallery cell (24 lines)", lambda: analyze_cell(CELL), 1000)
    report("cell_params on its namespace", lambda: cell_params(analysis, ns), 1000)
    report("jsonable of every param", lambda: [jsonable(v) for v in params.values()], 1000)
    big = np.random.default_rng(0).random((1000, 1000))
    report("jsonable, 1000x1000 float64 (by digest)", lambda: jsonable(big), 50)


if __name__ == "__main__":
    main()
