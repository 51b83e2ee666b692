"""The first tracked cell of a kernel: its main thread's CPU and its time, plain and tracked.

Each repetition starts two fresh kernels through nbclient, alternately: one runs the cell as
written, the other loads the extension first and runs the cell under `%%track`. Probes
registered around the tracker's hooks read the main thread's CPU clock (`time.thread_time`)
and the wall clock when the cell starts (before the tracker's `pre_run_cell`) and when it
ends (after its `post_run_cell`), so a figure holds the tracker's hooks and whatever it
costs the cell's own code, and nothing of the other threads, and the main thread's minor
page faults over the same span (a count the machine's load does not move: Python 3.11
allocates its frame stack in 16 KiB chunks, mapped and unmapped as calls cross them, so a
tracker frame left on the stack under the cell's imports shows up here first). The cell
defaults to the gallery notebooks' first cell (the imports of matplotlib and scikit-learn).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_first_cell.py [--reps 8] [--cell FILE]
        [--settle 1.5]   # seconds between %load_ext and the cell (0: Run All)
        [--untracked]    # load the extension, but run the cell without %%track
        [--beside thread|process]
        [--packages DIR [DIR ...]]  # compare versions of the package in the same window

`--packages`: folders holding a `jupyter_xtrack` package (`git archive <commit>
jupyter_xtrack | tar -x -C DIR`); each repetition runs the plain cell and then the tracked
one with each package, in turn (the kernel's PYTHONPATH), so that every version meets the
same load. Besides the difference of the medians, each tracked run is paired with the
plain run of its repetition, and the median of those differences printed: on a machine
whose speed drifts over minutes (this one: the same plain cell 2.2 s, then 2.7 s), the
pairs keep the drift out.

`--beside` measures what work beside a cell costs it, with no tracker: the plain cell alone
against the plain cell beside a busy Python loop, in a thread of the same kernel (what the
tracker's threads are) or in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, scratch, with_package  # noqa: E402

CELL = """import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC
"""
MARK = "lambda *a: _xt_marks.append(({!r}, _xt_t.thread_time(), _xt_t.perf_counter(), _xt_flt()))"
# The main thread's minor page faults (Linux; 0 elsewhere): unlike time, the same code gives
# the same count run after run, whatever the machine's load.
FAULTS = (
    "def _xt_flt():\n"
    "    try:\n"
    "        with open('/proc/thread-self/stat') as f:\n"
    "            return int(f.read().rsplit(')', 1)[1].split()[7])\n"
    "    except OSError:\n"
    "        return 0"
)


# A busy Python loop beside the cell: the code that starts it (in the setup cell) and the
# code that stops it (in the last cell).
BESIDE = {
    "thread": (
        "import threading as _xt_th\n_xt_stop = []\n"
        "def _xt_spin():\n    while not _xt_stop: sum(range(1000))\n"
        "_xt_th.Thread(target=_xt_spin, daemon=True).start()",
        "_xt_stop.append(1)",
    ),
    "process": (
        "import subprocess as _xt_sp, sys as _xt_sys\n"
        "_xt_busy = _xt_sp.Popen([_xt_sys.executable, '-c', 'while True: pass'])",
        "_xt_busy.kill()",
    ),
}


def run_once(
    source: str, tracked: bool, untracked_cell: bool, settle: float, beside: str | None = None
) -> tuple[float, float, int, float]:
    """(main thread CPU ms, wall ms, main thread minor page faults, wall ms of `%load_ext`
    or NaN) of the cell in a fresh kernel (beside a busy loop in a thread or a process of
    its own: `beside`)."""
    setup = [
        "import time as _xt_t",
        "_xt_marks = []",
        FAULTS,
        f"get_ipython().events.register('pre_run_cell', {MARK.format('start')})",
    ]
    if beside is not None:
        setup += [BESIDE[beside][0], "_xt_t.sleep(0.5)"]
    if tracked:
        setup += [
            f"({MARK.format('load')})()",
            "%load_ext jupyter_xtrack",
            f"({MARK.format('loaded')})()",
            f"_xt_t.sleep({settle})",
        ]
    setup.append(f"get_ipython().events.register('post_run_cell', {MARK.format('end')})")
    prefix = "%%track\n" if tracked and not untracked_cell else ""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("\n".join(setup)),
        nbformat.v4.new_code_cell(prefix + source),
        nbformat.v4.new_code_cell(
            (BESIDE[beside][1] + "\n" if beside else "")
            + "import json\nprint(json.dumps(_xt_marks))"
        ),
    ]
    work = scratch("first-cell")
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    marks: list[Any] = json.loads(nb.cells[-1].outputs[0]["text"])
    # the setup cell's end is marked too (its end probe is registered inside it): the cell
    # is the first start and the second end
    start = [m for m in marks if m[0] == "start"][0]
    end = [m for m in marks if m[0] == "end"][1]
    loads = {m[0]: m[2] for m in marks if m[0] in ("load", "loaded")}
    load_ms = (loads["loaded"] - loads["load"]) * 1000 if len(loads) == 2 else float("nan")
    return (end[1] - start[1]) * 1000, (end[2] - start[2]) * 1000, end[3] - start[3], load_ms


def compare_packages(source: str, packages: list[str], reps: int, settle: float) -> None:
    """Each repetition: the plain cell, then the tracked cell with each package in turn."""
    plain: list[tuple[float, float, int, float]] = []
    tracked: dict[str, list[tuple[float, float, int, float]]] = {p: [] for p in packages}
    for rep in range(reps):
        with_package(None)
        plain.append(run_once(source, False, False, settle))
        order = packages[rep % len(packages) :] + packages[: rep % len(packages)]
        for package in order:
            with_package(package)
            tracked[package].append(run_once(source, True, False, settle))
    with_package(None)
    print(f"first cell of a kernel, {reps} repetitions, settle {settle:g} s:")
    print(
        f"  plain: main thread CPU median {median([r[0] for r in plain]):.1f} ms, "
        f"wall median {median([r[1] for r in plain]):.1f} ms"
    )
    for package, runs in tracked.items():
        cells = []
        for i, what in ((0, "CPU"), (1, "wall")):
            over = median([r[i] for r in runs]) - median([r[i] for r in plain])
            paired = median([t[i] - p[i] for t, p in zip(runs, plain, strict=True)])
            cells.append(f"{what} {over:+.1f} ms (paired {paired:+.1f} ms)")
        faults = median([float(r[2]) for r in runs]) - median([float(r[2]) for r in plain])
        print(
            f"  {package}: tracked - plain: main thread {cells[0]}, {cells[1]}, "
            f"minor faults {faults:+.0f}; %load_ext wall median "
            f"{median([r[3] for r in runs]):.1f} ms"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--cell", help="a file with the cell's source (default: the imports)")
    ap.add_argument("--settle", type=float, default=1.5)
    ap.add_argument("--untracked", action="store_true")
    ap.add_argument("--beside", choices=sorted(BESIDE))
    ap.add_argument("--packages", nargs="+", help="folders each holding a jupyter_xtrack")
    args = ap.parse_args()
    source = Path(args.cell).read_text() if args.cell else CELL
    if args.packages:
        compare_packages(source, args.packages, args.reps, args.settle)
        return
    runs: dict[bool, list[tuple[float, float, int, float]]] = {False: [], True: []}
    for _ in range(args.reps):
        for second in (False, True):
            if args.beside:
                run = run_once(source, False, False, 0, args.beside if second else None)
            else:
                run = run_once(source, second, args.untracked, args.settle)
            runs[second].append(run)
    if args.beside:
        what, names = f"plain cell, alone and beside a busy {args.beside}", ("alone", "beside")
    else:
        what = "extension loaded, cell untracked" if args.untracked else "%%track"
        names = ("plain", "tracked")
    print(f"first cell of a kernel, {args.reps} alternating repetitions ({what}):")
    for second in (False, True):
        cpu = [r[0] for r in runs[second]]
        wall = [r[1] for r in runs[second]]
        faults = [float(r[2]) for r in runs[second]]
        print(
            f"  {names[second]:7s}: main thread CPU median {median(cpu):.1f} ms"
            f" (min {min(cpu):.1f}, max {max(cpu):.1f}), wall median {median(wall):.1f} ms,"
            f" minor faults median {median(faults):.0f}"
        )
    over_cpu = median([r[0] for r in runs[True]]) - median([r[0] for r in runs[False]])
    over_wall = median([r[1] for r in runs[True]]) - median([r[1] for r in runs[False]])
    over_faults = median([float(r[2]) for r in runs[True]]) - median(
        [float(r[2]) for r in runs[False]]
    )
    print(
        f"  {names[1]} - {names[0]}: main thread CPU {over_cpu:+.1f} ms, wall {over_wall:+.1f} ms,"
        f" minor faults {over_faults:+.0f}"
    )


if __name__ == "__main__":
    main()
