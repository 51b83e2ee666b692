"""Metric recall and precision of `%%track` on notebooks in the style of the scikit-learn
gallery (bench/gallery/*.ipynb), and of MLflow's `mlflow.sklearn.autolog()` side by side.

Every code cell of each notebook is wrapped in `%%track` and the notebook is executed in a
real kernel (nbclient); then the notebook as written runs again after a hidden first cell
that turns on MLflow's autolog (`measure_mlflow`). The scores each notebook shows its reader
are listed by hand in bench/gallery/shown.json: printed scores (found by a regex on the
cell's printed text and displayed result) and plotted lists of scores. A shown score is
*found* when the run of its cell (MLflow: any run of the notebook) holds a metric point with
that value (at the printed precision; a plotted list: a metric history with exactly those
values, see `tally`). A recorded metric is *false* when its values match nothing shown and
its name is not listed as right to record (`extra_ok`).

    .venv/bin/python bench/bench_recall.py [--only 03_grid] [--tools xtrack,mlflow]
                                           [--json out.json] [--cost]
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


def execute(nb: Any, where: Path) -> None:
    where.mkdir(parents=True)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(where)}}
    ).execute()


def plotted_dump(nb: Any) -> dict[str, list[float]]:
    dump = cell_text(nb.cells[-1]).partition(DUMP)[2]
    return json.loads(dump) if dump.strip() else {}


# A recorded metric: (owner, name) -> values. The owner is the cell for `%%track` (one run a
# cell), the MLflow run for MLflow (its runs follow fits, not cells).
Recorded = dict[tuple[str, str], list[float]]


def tally(
    spec: dict[str, Any],
    texts: list[str],
    plotted_values: dict[str, list[float]],
    seen_from: Any,
    recorded: Recorded,
    one_key_per_call: bool,
) -> dict[str, Any]:
    """Shown scores found and false metrics. `seen_from(cell)` gives the recorded metrics a
    score shown by that cell may be found in. A plotted list is found in one history with
    exactly its values or, for a tool that records each call under its own key
    (`one_key_per_call`: MLflow's `-2`, `-3`...), when each of its values is recorded."""
    shown = found = 0
    missed: list[str] = []
    matched: set[tuple[str, str]] = set()
    for item in spec.get("printed", []):
        i = item["cell"]
        for value, tol in printed_values(texts[i], item["regex"]):
            shown += 1
            hits = [
                k
                for k, vs in seen_from(i).items()
                if any(math.isclose(v, value, abs_tol=tol) for v in vs)
            ]
            matched.update(hits)
            found += bool(hits)
            if not hits:
                missed.append(f"cell {i}: {value}")
    for item in spec.get("plotted", []):
        i, values = item["cell"], plotted_values.get(item["name"], [])
        shown += 1
        pool = seen_from(i)
        hits = [
            k
            for k, vs in pool.items()
            if len(vs) == len(values)
            and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(vs, values, strict=True))
        ]
        if not hits and one_key_per_call and values:
            each = [
                [k for k, vs in pool.items() if any(math.isclose(v, x, rel_tol=1e-9) for v in vs)]
                for x in values
            ]
            hits = [k for ks in each for k in ks] if all(each) else []
        matched.update(hits)
        found += bool(hits)
        if not hits:
            missed.append(f"cell {i}: {item['name']} (plotted)")
    ok = [re.compile(r) for r in spec.get("extra_ok", [])]
    false = [
        f"{owner}: {k}"
        for (owner, k) in recorded
        if (owner, k) not in matched and not any(r.search(k) for r in ok)
    ]
    return {"shown": shown, "found": found, "false": false, "missed": missed}


