"""The kernel's side of the sidebar's Launch form: list what can be searched, check a
request field by field, and start the search as a background job in this kernel.

The sidebar calls `call(op, args_json)` through a silent execute request's
`user_expressions` (no history, no output, no `%%track` hooks), so every answer is one
JSON value: a `Reply` whose `_repr_json_` is `{"ok": true, "value": ...}`, or
`{"ok": false, "errors": {field: message}}` for input to fix next to its field, or
`{"ok": false, "error": message}`. Nothing here raises to the caller: a launch must never
leave an exception in the user's kernel.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from ..facts import Fact, blob_of
from ..tracking.session import CONTEXT
from .track_line import TrackRequest, cell_body, parse_track_line, split_track_cell

MAX_COLUMNS = 2000
MAX_RUNS_SCANNED = 5000
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


class FieldErrors(Exception):
    """Input to fix: field name -> what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class Reply:
    """One answer to the sidebar, shown to it as application/json."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload

    def _repr_json_(self) -> dict[str, Any]:
        return self.payload

    def __repr__(self) -> str:
        return json.dumps(self.payload, default=str)


def call(op: str, args_json: str = "{}", shell: Any = None) -> Reply:
    """Run launch operation `op` with the JSON object `args_json` as keyword arguments."""
    fn = OPS.get(op)
    if fn is None:
        return Reply({"ok": False, "error": f"unknown launch operation {op!r}; "
                      f"known: {', '.join(sorted(OPS))}"})
    try:
        args = json.loads(args_json)
        if not isinstance(args, dict):
            raise TypeError("the arguments must be a JSON object")
        value = fn(_shell(shell), **args)
    except FieldErrors as exc:
        return Reply({"ok": False, "errors": exc.errors})
    except Exception as exc:  # noqa: BLE001 - reported to the form, never raised in the kernel
        return Reply({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return Reply({"ok": True, "value": _finite(value)})


# -- AutoML on a DataFrame -----------------------------------------------------------------
def frames(shell: Any) -> list[dict[str, Any]]:
    """The pandas DataFrames bound to public names in the user's namespace."""
    pd = sys.modules.get("pandas")
    if pd is None:  # pandas never imported: there can be no DataFrame, and we do not load it
        return []
    out = []
    for name, value in sorted(shell.user_ns.items()):
        if name.startswith("_") or not isinstance(value, pd.DataFrame):
            continue
        cols = [{"name": str(c), "dtype": str(t)}
                for c, t in list(value.dtypes.items())[:MAX_COLUMNS]]
        out.append({"name": name, "rows": len(value), "columns": cols})
    return out


def automl_options(shell: Any, frame: str, target: str) -> dict[str, Any]:
    """The task a target column makes, and the metrics that fit it."""
    # lazy: optuna and scikit-learn load when a search is asked for
    from ..optimize.scoring import DEFAULT_METRIC, detect_task, metric_names

    df, y = _frame_and_target(shell, frame, target)
    task = detect_task(y)
    return {"task": task, "metrics": metric_names(task), "default_metric": DEFAULT_METRIC[task],
            "rows": len(df)}


def check_automl(shell: Any, frame: str, target: str, time_budget: Any, metric: str | None = None,
                 name: str | None = None) -> dict[str, Any]:
    """Every field of an AutoML launch checked; FieldErrors lists all that are wrong."""
    _automl_request(shell, frame, target, time_budget, metric, name)
    return {}


def start_automl(shell: Any, frame: str, target: str, time_budget: Any,
                 metric: str | None = None, name: str | None = None) -> dict[str, Any]:
    """`xt.automl(df, target=..., background=True)` once every field checks out."""
    # lazy: optuna and scikit-learn load when a search is asked for
    from ..optimize.automl import automl

    df, budget, metric = _automl_request(shell, frame, target, time_budget, metric, name)
    job = automl(df, target=target, time_budget=budget, metric=metric, name=name or None,
                 tags={"xtrack.launch.frame": frame}, background=True, show=False)
    return {"job": job.id, "run_id": job.run_id}  # type: ignore[union-attr]


