"""`%%track` overhead per cell, measured inside one kernel: plain and tracked passes of a
notebook alternate in the same kernel process.

Why: on a shared 2-core machine a kernel's speed differs by tens of percent from one
process to the next (where its BLAS threads land: a cell of Ridge fits took 52-108 ms in
fresh processes one after the other, 52-59 ms with the process pinned to one core), and
`bench_notebooks.py`, which compares a tracked kernel with a plain one, carries that spread
into every cell's overhead. Here a kernel loads the extension, runs the notebook once plain
to warm up (its imports and caches: not measured), then `--reps` times a plain pass and a
tracked pass (every code cell under `%%track`), which one comes first alternating. After
each pass a pause cell waits for the tracker (`xt.flush()`) and for a quiet kernel, so the
work the tracker leaves for a quiet moment is done there and not in the other pass; what
a tracked pass leaves beside its own next cells (as in a Run All) is counted. A cell's
overhead in a kernel is the median over the passes of tracked - plain; the figure is the
median of that over `--kernels` fresh kernels, started one after another. Beside it the
kernel process's CPU (all threads), tracked - plain, as `bench_notebooks.py` reads it.

Not measured here: the first tracked cell of a kernel and a cell's first run, whose imports
dominate (`bench_notebooks.py`, `bench_first_cell.py`). The plain passes run with the
extension loaded: its hooks look at every cell and leave untracked ones alone.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_notebooks_warm.py [NOTEBOOK_OR_DIR ...] [--reps 4] [--kernels 2]
        [--packages DIR [DIR ...]]   # versions of the package, each in its own kernels, alternating
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_notebooks import (  # noqa: E402
    CPU_PROBE,
    cell_seconds,
    code_cells,
    compile_package,
    cpu_seconds,
    execute,
    figure_cells,
    marks,
    notebooks,
    workdir,
)
from common import median, percentile, with_package  # noqa: E402

# A pause between passes: the tracker's pending work done, then longer than a card's wait
# for a cell that has run a while (views/card.py REFRESH_BESIDE_S), so it refreshes here.
PAUSE = "import time as _xt_t\nxt.flush()\n_xt_t.sleep(1.5)\nxt.flush()"
REPORT = "import json\nprint(json.dumps({'cpu': _xt_cpu}))"


def passes_notebook(nb: Any, reps: int) -> tuple[Any, list[tuple[str, int, int]]]:
    """One notebook of all the passes, and per timed cell (its index among the code cells
    after the probe) what it is: (kind, repetition, cell)."""
    sources = [c.source for c in code_cells(nb)]
    cells = [nbformat.v4.new_code_cell(CPU_PROBE + "\n%load_ext jupyter_xtrack")]
    cells += [nbformat.v4.new_code_cell(s) for s in sources]  # warm-up pass, not timed
    cells.append(nbformat.v4.new_code_cell(PAUSE))
    labels: list[tuple[str, int, int]] = []
    for rep in range(reps):
        order = ("plain", "tracked") if rep % 2 == 0 else ("tracked", "plain")
        for kind in order:
            for i, source in enumerate(sources):
                labels.append((kind, rep, i))
                prefix = "%%track\n" if kind == "tracked" else ""
                cells.append(nbformat.v4.new_code_cell(prefix + source))
            labels.append(("pause", rep, -1))
            cells.append(nbformat.v4.new_code_cell(PAUSE))
    cells.append(nbformat.v4.new_code_cell(REPORT))
    out = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    return out, labels


def one_kernel(path: Path, reps: int, tag: str) -> dict[int, dict[str, list[float]]]:
    """Per cell: the tracked - plain differences of wall time and process CPU, one per pass."""
    nb, labels = passes_notebook(nbformat.read(path, as_version=4), reps)
    work = workdir(f"notebooks/warm-{tag}-{path.stem}", path)
    os.environ["XTRACK_STORE"] = str(work / ".xtrack")
    done = execute(nb, work)
    n_warm = len(code_cells(nbformat.read(path, as_version=4))) + 1  # the warm-up and its pause
    timed = code_cells(done)[1 + n_warm : -1]
    cpu = cpu_seconds(marks(done))[n_warm:]  # marks start with the first cell after the probe
    seen: dict[tuple[str, int, int], tuple[float, float]] = {}
    for label, cell, cpu_s in zip(labels, timed, cpu, strict=False):
        seen[label] = (cell_seconds(cell), cpu_s)
    out: dict[int, dict[str, list[float]]] = {}
    for (kind, rep, i), (wall, cpu_s) in seen.items():
        if kind != "tracked":
            continue
        plain_wall, plain_cpu = seen[("plain", rep, i)]
        cell = out.setdefault(i, {"wall": [], "cpu": []})
        cell["wall"].append(wall - plain_wall)
        cell["cpu"].append(cpu_s - plain_cpu)
    return out


def summarise(kernels: list[dict[int, dict[str, list[float]]]]) -> dict[int, tuple[float, float]]:
    """Per cell: (wall, CPU) overhead, the median over kernels of each kernel's median."""
    return {
        i: (
            median([median(k[i]["wall"]) for k in kernels]),
            median([median(k[i]["cpu"]) for k in kernels]),
        )
        for i in kernels[0]
    }


