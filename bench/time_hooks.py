"""Where a tracked cell's hooks spend their wall time, function by function.

Runs notebooks through nbclient with `%load_ext jupyter_xtrack` and every code cell under
`%%track` (as `bench_notebooks.py` does), after a cell that wraps the tracker's functions
named in TIMED (and the store's `get_run`) with a timer that counts calls made on the
kernel's main thread only: the time the cell's thread spends in each, inclusive of what it
calls and of its waits for the GIL. No profiler runs, so the figures are the hooks' own
(the in-hooks column of `bench_notebooks.py`, split up). The table gives, per function, the
median and mean per tracked cell over notebooks and repetitions, the first tracked cell of
each kernel apart.

    PYTHONPATH=$PWD .venv/bin/python bench/time_hooks.py [NOTEBOOK_OR_DIR ...] [--reps 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_notebooks import code_cells, compile_package, execute, notebooks  # noqa: E402
from common import scratch  # noqa: E402

# (module, attribute path, label): what is timed.
TIMED = [
    ("jupyter_xtrack.kernel.hooks", "TrackHooks.begin", "hooks: begin"),
    ("jupyter_xtrack.kernel.hooks", "TrackHooks.end", "hooks: end"),
    ("jupyter_xtrack.kernel.hooks", "call_views", "views (all)"),
    ("jupyter_xtrack.kernel.hooks", "cell_info", "cell info"),
    ("jupyter_xtrack.kernel.hooks", "auto_evaluate", "automatic evaluation (start)"),
    ("jupyter_xtrack.tracking.recorder", "Recording.begin", "recording: begin"),
    ("jupyter_xtrack.tracking.recorder", "Recording._start_captures", "recording: start captures"),
    ("jupyter_xtrack.tracking.recorder", "Recording.end", "recording: end"),
    ("jupyter_xtrack.tracking.recorder", "Recording._stop_captures", "recording: stop captures"),
    ("jupyter_xtrack.tracking.recorder", "Recording._read_namespace", "recording: read namespace"),
    ("jupyter_xtrack.tracking.recorder", "Recording._take_fingerprints", "recording: fingerprints"),
    ("jupyter_xtrack.tracking.recorder", "_quick_git", "recording: git HEAD"),
    ("jupyter_xtrack.tracking.lifecycle", "open_run", "open run"),
    ("jupyter_xtrack.tracking.lifecycle", "close_run", "close run"),
    ("jupyter_xtrack.capture.resources", "ResourceMeter.start", "resource meter: start"),
    ("jupyter_xtrack.capture.metric_calls", "MetricCalls.start", "metric calls: start"),
    ("jupyter_xtrack.capture.params", "analyze_cell", "parse the cell"),
    ("jupyter_xtrack.views.card", "refresh_stored_cards", "card: earlier cards refreshed"),
    ("jupyter_xtrack.views.card", "RunCard.__init__", "card: built"),
    ("jupyter_xtrack.views.card", "RunCard.display", "card: shown"),
    ("jupyter_xtrack.store.store", "Store.get_run", "store: get_run"),
]

PROBE = """
import json as _xt_json, threading as _xt_threading, time as _xt_time, importlib as _xt_importlib
_xt_timed = []
def _xt_wrap(module, path, label):
    owner = _xt_importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    fn = getattr(owner, name)
    main = _xt_threading.main_thread()
    def timed(*args, **kwargs):
        if _xt_threading.current_thread() is not main:
            return fn(*args, **kwargs)
        start = _xt_time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _xt_timed.append((get_ipython().execution_count, label, _xt_time.perf_counter() - start))
    setattr(owner, name, timed)
for _xt_item in %s:
    _xt_wrap(*_xt_item)
"""


def timed_copy(original: Any) -> Any:
    nb = nbformat.from_dict(json.loads(json.dumps(original)))
    cells = code_cells(nb)
    for cell in cells:
        cell.source = "%%track\n" + cell.source
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_xtrack"),
        nbformat.v4.new_code_cell(PROBE % repr(TIMED)),
        *cells,
        nbformat.v4.new_code_cell("print(_xt_json.dumps(_xt_timed))"),
    ]
    return nb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--reps", type=int, default=2)
    args = ap.parse_args()
    compile_package()
    per_cell: dict[tuple[str, bool], list[float]] = {}
    for rep in range(args.reps):
        for path in notebooks(args.paths):
            work = scratch(f"hooks/{rep}-{path.stem}")
            os.environ["XTRACK_STORE"] = str(work / ".xtrack")
            nb = execute(timed_copy(nbformat.read(path, as_version=4)), work)
            stamps = json.loads(nb.cells[-1].outputs[0]["text"])
            # the first tracked cell (the probe's own cell passes an untracked end)
            begun = [count for count, label, _ in stamps if label == "recording: begin"]
            first = min(begun) if begun else None
            totals: dict[tuple[str, bool], dict[int, float]] = {}
            for count, label, seconds in stamps:
                cells = totals.setdefault((label, count == first), {})
                cells[count] = cells.get(count, 0.0) + seconds
            for key, cells in totals.items():
                per_cell.setdefault(key, []).extend(cells.values())
    print("| function (main thread, per tracked cell) | median | mean | cells | first cell, median |")
    print("|---|---|---|---|---|")
    for _module, path, label in TIMED:
        rest = per_cell.get((label, False), [])
        firsts = per_cell.get((label, True), [])
        if not rest and not firsts:
            continue
        median = f"{statistics.median(rest) * 1000:.2f} ms" if rest else "-"
        mean = f"{statistics.mean(rest) * 1000:.2f} ms" if rest else "-"
        first = f"{statistics.median(firsts) * 1000:.2f} ms" if firsts else "-"
        print(f"| {label} (`{path}`) | {median} | {mean} | {len(rest)} | {first} |")


if __name__ == "__main__":
    main()
