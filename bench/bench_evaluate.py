"""`xt.evaluate` against `mlflow.models.evaluate` on the same classifier and data.

One process, the same fitted scikit-learn model (a random forest, 100 trees) and the same
held-out frame. MLflow evaluates a pyfunc model, as it requires: the forest is logged once
with `mlflow.sklearn.log_model` (outside the timing) and its URI loaded and evaluated by the
default evaluator (`model_type="classifier"`: metrics, ROC/PR/lift/calibration plots,
confusion matrix, per-class CSV; no SHAP: shap is not installed, and explainability is off).
xt.evaluate gets the live estimator; timed with its permutation importance off (the same
work as MLflow's) and on (its default, a 10 s budget). Each timing covers one evaluation
recorded in a fresh run of its tracking store, until it is stored (`xt.flush` / MLflow
writes synchronously). Medians of `--reps` runs, alternating the tools.

Also what the automatic evaluation costs the kernel's thread after each tracked cell (the
evaluation itself runs on a thread of its own): `auto.wanted` on a cell that names no
held-out data, and `wanted` + `find` on one that fits and scores (median of 1,000 calls);
and the next cell: an InteractiveShell with the extension loaded runs a tracked cell that
fits the forest and scores it on X_test, then at once a trivial tracked cell (`x = 1`),
timed, with the automatic evaluation on (it runs meanwhile) and off (`XTRACK_AUTO_EVAL=0`).

`--part kernel-share`: what one automatic evaluation costs the kernel's process, for a small
model (a logistic regression) and the forest: the same shell fits and scores, then (a)
waits for the evaluation at once (`xt.flush`), timing its wall time and the kernel
process's CPU (all its threads; a helper process's CPU is read from /proc and shown apart),
and (b) after the 0.3 s that count as quiet (the evaluation has started), runs a tracked
cell of fixed work, timed: what a cell of Run All pays beside the evaluation (pure Python,
which needs the GIL, and a logistic regression's fit, whose BLAS threads need cores).
Each with the evaluation on and off, after one warm-up of each model (not timed).

    PYTHONPATH=$PWD python bench/bench_evaluate.py --reps 5 --rows 5000
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402


def data(rows: int) -> tuple[Any, Any, Any, Any]:
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=rows * 2, n_features=20, n_informative=8, random_state=0)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    return train_test_split(frame, y, test_size=0.5, random_state=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument(
        "--part", choices=("all", "compare", "next-cell", "kernel-share"), default="all"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    work = scratch("evaluate")
    os.environ["XTRACK_STORE"] = str(work / "xtrack")
    os.environ["XTRACK_SYSTEM_METRICS"] = "off"

    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, y_test = data(args.rows)
    clf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(X_train, y_train)
    if args.part in ("all", "compare"):
        against_mlflow(work, clf, X_test, y_test, args.reps)
        hook_cost(clf, X_test, y_test)
    if args.part in ("all", "next-cell"):
        next_cell(X_train, X_test, y_train, y_test, args.reps)
    if args.part in ("all", "kernel-share"):
        kernel_share(X_train, X_test, y_train, y_test, args.reps)
    print(f"load average: {os.getloadavg()[0]:.1f}")


def against_mlflow(work: Path, clf: Any, X_test: Any, y_test: Any, reps: int) -> None:
    import mlflow

    import jupyter_xtrack as xt

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    # artifacts in the scratch folder too (MLflow's default is ./mlruns under the cwd)
    mlflow.create_experiment("bench", artifact_location=(work / "mlartifacts").as_uri())
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            clf,
            name="model",
            input_example=X_test.head(2),
            skops_trusted_types=["sklearn.tree._tree.Tree"],
        )
    eval_frame = X_test.assign(label=y_test)

    def run_mlflow() -> float:
        start = time.perf_counter()
        with mlflow.start_run():
            mlflow.models.evaluate(
                info.model_uri,
                eval_frame,
                targets="label",
                model_type="classifier",
                evaluator_config={"log_model_explainability": False},
            )
        return time.perf_counter() - start

    def run_xt(importance: bool) -> float:
        start = time.perf_counter()
        with xt.start_run(name="bench"):
            xt.evaluate(clf, X_test, y_test, importance=importance)
        xt.flush()
        return time.perf_counter() - start

    run_mlflow(), run_xt(False)  # warm-up: imports and first-use costs, not timed
    times: dict[str, list[float]] = {"mlflow": [], "xt": [], "xt+importance": []}
    for _ in range(reps):
        times["mlflow"].append(run_mlflow())
        times["xt"].append(run_xt(False))
        times["xt+importance"].append(run_xt(True))
    print(f"rows={len(y_test)} features=20 model=RandomForestClassifier(100) reps={reps}")
    for name, values in times.items():
        shown = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:14s} median {median(values):.2f} s  ({shown})")


def hook_cost(clf: Any, X_test: Any, y_test: Any) -> None:
    from jupyter_xtrack.evaluation import auto

    plain = "\n".join(f"v{i} = {i} * 2" for i in range(30))
    cell = (
        plain + "\nclf = RandomForestClassifier().fit(X_train, y_train)\nclf.score(X_test, y_test)"
    )
    ns = {"clf": clf, "X_test": X_test, "y_test": y_test}
    for label, fn in (
        ("hook, cell without held-out data", lambda: auto.wanted(plain)),
        ("hook, cell that fits and scores", lambda: auto.wanted(cell) and auto.find(cell, ns, [])),
    ):
        times = []
        for _ in range(1000):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        print(f"{label}: median {median(times) * 1e6:.0f} us")


def next_cell(X_train: Any, X_test: Any, y_train: Any, y_test: Any, reps: int) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_xtrack as xt

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_xtrack")
    shell.user_ns.update(X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test)
    fit = (
        "%%track\nfrom sklearn.ensemble import RandomForestClassifier\n"
        "clf = RandomForestClassifier(100, random_state=0).fit(X_train, y_train)\n"
        "clf.score(X_test, y_test)"
    )
    times: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(reps):
        for mode in ("on", "off"):
            os.environ["XTRACK_AUTO_EVAL"] = "1" if mode == "on" else "0"
            shell.run_cell(fit)
            start = time.perf_counter()
            shell.run_cell("%%track\nx = 1")
            times[mode].append(time.perf_counter() - start)
            xt.flush()
    for mode, values in times.items():
        shown = " ".join(f"{v * 1000:.0f}" for v in values)
        print(
            f"next tracked cell, auto-eval {mode}: median {median(values) * 1000:.0f} ms ({shown})"
        )


# the cells run beside an evaluation: pure Python (the GIL), and a fit on BLAS threads
BESIDE = {
    "python": "%%track\nbusy = sum(i * i for i in range(2_000_000))",
    "fit": "%%track\nbusy = LogisticRegression(C=0.5, max_iter=300).fit(X_train, y_train)",
}


def kernel_share(X_train: Any, X_test: Any, y_train: Any, y_test: Any, reps: int) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    import jupyter_xtrack as xt

    shell = InteractiveShell.instance()
    if getattr(shell, "_xtrack_hooks", None) is None:
        shell.run_line_magic("load_ext", "jupyter_xtrack")
    shell.user_ns.update(X_train=X_train, X_test=X_test, y_train=y_train, y_test=y_test)
    shell.run_cell("from sklearn.ensemble import RandomForestClassifier")
    shell.run_cell("from sklearn.linear_model import LogisticRegression")
    models = {
        "logistic regression": "LogisticRegression(max_iter=500)",
        "forest (100 trees)": "RandomForestClassifier(100, random_state=0)",
    }
    for label, model in models.items():
        fit = f"%%track\nclf = {model}.fit(X_train, y_train)\nclf.score(X_test, y_test)"
        shell.run_cell(fit)  # warm-up: imports, the helper's start
        xt.flush()
        rows: dict[str, dict[str, list[float]]] = {}
        for _ in range(reps):
            for mode in ("on", "off"):
                os.environ["XTRACK_AUTO_EVAL"] = "1" if mode == "on" else "0"
                row = rows.setdefault(mode, {"wall": [], "cpu": [], "helper": []})
                shell.run_cell(fit)
                cpu, helper, start = time.process_time(), helper_cpu(), time.perf_counter()
                xt.flush()
                row["wall"].append(time.perf_counter() - start)
                row["cpu"].append(time.process_time() - cpu)
                row["helper"].append(helper_cpu() - helper)
                for name, cell in BESIDE.items():
                    shell.run_cell(fit)
                    time.sleep(0.4)  # quiet: the evaluation starts
                    start = time.perf_counter()
                    shell.run_cell(cell)
                    row.setdefault(name, []).append(time.perf_counter() - start)
                    xt.flush()
        for mode, row in rows.items():
            beside = ", ".join(
                f"{name} {median(row[name]) * 1000:.0f} ms "
                f"({' '.join(f'{v * 1000:.0f}' for v in row[name])})"
                for name in BESIDE
            )
            print(
                f"{label}, auto-eval {mode}: flush {median(row['wall']):.2f} s, kernel CPU "
                f"{median(row['cpu']):.2f} s, helper CPU {median(row['helper']):.2f} s; "
                f"cells beside it: {beside}"
            )
    os.environ["XTRACK_AUTO_EVAL"] = "1"


def helper_cpu() -> float:
    """CPU seconds of this process's children still running (the evaluation's helper),
    from /proc: `os.times()` counts only children that were waited for."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid():  # field 4: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


if __name__ == "__main__":
    main()