def _automl_request(shell: Any, frame: str, target: str, time_budget: Any, metric: str | None,
                    name: str | None) -> tuple[Any, float, str | None]:
    # lazy: optuna and scikit-learn load when a search is asked for
    from ..optimize.scoring import detect_task, get_metric, parse_budget

    errors: dict[str, str] = {}
    df = y = None
    try:
        df, y = _frame_and_target(shell, frame, target)
    except FieldErrors as exc:
        errors.update(exc.errors)
    budget = 0.0
    try:
        budget = parse_budget(time_budget)
    except ValueError as exc:
        errors["time_budget"] = str(exc)
    if y is not None and metric:
        try:
            get_metric(metric, detect_task(y))
        except ValueError as exc:
            errors["metric"] = str(exc)
    if name is not None and not isinstance(name, str):
        errors["name"] = "the name must be text"
    if errors:
        raise FieldErrors(errors)
    return df, budget, metric or None


def _frame_and_target(shell: Any, frame: str, target: str) -> tuple[Any, Any]:
    pd = sys.modules.get("pandas")
    value = shell.user_ns.get(frame) if isinstance(frame, str) else None
    if pd is None or not isinstance(value, pd.DataFrame):
        what = "is not a DataFrame" if value is not None else "is not defined"
        raise FieldErrors({"frame": f"{frame!r} {what} in this kernel; run the cell that "
                                    "makes it, then Refresh"})
    if not target:
        raise FieldErrors({"target": "choose the column to predict"})
    match = [c for c in value.columns if str(c) == target]
    if not match:
        raise FieldErrors({"target": f"{frame} has no column {target!r}"})
    y = value[match[0]]
    known = y.dropna()
    if len(known) < 10:
        raise FieldErrors({"target": f"{target!r} has {len(known)} known values; AutoML needs "
                                     "at least 10 rows with a target"})
    if known.nunique() < 2:
        raise FieldErrors({"target": f"{target!r} has a single value: there is nothing to predict"})
    if value.shape[1] < 2:
        raise FieldErrors({"frame": f"{frame} has no column besides the target to learn from"})
    return value, y


# -- sweeping a tracked cell ----------------------------------------------------------------
def cells(shell: Any, notebook_path: str) -> list[dict[str, Any]]:
    """The tracked cells of the notebook at `notebook_path` (as the Jupyter server names it,
    or absolute) that recorded params, newest first, each with a suggested sweep."""

    store = CONTEXT.store()
    table = store.query_runs("kind = 'cell' and cell_id != null", columns=["params.*", "metrics.*"],
                             limit=MAX_RUNS_SCANNED)
    wanted = _same_notebook(notebook_path)
    rows = [row for row in table.rows() if wanted(row.get("notebook_path"))]  # newest first
    cell_of = store.cell_ids([row["id"] for row in rows])
    by_cell: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["id"] in cell_of:
            by_cell.setdefault(cell_of[row["id"]], []).append(row)
    out = []
    for cell_id, rows in by_cell.items():
        params = _prefixed(rows[0], "params.")
        if not any(_sweepable(k, v) for k, v in params.items()):
            continue
        metrics = [k for k in _prefixed(rows[0], "metrics.") if k != "job_progress"]
        metric = metrics[0] if metrics else None
        out.append({
            "cell_id": cell_id,
            "runs": len(rows),
            "last_run": {"id": rows[0]["id"], "number": rows[0]["number"], "name": rows[0]["name"],
                         "params": params, "metrics": metrics,
                         "started_at": rows[0]["started_at"]},
            "code": _code(store, rows[0]["id"]),
            "space": suggest_space([_prefixed(r, "params.") for r in rows]),
            "metric": metric,
            "direction": direction_for(metric),
        })
    return out


def check_sweep(shell: Any, source: str, space: str, trials: Any, metric: str,
                direction: str | None = None, sampler: str | None = None,
                pruner: str | None = None, name: str | None = None,
                cell_id: str | None = None) -> dict[str, Any]:
    """Every field of a sweep launch checked; FieldErrors lists all that are wrong."""
    _sweep_request(shell, source, space, trials, metric, direction, sampler, pruner)
    return {}


