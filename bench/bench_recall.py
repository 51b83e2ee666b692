"""Metric recall and precision of `%%track` on notebooks in the style of the scikit-learn
gallery (bench/gallery/*.ipynb).

Every code cell of each notebook is wrapped in `%%track` and the notebook is executed in a
real kernel (nbclient). The scores each notebook shows its reader are listed by hand in
bench/gallery/shown.json: printed scores (found by a regex on the cell's printed text and
displayed result) and plotted lists of scores. A shown score is *found* when the run of its
cell holds a metric point with that value (at the printed precision; a plotted list: a
metric history with exactly those values). A recorded metric is *false* when its values
match nothing shown and its name is not listed as right to record (`extra_ok`).

    .venv/bin/python bench/bench_recall.py [--only 03_grid] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import scratch  # noqa: E402

GALLERY = Path(__file__).resolve().parent / "gallery"
DUMP = "__xtrack_bench_plotted__"


def tracked_copy(nb: Any, plotted: list[str]) -> Any:
    """The notebook with the extension loaded first, every code cell under `%%track`, and a
    last untracked cell that prints the plotted lists as JSON."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_xtrack")]
    for cell in nb.cells:
        if cell.cell_type == "code":
            out.cells.append(nbformat.v4.new_code_cell("%%track\n" + cell.source))
    names = json.dumps(plotted)
    out.cells.append(
        nbformat.v4.new_code_cell(
            f"import json as _j\nprint({DUMP!r}, _j.dumps({{n: [float(v) for v in globals()[n]] "
            f"for n in {names}}}))"
        )
    )
    return out


def cell_text(cell: Any) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            parts.append(o.get("text", ""))
        elif o.get("output_type") == "execute_result":
            parts.append(str(o.get("data", {}).get("text/plain", "")))
    return "".join(parts)


def printed_values(text: str, regex: str) -> list[tuple[float, float]]:
    """(value, tolerance) for each number the regex captures: half a unit of the last
    printed digit."""
    found = []
    for m in re.finditer(regex, text):
        for g in m.groups():
            if g is None:
                continue
            decimals = len(g.partition(".")[2])
            found.append((float(g), 0.5 * 10**-decimals + 1e-12))
    return found


def run_metrics(store: Any, run_id: str) -> dict[str, list[float]]:
    return {k: store.metric_history(run_id, k)["value"] for k in store.metric_keys(run_id)}


def measure(name: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    from jupyter_xtrack.store import open_store

    nb = nbformat.read(GALLERY / f"{name}.ipynb", as_version=4)
    plotted_spec = spec.get("plotted", [])
    tracked = tracked_copy(nb, [p["name"] for p in plotted_spec])
    store_dir = work / name / "store"
    (work / name).mkdir(parents=True)
    os.environ["XTRACK_STORE"] = str(store_dir)
    NotebookClient(
        tracked,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(work / name)}},
    ).execute()
    code_cells = tracked.cells[1:-1]
    dump = cell_text(tracked.cells[-1]).partition(DUMP)[2]
    plotted_values = json.loads(dump) if dump.strip() else {}
    store = open_store(store_dir)
    runs = store.query_runs(order_by="number").to_frame()
    runs = runs[runs["parent_id"].isna()] if "parent_id" in runs else runs
    run_ids = list(runs["id"])
    assert len(run_ids) == len(code_cells), f"{name}: {len(run_ids)} runs, {len(code_cells)} cells"
    metrics = [run_metrics(store, rid) for rid in run_ids]

    shown = found = 0
    missed: list[str] = []
    matched: set[tuple[int, str]] = set()
    for item in spec.get("printed", []):
        i = item["cell"]
        for value, tol in printed_values(cell_text(code_cells[i]), item["regex"]):
            shown += 1
            hits = [
                k
                for k, vs in metrics[i].items()
                if any(math.isclose(v, value, abs_tol=tol) for v in vs)
            ]
            matched.update((i, k) for k in hits)
            if hits:
                found += 1
            else:
                missed.append(f"cell {i}: {value}")
    for item in plotted_spec:
        i, values = item["cell"], plotted_values.get(item["name"], [])
        shown += 1
        hits = [
            k
            for k, vs in metrics[i].items()
            if len(vs) == len(values)
            and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(vs, values, strict=True))
        ]
        matched.update((i, k) for k in hits)
        if hits:
            found += 1
        else:
            missed.append(f"cell {i}: {item['name']} (plotted)")
    ok = [re.compile(r) for r in spec.get("extra_ok", [])]
    false = [
        f"cell {i}: {k}"
        for i, ms in enumerate(metrics)
        for k in ms
        if (i, k) not in matched and not any(r.search(k) for r in ok)
    ]
    children = int(store.query_runs().to_frame()["parent_id"].notna().sum())
    store.close()
    return {
        "notebook": name,
        "shown": shown,
        "found": found,
        "false": false,
        "missed": missed,
        "recorded": {i: sorted(ms) for i, ms in enumerate(metrics) if ms},
        "child_runs": children,
    }


COST = """
import sys, time, statistics
if sys.argv[1] == "sklearn":
    import sklearn.metrics, sklearn.model_selection, sklearn.pipeline
from jupyter_xtrack.capture.metric_calls import MetricCalls
ns = {f"v{i}": i for i in range(200)}
times = []
for _ in range(500):
    t = time.perf_counter()
    calls = MetricCalls(ns, ["x = 1"])
    calls.start()
    calls.stop()
    times.append(time.perf_counter() - t)
print(statistics.median(times) * 1e6)
"""


def wrap_cost() -> None:
    """Median cost of wrapping and unwrapping around one cell (200 names in the namespace),
    without scikit-learn imported and with it."""
    import subprocess

    for case, arg in (("no sklearn", "none"), ("sklearn", "sklearn")):
        out = subprocess.run(
            [sys.executable, "-c", COST, arg],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        print(f"start+stop per cell, {case} imported: {float(out):.1f} us (median of 500)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the notebooks whose name contains this")
    parser.add_argument("--json", help="write the full results here")
    parser.add_argument("--cost", action="store_true", help="only time start/stop per cell")
    args = parser.parse_args()
    if args.cost:
        wrap_cost()
        return
    table = json.loads((GALLERY / "shown.json").read_text())
    work = scratch("recall")
    results = []
    for name, spec in table.items():
        if name.startswith("_") or (args.only and args.only not in name):
            continue
        r = measure(name, spec, work)
        results.append(r)
        print(
            f"{name}: found {r['found']}/{r['shown']}, false {len(r['false'])}"
            f"{' ' + str(r['false']) if r['false'] else ''}"
            f"{', missed ' + str(r['missed']) if r['missed'] else ''}",
            flush=True,
        )
    shown = sum(r["shown"] for r in results)
    found = sum(r["found"] for r in results)
    false = sum(len(r["false"]) for r in results)
    print(
        f"\n| notebooks | scores shown | found | recall | false metrics |\n|---|---|---|---|---|\n"
        f"| {len(results)} | {shown} | {found} | {found / max(shown, 1):.0%} | {false} |"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
