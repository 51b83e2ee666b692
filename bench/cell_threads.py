"""Which of the kernel's threads spent CPU during which cell of a tracked notebook.

Runs one notebook through nbclient (every code cell under `%%track`, or plain with
`--plain`), after a first cell that, as each cell starts, reads every thread's own CPU
clock (threads grouped by name, numbers stripped), the process's CPU and the wall clock.
Printed per cell: wall and process CPU from its start to the next cell's, the main
thread's CPU, and every other thread that spent 0.5 ms or more meanwhile. It tells what
runs beside which cell: a run's finalisation, the git watch's build, a card's refresh.
A single run is noisy (a kernel's speed varies by tens of percent from one process to
the next on a shared machine): run it a few times.

    PYTHONPATH=$PWD .venv/bin/python bench/cell_threads.py bench/gallery_overhead/clustering_silhouette.ipynb [--plain]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cell_cpu import CLOCKS  # noqa: E402
from bench_notebooks import code_cells, compile_package, execute, workdir  # noqa: E402

# As each cell starts: every thread's CPU clock (bench_cell_cpu's `_xt_clocks`) and the wall.
PROBE = CLOCKS + """
_xt_marks = []
get_ipython().events.register(
    "pre_run_cell", lambda *a: _xt_marks.append({**_xt_clocks(), "(wall)": _tm.perf_counter()})
)
"""
REPORT = "import json\nprint(json.dumps(_xt_marks))"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--plain", action="store_true", help="no tracker: the baseline")
    args = ap.parse_args()
    compile_package()
    path = Path(args.notebook)
    work = workdir(f"notebooks/threads-{path.stem}", path)
    os.environ["XTRACK_STORE"] = str(work / ".xtrack")
    nb = nbformat.read(path, as_version=4)
    probe = PROBE
    if not args.plain:
        probe += "%load_ext jupyter_xtrack\n"
        for cell in code_cells(nb):
            cell.source = "%%track\n" + cell.source
    nb.cells.insert(0, nbformat.v4.new_code_cell(probe))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    done = execute(nb, work)
    printed = [o for o in done.cells[-1].outputs if o.get("name") == "stdout"]
    marks = json.loads(printed[0]["text"])
    ms = lambda a, b, k: (b.get(k, 0.0) - a.get(k, 0.0)) * 1000  # noqa: E731
    for i, (a, b) in enumerate(zip(marks, marks[1:], strict=False)):
        others = sorted(
            ((k, ms(a, b, k)) for k in b if not k.startswith("(") and k != "MainThread"),
            key=lambda kv: -kv[1],
        )
        beside = " ".join(f"{k}={v:.1f}" for k, v in others if v >= 0.5)
        print(
            f"cell {i}: wall {ms(a, b, '(wall)'):.0f} process {ms(a, b, '(process)'):.1f} "
            f"main {ms(a, b, 'MainThread'):.1f} | {beside}"
        )


if __name__ == "__main__":
    main()