def measure(name: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """`%%track` on every code cell: a score is looked for in the run of the cell showing it."""
    from jupyter_xtrack.store import open_store

    nb = nbformat.read(GALLERY / f"{name}.ipynb", as_version=4)
    tracked = tracked_copy(nb, [p["name"] for p in spec.get("plotted", [])])
    store_dir = work / name / "store"
    os.environ["XTRACK_STORE"] = str(store_dir)
    execute(tracked, work / name)
    code_cells = tracked.cells[1:-1]
    store = open_store(store_dir)
    runs = store.query_runs(order_by="number").to_frame()
    runs = runs[runs["parent_id"].isna()] if "parent_id" in runs else runs
    run_ids = list(runs["id"])
    assert len(run_ids) == len(code_cells), f"{name}: {len(run_ids)} runs, {len(code_cells)} cells"
    per_cell = [
        {(f"cell {i}", k): vs for k, vs in run_metrics(store, rid).items()}
        for i, rid in enumerate(run_ids)
    ]
    result = tally(
        spec,
        [cell_text(c) for c in code_cells],
        plotted_dump(tracked),
        lambda i: per_cell[i],
        {k: vs for ms in per_cell for k, vs in ms.items()},
        one_key_per_call=False,
    )
    children = int(store.query_runs().to_frame()["parent_id"].notna().sum())
    store.close()
    return {
        "notebook": name,
        **result,
        "recorded": {i: sorted(k for _, k in ms) for i, ms in enumerate(per_cell) if ms},
        "child_runs": children,
    }


AUTOLOG = """import mlflow, mlflow.sklearn
mlflow.set_tracking_uri({uri!r})
mlflow.set_experiment({name!r})
mlflow.sklearn.autolog()"""


def mlflow_copy(nb: Any, plotted: list[str], uri: str, name: str) -> Any:
    """The notebook as written, after a first hidden cell that turns on MLflow's
    scikit-learn autolog, and the same last cell that prints the plotted lists."""
    out = nbformat.v4.new_notebook(metadata=nb.metadata)
    out.cells = [nbformat.v4.new_code_cell(AUTOLOG.format(uri=uri, name=name))]
    out.cells += [c for c in nb.cells if c.cell_type == "code"]
    out.cells.append(tracked_copy(nb, plotted).cells[-1])
    return out


def measure_mlflow(name: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """MLflow's `mlflow.sklearn.autolog()` on the same notebook (a local SQLite store). Its
    runs follow fits, not cells, so a shown score is looked for in every metric the notebook
    recorded. Its training metrics (`training_*`, on the data a model was fitted on) are not
    shown by any notebook and are counted apart, not as false; a search's candidates (child
    runs) are left out, as for `%%track`."""
    from mlflow.tracking import MlflowClient

    nb = nbformat.read(GALLERY / f"{name}.ipynb", as_version=4)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    copy = mlflow_copy(nb, [p["name"] for p in spec.get("plotted", [])], uri, name)
    execute(copy, work / f"{name}-mlflow")
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name(name)
    every_run = client.search_runs([experiment.experiment_id]) if experiment else []
    # a search's candidates are child runs, as %%track's: left out on both sides
    runs = [r for r in every_run if "mlflow.parentRunId" not in r.data.tags]
    every: Recorded = {
        (f"run {run.info.run_name}", key): [
            m.value for m in client.get_metric_history(run.info.run_id, key)
        ]
        for run in runs
        for key in run.data.metrics
    }
    post = {k: vs for k, vs in every.items() if not k[1].startswith("training_")}
    result = tally(
        spec,
        [cell_text(c) for c in copy.cells[1:-1]],
        plotted_dump(copy),
        lambda i: every,
        post,
        one_key_per_call=True,
    )
    return {
        "notebook": name,
        **result,
        "recorded": sorted(k for _, k in post),
        "training_metrics": len(every) - len(post),
        "runs": len(runs),
        "child_runs": len(every_run) - len(runs),
    }


def summary(tool: str, results: list[dict[str, Any]]) -> str:
    shown = sum(r["shown"] for r in results)
    found = sum(r["found"] for r in results)
    false = sum(len(r["false"]) for r in results)
    return (
        f"| {tool} | {len(results)} | {shown} | {found} | {found / max(shown, 1):.0%} | {false} |"
    )


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
    parser.add_argument("--tools", default="xtrack,mlflow", help="xtrack, mlflow or both (default)")
    args = parser.parse_args()
    if args.cost:
        wrap_cost()
        return
    table = json.loads((GALLERY / "shown.json").read_text())
    work = scratch("recall")
    tools = {"xtrack": measure, "mlflow": measure_mlflow}
    results: dict[str, list[dict[str, Any]]] = {}
    for tool in args.tools.split(","):
        for name, spec in table.items():
            if name.startswith("_") or (args.only and args.only not in name):
                continue
            r = tools[tool](name, spec, work)
            results.setdefault(tool, []).append(r)
            print(
                f"{tool} {name}: found {r['found']}/{r['shown']}, false {len(r['false'])}"
                f"{' ' + str(r['false']) if r['false'] else ''}"
                f"{', missed ' + str(r['missed']) if r['missed'] else ''}",
                flush=True,
            )
    print("\n| tool | notebooks | scores shown | found | recall | false metrics |")
    print("|---|---|---|---|---|---|")
    for tool, rs in results.items():
        print(summary(tool, rs))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
