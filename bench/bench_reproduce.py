"""What `xtrack reproduce` costs over the run it reproduces.

A notebook session (load the tracker, make data, train a small scikit-learn model in a
tracked cell) is recorded once through nbclient; then its run is reproduced with
`xtrack reproduce --env current` (goal: at most the run's own duration + 3 s) and
`--env fresh` from a warm pip cache (goal: at most the run's own duration + 30 s), each as
the command a user types (a new process). Anchor: nbclient executing the same notebook
(no tracking, no comparison): what any re-execution of the notebook pays.

    PYTHONPATH=$PWD python bench/bench_reproduce.py --reps 5 --fresh-reps 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch  # noqa: E402

CELLS = [
    "%load_ext jupyter_xtrack",
    "import numpy as np\nrng = np.random.default_rng(0)\nX = rng.normal(size=(2000, 20))\n"
    "y = (X[:, 0] + X[:, 1] > 0).astype(int)",
    "%%track --name small-model\nfrom sklearn.linear_model import LogisticRegression\n"
    "from sklearn.model_selection import cross_val_score\n"
    "clf = LogisticRegression(max_iter=200)\nscores = cross_val_score(clf, X, y, cv=5)\n"
    "acc = float(scores.mean())\nprint('acc', acc)",
]


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def execute(work: Path, cells: list[str]) -> float:
    start = time.perf_counter()
    NotebookClient(
        notebook(cells),
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    ).execute()
    return time.perf_counter() - start


def reproduce(work: Path, env: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter_xtrack.cli",
            "reproduce",
            "1",
            "--env",
            env,
            "--timeout",
            "600",
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    first = done.stdout.splitlines()[0] if done.stdout else done.stderr[-300:]
    if "reproduced" not in first:
        raise SystemExit(f"reproduce --env {env} failed: {first}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--fresh-reps", type=int, default=3)
    args = parser.parse_args()
    work = scratch("reproduce")
    os.environ["XTRACK_STORE"] = str(work / ".xtrack")
    session = execute(work, CELLS)
    from jupyter_xtrack.store import open_store

    with open_store(work / ".xtrack") as store:
        run_s = float(store.get_run(1)["duration_s"])
    untracked = [c.split("\n", 1)[1] if c.startswith("%%track") else c for c in CELLS[1:]]
    anchor = [execute(work, untracked) for _ in range(args.reps)]
    current = [reproduce(work, "current") for _ in range(args.reps)]
    cold = reproduce(work, "fresh") if args.fresh_reps else float("nan")
    fresh = [reproduce(work, "fresh") for _ in range(args.fresh_reps - 1)]
    print(
        f"recorded session (nbclient, tracked): {session:.2f} s; the run's own duration "
        f"{run_s:.2f} s"
    )
    print("| what | median | over the run's duration | goal |")
    print("|---|---|---|---|")
    print(
        f"| nbclient, same notebook untracked (anchor), {args.reps} runs | "
        f"{median(anchor):.2f} s | +{median(anchor) - run_s:.2f} s | |"
    )
    print(
        f"| xtrack reproduce --env current, {args.reps} runs | {median(current):.2f} s | "
        f"+{median(current) - run_s:.2f} s | +3 s |"
    )
    print(
        f"| xtrack reproduce --env fresh, first (pip cache as found) | {cold:.2f} s | "
        f"+{cold - run_s:.2f} s | |"
    )
    if fresh:
        print(
            f"| xtrack reproduce --env fresh, warm cache, {len(fresh)} runs | "
            f"{median(fresh):.2f} s | +{median(fresh) - run_s:.2f} s | +30 s |"
        )


if __name__ == "__main__":
    main()
