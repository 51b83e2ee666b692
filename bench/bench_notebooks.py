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
        [--packages DIR [DIR ...]]  # compare versions of the package in the same window

The `paired` column takes, per cell, the median over repetitions of the tracked run minus
the plain run of the same repetition (which ran just before it), instead of the difference
of the two medians: this machine's speed drifts by 20% over minutes, and the pairs keep
that drift out. `--packages`: folders holding a `jupyter_xtrack` (`git archive <commit>
jupyter_xtrack | tar -x -C DIR`); each repetition runs each notebook plain once, then
tracked with each package in turn (the kernel's PYTHONPATH), so versions meet the same load.

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
from common import median, percentile, scratch, with_package  # noqa: E402

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


def compile_package(package: str | None = None) -> None:
    """Write the bytecode of the jupyter_xtrack the kernels import (an installed wheel has
    it; a source checkout run with PYTHONDONTWRITEBYTECODE would compile it in every kernel,
    which is no part of the tracker's cost): the one in `package`, else this process's."""
    if package is not None:
        compileall.compile_dir(str(Path(package) / "jupyter_xtrack"), quiet=1)
        return
    import jupyter_xtrack

    compileall.compile_dir(str(Path(jupyter_xtrack.__file__).parent), quiet=1)


def workdir(name: str, notebook: Path) -> Path:
    """An empty work folder with the data files that sit next to the notebook."""
    work = scratch(name)
    for extra in notebook.parent.glob("*"):
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy(extra, work)
    return work


def one_rep(
    paths: list[Path], figures: dict[Path, list[bool]], rep: int, packages: list[str | None]
) -> list[dict[str, Any]]:
    """One run of each notebook plain, then tracked with each package in turn (each in a
    fresh work folder and store): per code cell, the times, the time in the tracker's
    hooks, and whether it made a figure."""
    cells: list[dict[str, Any]] = []
    order = packages[rep % len(packages) :] + packages[: rep % len(packages)]
    for path in paths:
        original = nbformat.read(path, as_version=4)
        with_package(None)
        work = workdir(f"notebooks/{rep}-{path.stem}", path)
        plain_nb = execute(probed_copy(original, tracked=False), work)
        plain = code_cells(plain_nb)[1:-1]
        plain_cpu = cpu_seconds(marks(plain_nb))
        runs: dict[str | None, tuple[list[Any], list[float], list[float]]] = {}
        for k, package in enumerate(order):
            with_package(package)
            work = workdir(f"notebooks/{rep}-{path.stem}-{k}", path)
            os.environ["XTRACK_STORE"] = str(work / ".xtrack")
            tracked_nb = execute(probed_copy(original, tracked=True), work)
            runs[package] = (
                code_cells(tracked_nb)[1:-1],
                cpu_seconds(marks(tracked_nb)),
                hook_seconds(marks(tracked_nb)),
            )
        for i, p in enumerate(plain):
            cells.append(
                {
                    "cell": f"{path.stem}[{i}]",
                    "plain": cell_seconds(p),
                    "tracked": {k: cell_seconds(t[0][i]) for k, t in runs.items()},
                    "cpu": {k: t[1][i] - plain_cpu[i] for k, t in runs.items()},
                    "hooks": {k: t[2][i] for k, t in runs.items()},
                    "first": i == 0,
                    "figure": figures[path][i],
                }
            )
    with_package(None)
    return cells


def summarise(reps: list[list[dict[str, Any]]], package: str | None) -> list[dict[str, Any]]:
    """Per cell over the repetitions, for one package: the overhead as the difference of
    the medians (`over`) and as the median of each repetition's tracked - plain (`paired`),
    the kernel CPU and the hooks' time."""
    cells = []
    for i, first in enumerate(reps[0]):
        runs = [r[i] for r in reps]
        plain = median([r["plain"] for r in runs])
        cells.append(
            {
                **first,
                "plain": plain,
                "over": median([r["tracked"][package] for r in runs]) - plain,
                "paired": median([r["tracked"][package] - r["plain"] for r in runs]),
                "cpu": median([r["cpu"][package] for r in runs]),
                "hooks": median([r["hooks"][package] for r in runs]),
            }
        )
    return cells


def report(cells: list[dict[str, Any]], title: str) -> None:
    ms = lambda v: f"{v * 1000:.1f} ms"  # noqa: E731

    def row(what: str, chosen: list[dict[str, Any]], q: float, goal: str = "") -> str:
        if not chosen:  # e.g. notebooks without figures
            return f"| {what} | - | - | - | - | {goal} |"
        figures = [
            ms(percentile([c[key] for c in chosen], q))
            for key in ("over", "paired", "cpu", "hooks")
        ]
        return f"| {what} | {' | '.join(figures)} | {goal} |"

    figs = [c for c in cells if c["figure"]]
    firsts = [c for c in cells if c["first"]]
    print(title)
    print(
        "| per-cell `%%track` overhead | tracked - plain | paired | kernel CPU, tracked - plain "
        "| in the tracker's hooks | goal |"
    )
    print("|---|---|---|---|---|---|")
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
                f"{c['cell']}: plain {ms(c['plain'])} over {ms(c['over'])} paired "
                f"{ms(c['paired'])} cpu {ms(c['cpu'])} hooks {ms(c['hooks'])}"
                f"{' figure' if c['figure'] else ''}"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mpl-backend", help="MPLBACKEND for the kernels (default: inline)")
    ap.add_argument("--packages", nargs="+", help="folders each holding a jupyter_xtrack")
    args = ap.parse_args()
    if args.mpl_backend:
        os.environ["MPLBACKEND"] = args.mpl_backend
    packages: list[str | None] = list(args.packages) if args.packages else [None]
    for package in packages:
        compile_package(package)
    paths = notebooks(args.paths)
    figures = {path: figure_cells(path) for path in paths}
    reps = [one_rep(paths, figures, r, packages) for r in range(args.reps)]
    cells = summarise(reps, packages[0])
    print(
        f"notebooks: {len(paths)} ({', '.join(p.name for p in paths)}); code cells: "
        f"{len(cells)}, {sum(c['figure'] for c in cells)} with figures; repetitions: "
        f"{args.reps}; backend: {args.mpl_backend or 'inline'}; plain cell median "
        f"{median([c['plain'] for c in cells]) * 1000:.1f} ms"
    )
    for package in packages:
        report(summarise(reps, package), f"package: {package or 'as installed'}")


if __name__ == "__main__":
    main()
