"""`reproduce`: a run, from the store alone, back to the same numbers, verified.

The path: the program (program.py) -> the data check (datacheck.py) -> the folder and the
environment (program.lay_out, environment.py) -> the run in a fresh kernel (execute.py) ->
the comparison (compare.py) -> the verdict, written on the reproduction as tags
(result.py). Everything is written in one temporary folder, removed at the end, and the
store; the user's files and repository are only read."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..facts import REPRODUCE_REASON_TAG, REPRODUCES_TAG, VERDICT_TAG
from ..records.run import Run
from ..store.contract import RunStore
from . import compare, datacheck, environment, program
from .execute import Execution, execute
from .result import Reproduction

# Variables that fix a run's randomness from outside its code, passed on when recorded.
SEED_VARIABLES = ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "TF_DETERMINISTIC_OPS")


def reproduce(
    ref: str | int,
    *,
    env: str = "current",
    tolerance: Any = None,
    timeout: float | None = 600.0,
    allow_data_drift: bool = False,
    store: RunStore | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Reproduction:
    """Re-run run `ref` (number, id or prefix) and compare: see the module's docstring.

    `env`: "current" (this interpreter) or "fresh" (a new venv with the run's versions).
    `tolerance`: a number, "rel:X"/"abs:X", "metric=X", or {metric: X} (compare.parse_tolerance).
    `timeout`: seconds per cell; a cell that runs longer means "could not run".
    """
    if env not in environment.ENV_MODES:
        raise ValueError(f"env must be one of {', '.join(environment.ENV_MODES)}, not {env!r}")
    tolerances = compare.parse_tolerance(tolerance)
    if store is None:
        # lazy: only the API's calls use the tracking session
        from ..tracking.recorder import wait_pending
        from ..tracking.session import CONTEXT

        wait_pending()  # the runs this kernel recorded are in the store before reading it
        store = CONTEXT.store()
    run = Run(store.get_run(ref), store)
    started = time.monotonic()
    rep = Reproduction(run.id, run.number, env=env, data_drift_allowed=allow_data_drift)
    with tempfile.TemporaryDirectory(prefix="xtrack-reproduce-") as tmp:
        _reproduce(run, rep, Path(tmp), tolerances, timeout, progress, should_stop)
    rep.duration_s = time.monotonic() - started
    return rep


def _reproduce(
    run: Run,
    rep: Reproduction,
    tmp: Path,
    tolerances: compare.Tolerances,
    timeout: float | None,
    progress: Callable[[int, int], None] | None,
    should_stop: Callable[[], bool] | None,
) -> None:
    cells = program.cells_of(run)
    rep.cells = len(cells.sources)
    if not cells.from_lineage:
        rep.notes.append(
            f"run #{run.number} has no lineage (recorded before lineage existed, "
            "or by a script): reproduced from its code alone"
        )
    base = program.base_dir(run)
    rep.inputs = datacheck.check_inputs(cells.originals.values())
    rep.untracked = datacheck.untracked_dependencies(
        cells.sources, base, [c.abs_path for c in rep.inputs]
    )
    if any(c.drifted for c in rep.inputs) and not rep.data_drift_allowed:
        rep.reason = (
            "inputs differ from the run's (--allow-data-drift runs anyway):\n"
            + datacheck.drift_table(rep.inputs)
        )
        return rep.decide()
    layout = program.lay_out(
        run,
        tmp,
        [(c.path, c.abs_path) for c in rep.inputs if c.state == "same" or rep.data_drift_allowed],
        rep.untracked,
    )
    rep.untracked = layout.dependencies  # those the commit brought are no dependency
    rep.notes.append("program: " + layout.source)
    recorded_env = run.env
    seeds = _seeds(recorded_env)
    if seeds:
        rep.notes.append("seeds as recorded: " + ", ".join(f"{k}={v}" for k, v in seeds.items()))
    try:
        kernel = (
            environment.fresh_kernel(tmp, recorded_env, seeds)
            if rep.env == "fresh"
            else environment.current_kernel(tmp, seeds)
        )
    except environment.EnvironmentBuildError as exc:
        rep.reason = f"the environment could not be built: {exc}"
        return rep.decide()
    rep.notes += kernel.notes
    before = _last_number(run.store)
    done = execute(
        cells.sources, kernel, layout.workdir, run.store.root, timeout, progress, should_stop
    )
    rep.cells_run = done.cells_done
    made = _runs_made(run.store, before, done)
    pairs = program.match_cells(cells.sources, made)
    final = pairs.get(len(cells.sources) - 1)
    if final is not None:
        rep.run_id, rep.run_number = final.id, final.number
    rep.packages = environment.version_diffs(recorded_env, _packages_now(final, kernel))
    if done.failure is not None:
        rep.reason = done.failure
    else:
        rep.rows = _rows(cells, pairs, done, run, tolerances)
    rep.decide()
    _tag(run, pairs, cells.originals, rep)


def _seeds(recorded_env: dict[str, Any] | None) -> dict[str, str]:
    env_vars = (recorded_env or {}).get("env_vars") or {}
    return {k: str(env_vars[k]) for k in SEED_VARIABLES if k in env_vars}


def _last_number(store: RunStore) -> int:
    table = store.query_runs(order_by="number desc", limit=1)
    numbers = table.columns.get("number") or [0]
    return int(numbers[0] or 0)


def _runs_made(store: RunStore, before: int, done: Execution) -> list[Run]:
    """The top-level runs the reproduction's kernel made, in order."""
    table = store.query_runs(
        f"number > {before} and parent_id = null", order_by="number", limit=10_000
    )
    runs = [Run(store.get_run(row["id"]), store) for row in table.rows()]
    return [r for r in runs if done.pid is None or r.record.get("pid") == done.pid]


def _packages_now(final: Run | None, kernel: environment.Kernel) -> dict[str, str]:
    """The versions the reproduction ran with: its own run's environment fact, else (it made
    no run) this interpreter's, for --env current."""
    env = final.env if final is not None else None
    if env and env.get("packages"):
        return {str(k): str(v) for k, v in env["packages"].items()}
    if kernel.mode == "current":
        from ..capture.env import installed_distributions  # lazy: a scan of sys.path

        return installed_distributions()
    return {}


def _rows(
    cells: program.Cells,
    pairs: dict[int, Run],
    done: Execution,
    run: Run,
    tolerances: compare.Tolerances,
) -> list[compare.Row]:
    """Every cell's comparison: a cell that made a run in both sessions compares the two runs;
    another compares its text output with the saved notebook's, when the run saved one."""
    saved = _saved_outputs(run)
    rows: list[compare.Row] = []
    for index, source in enumerate(cells.sources):
        original = cells.originals.get(index)
        if original is not None:
            rows += compare.compare_runs(original, pairs.get(index), index + 1, tolerances)
        elif source in saved:
            outputs = done.notebook.cells[index + 1].get("outputs") or []
            rows.append(
                compare.output_row(index + 1, saved[source], compare.cell_text(outputs), tolerances)
            )
    return rows


def _saved_outputs(run: Run) -> dict[str, str]:
    """The text outputs of the saved notebook's code cells, by source (the last of equal
    sources wins), when the run kept a snapshot of its notebook."""
    nb = run.notebook or {}
    out: dict[str, str] = {}
    for cell in nb.get("cells") or []:
        if cell.get("cell_type") == "code" and cell.get("outputs"):
            out["".join(cell.get("source") or "")] = compare.cell_text(cell["outputs"])
    return out


def _tag(run: Run, pairs: dict[int, Run], originals: dict[int, Run], rep: Reproduction) -> None:
    """Link each reproduced run to its original (`reproduces`) and give the last the verdict
    (and the reason, when it could not run to the end)."""
    store = run.store
    for index, made in pairs.items():
        original = originals.get(index)
        if original is None:
            continue
        tags = {REPRODUCES_TAG: original.id}
        if original.id == run.id:
            tags[VERDICT_TAG] = rep.verdict
            if rep.reason:
                tags[REPRODUCE_REASON_TAG] = rep.reason.splitlines()[0][:500]
        store.set_tags(made.id, tags)