def start_sweep(shell: Any, source: str, space: str, trials: Any, metric: str,
                direction: str | None = None, sampler: str | None = None,
                pruner: str | None = None, name: str | None = None,
                cell_id: str | None = None) -> dict[str, Any]:
    """A background sweep of the cell's source over `space` once every field checks out
    (no `direction`: the metric's name decides, as for `xt.sweep`)."""
    # lazy: optuna and scikit-learn load when a search is asked for
    from ..optimize.sweep import sweep

    body = _sweep_request(shell, source, space, trials, metric, direction, sampler, pruner)
    # The sweep is recorded as the cell would be: in its --experiment, with its --tag's.
    cell = _track_request(source)
    tags = dict(cell.tags) if cell else {}
    if cell_id:
        tags["xtrack.launch.cell_id"] = cell_id
    job = sweep(body, space, trials=int(trials), metric=metric, direction=direction,
                sampler=sampler or None, pruner=pruner or None, name=name or None,
                experiment=cell.experiment if cell else None, tags=tags or None,
                background=True, show=False)
    _give_code(job, source)
    return {"job": job.id, "run_id": job.run_id}  # type: ignore[union-attr]


def _track_request(source: str) -> TrackRequest | None:
    """The cell's parsed `%%track` line, or None when it has none (checked to parse by
    `_sweep_request` already)."""
    split = split_track_cell(source)
    return None if split is None else parse_track_line(split[0])


def _give_code(job: Any, source: str) -> None:
    """Record `source` as the Code of the background sweep's parent run as the job opens it
    (before its first trial, which takes its parent's code): a light parent captures
    nothing, and without this the sweep's run and its trials showed an empty Code section."""
    from ..capture.redact import redact  # lazy, as every capture

    def give(parent: Any) -> None:
        if not parent.recorded:
            return
        try:
            code_hash = CONTEXT.store().put_blob(redact(source).encode())
        except Exception:  # noqa: BLE001 - the sweep goes on without its code shown
            return
        code = {"hash": code_hash, "kind": "cell", "script_path": None,
                "lines": source.count("\n") + 1}
        parent.run.set_fact(Fact.CODE, code)
        run_id = parent.id
        CONTEXT.writer().submit(lambda store: store.set_facts(run_id, **{Fact.CODE: code}))

    job.control.when_attached(give)


def _sweep_request(shell: Any, source: str, space: str, trials: Any, metric: str,
                   direction: str | None, sampler: str | None, pruner: str | None) -> str:
    # lazy: optuna and scikit-learn load when a search is asked for
    from ..optimize.pruners import pruner_name
    from ..optimize.samplers import sampler_name
    from ..optimize.space import SpaceError, parse_space
    from ..optimize.sweep import DIRECTIONS, CellObjective, SweepError

    errors: dict[str, str] = {}
    body = strip_track_line(source if isinstance(source, str) else "")
    try:
        _track_request(source if isinstance(source, str) else "")
    except Exception as exc:  # noqa: BLE001 - IPython's UsageError: the %%track line is wrong
        errors["source"] = str(exc)
    if not body.strip():
        errors["source"] = "the cell is empty: there is nothing to run per trial"
    parsed = None
    try:
        parsed = parse_space(space)
    except SpaceError as exc:
        errors["space"] = str(exc)
    if isinstance(trials, bool) or not isinstance(trials, (int, float, str)):
        errors["trials"] = "trials must be a whole number"
    else:
        try:
            if int(trials) < 1 or int(trials) != float(trials):
                raise ValueError
        except ValueError:
            errors["trials"] = f"trials must be a whole number of at least 1, not {trials!r}"
    if not isinstance(metric, str) or not metric.strip():
        errors["metric"] = "name the metric the cell logs with xt.log (e.g. val_acc)"
    if direction is not None and str(direction).lower() not in DIRECTIONS:
        errors["direction"] = "direction must be maximize or minimize"
    for field, check in (("sampler", sampler_name), ("pruner", pruner_name)):
        value = sampler if field == "sampler" else pruner
        if value:
            try:
                check(value)
            except SpaceError as exc:
                errors[field] = str(exc)
    if parsed is not None and "source" not in errors:
        try:
            objective = CellObjective(shell, body, parsed.names)
        except SweepError as exc:
            errors["source"] = str(exc)
        else:
            missing = [n for n in parsed.names if n not in objective.assigned]
            if missing:
                errors["space"] = (f"the cell never assigns {', '.join(missing)}: a sweep "
                                   "replaces the cell's own top-level assignments to the "
                                   "swept names")
    if errors:
        raise FieldErrors(errors)
    return body


