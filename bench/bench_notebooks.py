"""`%%track` overhead on real notebooks, cell by cell.

Each notebook runs in a fresh kernel through nbclient twice per repetition: as written
(plain), and with `%load_ext jupyter_xtrack` first and every code cell prefixed by `%%track`
(tracked), back to back as Run All sends them. A cell's time is measured in the kernel: from
the kernel's busy status for the request to its reply (`iopub.status.busy` to
`shell.execute_reply`, both stamped by the kernel), so it holds the tracker's hooks, the run
card and any background work that competes with the cell, and no messaging latency. A
cell's overhead is the median over repetitions of its tracked time minus the median of its
plain time; the table gives the median, p95 and max of that over cells. Beside it, the
kernel process's CPU time (all threads) per cell, tracked minus plain: the work the tracker
adds on the cell's path and in the background while the cell runs, which, unlike wall
time, the load of a shared machine hardly moves; and the time spent inside the tracker's
own run-cell hooks, timed in the kernel by probe callbacks registered around them.

    .venv/bin/python bench/bench_notebooks.py [NOTEBOOK_OR_DIR ...] [--reps 5]
        [--mpl-backend agg]   # e.g. figures that stay open (no inline display)

Without paths: bench/gallery/ when it exists, else bench/gallery_overhead/.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median, percentile, scratch  # noqa: E402

HERE = Path(__file__).resolve().parent


def notebooks(paths: list[str]) -> list[Path]:
    """The notebooks named, folders expanded to their `*.ipynb`, sorted."""
    if not paths:
        default = HERE / "gallery"
        paths = [str(default if default.is_dir() else HERE / "gallery_overhead")]
    found: list[Path] = []
    for p in map(Path, paths):
        found += sorted(p.glob("*.ipynb")) if p.is_dir() else [p]
    return found


def code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


# Every timed copy's first cell marks the kernel process's CPU time (all its threads) as each
# cell starts, before any other hook; the last cell prints the marks. A cell's CPU is the
# difference to the next mark: its own work and whatever ran on other threads meanwhile
# (finalising the last run, the card), which the machine's load barely changes.
CPU_PROBE = "\n".join(
    [
        "import time as _xt_time",
        "_xt_cpu = []",
        'get_ipython().events.register("pre_run_cell", lambda *a: _xt_cpu.append(_xt_time.process_time()))',
    ]
)
# The tracked copy's first cell also stamps around the tracker's own hooks (IPython calls
# the callbacks of an event in the order they were registered; one function is registered
# once per event, hence a new lambda each), then loads the extension. `pre_execute` (where
# the last cell's large data fingerprints are waited for) counts as the next cell's.
EVENTS = ("pre_execute", "pre_run_cell", "post_run_cell")
PROBE = "\n".join(
    [
        CPU_PROBE,
        "_xt_hooks = []",
        "_xt_mark = lambda: lambda *a: _xt_hooks.append(_xt_time.perf_counter())",
        *(f'get_ipython().events.register("{e}", _xt_mark())' for e in EVENTS),
        "%load_ext jupyter_xtrack",
        *(f'get_ipython().events.register("{e}", _xt_mark())' for e in EVENTS),
    ]
)
REPORT = "import json\nprint(json.dumps({'cpu': _xt_cpu, 'hooks': globals().get('_xt_hooks')}))"


def probed_copy(nb: Any, tracked: bool) -> Any:
    """The notebook with the probe cell first (and, tracked, the extension loaded and every
    code cell tracked), and a last cell that prints the marks."""
    out = nbformat.from_dict(nb)
    if tracked:
        for cell in code_cells(out):
            cell.source = "%%track\n" + cell.source
    out.cells.insert(0, nbformat.v4.new_code_cell(PROBE if tracked else CPU_PROBE))
    out.cells.append(nbformat.v4.new_code_cell(REPORT))
    return out


def cell_seconds(cell: Any) -> float:
    """The kernel's own time for one cell: busy status to reply."""
    timing = cell.metadata["execution"]
    start = datetime.fromisoformat(timing["iopub.status.busy"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    return (end - start).total_seconds()


def execute(nb: Any, workdir: Path, tries: int = 3) -> Any:
    """Run `nb` in a fresh kernel in `workdir` (again if the kernel dies starting: on a
    shared machine another process can take its port first)."""
    for attempt in range(tries):
        try:
            NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                resources={"metadata": {"path": str(workdir)}},
            ).execute()
            return nb
        except RuntimeError as exc:
            if "died before replying" not in str(exc) or attempt == tries - 1:
                raise
    return nb


def figure_cells(path: Path) -> list[bool]:
    """Per code cell, whether it shows a figure with the inline backend (what a reader
    sees), whatever backend the timed runs use. Also warms the disk cache."""
    backend = os.environ.pop("MPLBACKEND", None)
    try:
        nb = execute(nbformat.read(path, as_version=4), scratch("notebooks/warm"))
    finally:
        if backend is not None:
            os.environ["MPLBACKEND"] = backend
    return [any("image/png" in o.get("data", {}) for o in c.outputs) for c in code_cells(nb)]


def marks(nb: Any) -> dict[str, Any]:
    """What the probed copy's last cell printed."""
    parsed: dict[str, Any] = json.loads(nb.cells[-1].outputs[0]["text"])
    return parsed


def cpu_seconds(printed: dict[str, Any]) -> list[float]:
    """Per code cell: the kernel's CPU seconds from its start to the next cell's start."""
    cpu = [float(x) for x in printed["cpu"]]
    return [b - a for a, b in zip(cpu, cpu[1:], strict=False)]


def hook_seconds(printed: dict[str, Any]) -> list[float]:
    """Per tracked cell: seconds spent in the tracker's pre_execute, pre_run_cell and
    post_run_cell hooks, from the timestamps the probe took (6 a cell; the probe's own
    cell has 2: its post_run_cell)."""
    stamps = [float(x) for x in printed["hooks"]][2:]
    return [
        (b - a) + (d - c) + (f - e) for a, b, c, d, e, f in zip(*[iter(stamps)] * 6, strict=False)
    ]


def compile_package() -> None:
    """Write the bytecode of the jupyter_xtrack the kernels import (an installed wheel has
    it; a source checkout run with PYTHONDONTWRITEBYTECODE would compile it in every kernel,
    which is no part of the tracker's cost)."""
    import jupyter_xtrack

    compileall.compile_dir(str(Path(jupyter_xtrack.__file__).parent), quiet=1)


def one_rep(paths: list[Path], figures: dict[Path, list[bool]], rep: int) -> list[dict[str, Any]]:
    """One run of each notebook plain and tracked: per code cell, both times, the time in
    the tracker's hooks, and whether it made a figure."""
    cells: list[dict[str, Any]] = []
    for path in paths:
        work = scratch(f"notebooks/{rep}-{path.stem}")
        for extra in path.parent.glob("*"):  # data files next to the notebook
            if extra.is_file() and extra.suffix != ".ipynb":
                shutil.copy(extra, work)
        os.environ["XTRACK_STORE"] = str(work / ".xtrack")
        original = nbformat.read(path, as_version=4)
        plain_nb = execute(probed_copy(original, tracked=False), work)
        plain = code_cells(plain_nb)[1:-1]
        plain_cpu = cpu_seconds(marks(plain_nb))
        tracked_nb = execute(probed_copy(original, tracked=True), work)
        tracked = code_cells(tracked_nb)[1:-1]
        tracked_cpu = cpu_seconds(marks(tracked_nb))
        hooks = hook_seconds(marks(tracked_nb))
        for i, (p, t, h) in enumerate(zip(plain, tracked, hooks, strict=True)):
            cells.append(
                {
                    "cell": f"{path.stem}[{i}]",
                    "plain": cell_seconds(p),
                    "tracked": cell_seconds(t),
                    "cpu": tracked_cpu[i] - plain_cpu[i],
                    "hooks": h,
                    "first": i == 0,
                    "figure": figures[path][i],
                }
            )
    return cells


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mpl-backend", help="MPLBACKEND for the kernels (default: inline)")
    args = ap.parse_args()
    if args.mpl_backend:
        os.environ["MPLBACKEND"] = args.mpl_backend
    compile_package()
    paths = notebooks(args.paths)
    figures = {path: figure_cells(path) for path in paths}
    reps = [one_rep(paths, figures, r) for r in range(args.reps)]
    # per cell, the median over repetitions of each time; the overhead is their difference
    cells = []
    for i, first in enumerate(reps[0]):
        runs = [r[i] for r in reps]
        plain = median([r["plain"] for r in runs])
        cells.append(
            {
                **first,
                "plain": plain,
                "over": median([r["tracked"] for r in runs]) - plain,
                "cpu": median([r["cpu"] for r in runs]),
                "hooks": median([r["hooks"] for r in runs]),
            }
        )
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731

    def row(what: str, chosen: list[dict[str, Any]], q: float, goal: str = "") -> str:
        if not chosen:  # e.g. notebooks without figures
            return f"| {what} | - | - | - | {goal} |"
        over = percentile([c["over"] for c in chosen], q)
        cpu = percentile([c["cpu"] for c in chosen], q)
        hooks = percentile([c["hooks"] for c in chosen], q)
        return f"| {what} | {ms(over)} | {ms(cpu)} | {ms(hooks)} | {goal} |"

    figs = [c for c in cells if c["figure"]]
    firsts = [c for c in cells if c["first"]]
    print(
        f"notebooks: {len(paths)} ({', '.join(p.name for p in paths)}); code cells: {len(cells)}, "
        f"{len(figs)} with figures; repetitions: {args.reps}; backend: "
        f"{args.mpl_backend or 'inline'}; plain cell median {ms(median([c['plain'] for c in cells]))}"
    )
    print(
        "| per-cell `%%track` overhead | tracked - plain | kernel CPU, tracked - plain "
        "| in the tracker's hooks | goal |"
    )
    print("|---|---|---|---|---|")
    print(row("all cells, median", cells, 50, "<= 10 ms"))
    print(row("all cells, p95", cells, 95, "<= 50 ms"))
    print(row("all cells, max", cells, 100))
    print(row("figure cells, median", figs, 50))
    print(row("figure cells, p95", figs, 95, "<= 60 ms"))
    print(row("first tracked cell of a kernel, median over notebooks", firsts, 50, "<= 60 ms"))
    print(row("first tracked cell of a kernel, max over notebooks", firsts, 100))
    if os.environ.get("BENCH_VERBOSE"):
        for c in cells:
            print(
                f"{c['cell']}: plain {ms(c['plain'])} over {ms(c['over'])} cpu {ms(c['cpu'])} "
                f"hooks {ms(c['hooks'])}"
                f"{' figure' if c['figure'] else ''}"
            )


if __name__ == "__main__":
    main()