def report(cells: list[tuple[str, bool, float, float]], title: str) -> None:
    def row(what: str, chosen: list[tuple[str, bool, float, float]], q: float, goal: str) -> str:
        if not chosen:
            return f"| {what} | - | - | {goal} |"
        wall = percentile([c[2] for c in chosen], q) * 1000
        cpu = percentile([c[3] for c in chosen], q) * 1000
        return f"| {what} | {wall:.1f} ms | {cpu:.1f} ms | {goal} |"

    figs = [c for c in cells if c[1]]
    print(title)
    print("| per-cell `%%track` overhead, warm kernel | tracked - plain | kernel CPU | goal |")
    print("|---|---|---|---|")
    print(row("all cells, median", cells, 50, "<= 10 ms"))
    print(row("all cells, p95", cells, 95, "<= 50 ms"))
    print(row("all cells, max", cells, 100, ""))
    print(row("figure cells, median", figs, 50, ""))
    print(row("figure cells, p95", figs, 95, "<= 60 ms"))
    if os.environ.get("BENCH_VERBOSE"):
        for name, figure, wall, cpu in cells:
            fig = " figure" if figure else ""
            print(f"{name}: over {wall * 1000:.1f} ms cpu {cpu * 1000:.1f} ms{fig}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--kernels", type=int, default=2)
    ap.add_argument("--packages", nargs="+", help="folders each holding a jupyter_xtrack")
    args = ap.parse_args()
    packages: list[str | None] = list(args.packages) if args.packages else [None]
    for package in packages:
        compile_package(package)
    paths = notebooks(args.paths)
    figures = {path: figure_cells(path) for path in paths}
    runs: dict[str | None, dict[Path, list[dict[int, dict[str, list[float]]]]]] = {
        p: {path: [] for path in paths} for p in packages
    }
    for k in range(args.kernels):
        for path in paths:
            order = packages[k % len(packages) :] + packages[: k % len(packages)]
            for j, package in enumerate(order):
                with_package(package)
                runs[package][path].append(one_kernel(path, args.reps, f"{k}-{j}"))
    with_package(None)
    print(
        f"notebooks: {len(paths)} ({', '.join(p.name for p in paths)}); passes per kernel: "
        f"{args.reps} plain + {args.reps} tracked; kernels per notebook and package: "
        f"{args.kernels}"
    )
    for package in packages:
        cells = []
        for path in paths:
            for i, (wall, cpu) in sorted(summarise(runs[package][path]).items()):
                cells.append((f"{path.stem}[{i}]", figures[path][i], wall, cpu))
        report(cells, f"package: {package or 'as installed'}")


if __name__ == "__main__":
    main()