def strip_track_line(source: str) -> str:
    """A cell's source without a leading `%%track ...` line (the sweep runs the body), by
    the same rule as the kernel's hooks."""
    return cell_body(source)


def suggest_space(params_by_run: list[dict[str, Any]]) -> str:
    """A sweep space around the values a cell recorded (newest run first): numbers range
    around the values seen (log scale for positive floats), text and flags choose among
    the values seen. Params that cannot be swept (lists, dicts, odd names) are left out."""
    seen: dict[str, list[Any]] = {}
    for params in params_by_run:
        for key, value in params.items():
            if _sweepable(key, value) and key in params_by_run[0]:
                seen.setdefault(key, []).append(value)
    parts = []
    for key in params_by_run[0]:
        values = seen.get(key)
        if values:
            parts.append(f"{key}={_distribution(values)}")
    return "; ".join(parts)


def direction_for(metric: str | None) -> str:
    """The direction a sweep on `metric` takes when none is given (the metric's name says;
    maximize when it does not), suggested by the Sweep form."""
    # lazy: the optimize package loads when a search is asked for
    from ..optimize.scoring import DEFAULT_DIRECTION, metric_direction

    return metric_direction(metric) or DEFAULT_DIRECTION


def _distribution(values: list[Any]) -> str:
    first = values[0]
    if isinstance(first, bool) or isinstance(first, str):
        distinct = list(dict.fromkeys(v for v in values if type(v) is type(first)))[:10]
        if isinstance(first, bool):
            distinct = [first, not first]
        return f"choice({', '.join(repr(v) for v in distinct)})"
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    lo, hi = min(nums), max(nums)
    if isinstance(first, int):
        if lo == hi:
            lo, hi = (max(1, lo // 2), max(lo * 2, lo + 1)) if lo > 0 else (lo - 5, lo + 5)
        return f"int({lo}, {hi})"
    if lo > 0:
        lo, hi = (lo / 10, hi * 10) if lo == hi else (lo, hi)
        return f"loguniform({lo:.3g}, {hi:.3g})"
    if lo == hi:
        lo, hi = (lo * 2, 0.0) if lo < 0 else (0.0, 1.0)
    return f"uniform({lo:.3g}, {hi:.3g})"


def _sweepable(key: str, value: Any) -> bool:
    if not _IDENTIFIER.match(key):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (int, str, bool))


def _prefixed(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in row.items() if k.startswith(prefix) and v is not None}


def _same_notebook(path: str) -> Callable[[Any], bool]:
    """A test for recorded notebook paths naming the notebook the server calls `path`.

    Recorded paths are absolute; the server's are relative to its root, which the kernel
    does not know, so a recorded path matches when it ends with the server's path."""
    import os

    clean = str(path or "").replace("\\", "/").lstrip("/")
    tail = "/" + clean
    absolute = os.path.abspath(path) if path and os.path.isabs(path) else None

    def same(recorded: Any) -> bool:
        if not isinstance(recorded, str) or not clean:
            return False
        rec = recorded.replace("\\", "/")
        return rec == absolute or rec == clean or rec.endswith(tail)

    return same


def _code(store: Any, run_id: str) -> str:
    blob = blob_of(store.get_run(run_id), Fact.CODE)
    if not blob:
        return ""
    try:
        return str(store.get_blob(blob).decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - a missing blob leaves the form to the open notebook
        return ""


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: they become None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _shell(shell: Any) -> Any:
    if shell is not None:
        return shell
    from IPython import get_ipython

    found = get_ipython()
    if found is None:
        raise RuntimeError("launching needs an IPython kernel")
    return found


OPS: dict[str, Callable[..., Any]] = {
    "frames": frames,
    "automl_options": automl_options,
    "check_automl": check_automl,
    "start_automl": start_automl,
    "cells": cells,
    "check_sweep": check_sweep,
    "start_sweep": start_sweep,
}
