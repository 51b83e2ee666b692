"""The public Python API. Thin: each function delegates to the active run, the recorder or
the store."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from time import time as _time
from typing import TYPE_CHECKING, Any

from .compare import Comparison, compare_runs
from .context import CONTEXT, running_shell
from .recorder import CellInfo, Recording, RunOptions, wait_pending
from .run import ActiveRun, Run

if TYPE_CHECKING:
    import pandas as pd

    from .store import Store


_RUNS_LEAD = ("id", "number", "name", "experiment", "status", "started_at", "duration_s",
              "git.commit", "git.dirty")
_STACK = CONTEXT.main_stack  # the same list object for the life of the process
_LOCAL = CONTEXT.thread_local


def _no_run(what: str) -> None:
    CONTEXT.warn_once(
        f"no-run:{what}",
        f"xt.{what}() was called with no active run, so nothing was recorded; "
        "put %%track on the cell or use `with xt.start_run():`",
    )


def log(step: int | None = None, **metrics: Any) -> None:
    """Record metrics on the active run: `xt.log(loss=0.3, acc=0.9, step=epoch)`.

    Every call is kept (full history per metric, with its step and wall time). Appends to
    memory only; a background writer stores batches at least once a second.
    """
    # Inlined ActiveRun.log_dict: one Python call per xt.log instead of three (>1M points/s).
    stack = _STACK
    if CONTEXT.threads_bound:  # only once a background job has a stack of its own
        stack = getattr(_LOCAL, "stack", _STACK)
    if not stack:
        _no_run("log")
        return
    run = stack[-1]
    now = _time()
    append = run._append
    last = run._last
    run_id = run._id
    for key, value in metrics.items():
        if type(value) is not float:
            try:
                value = float(value)
            except (TypeError, ValueError):
                run._bad_metric(key, value)
                continue
        append((run_id, key, value, step, now))
        last[key] = value
    if run.on_log is not None:
        run.on_log(run, metrics, step)


def log_params(**params: Any) -> None:
    """Record params on the active run; non-JSON-able values are stored as their repr, flagged."""
    run = CONTEXT.active
    if run is None:
        _no_run("log_params")
    else:
        run.log_params(**params)


def set_tags(**tags: Any) -> None:
    """Set string tags on the active run."""
    run = CONTEXT.active
    if run is None:
        _no_run("set_tags")
    else:
        run.set_tags(**tags)


def log_artifact(path_or_object: Any, name: str | None = None) -> dict[str, Any] | None:
    """Store a file or an object (DataFrame, figure, model, array...) with the active run."""
    run = CONTEXT.active
    if run is None:
        _no_run("log_artifact")
        return None
    return run.log_artifact(path_or_object, name)


def active_run() -> ActiveRun | None:
    """The run being recorded now (innermost when runs are nested), or None."""
    return CONTEXT.active


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    data: Sequence[str] = (),
    kind: str = "script",
    parent: str | None = None,
) -> ActiveRun:
    """Start a run for a script or a block of code; use it as a context manager.

    ``with xt.start_run(name="train") as run: ...`` records the same facts as `%%track`
    (code, environment, git, files read and written, metrics, resources). Inside a tracked
    cell or another run it starts a child run (`parent=` names another parent run; `kind`
    is script, trial, sweep or automl). An exception marks the run failed (Ctrl-C:
    interrupted) and propagates unchanged.
    """
    info = _calling_code()
    info.kind = kind
    options = RunOptions(
        name=name,
        experiment=experiment,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
        data_paths=list(data),
        parent_id=parent,
    )
    recording = Recording(info, options)
    run = recording.begin()
    if run is None:
        run = _detached_run(name, experiment)
        return run
    if params:
        run.log_params(**params)
    run.on_exit = lambda exc: recording.end(exc)
    return run


def end_run(status: str = "finished") -> None:
    """End the active run started with `start_run()` when not used as a context manager."""
    run = CONTEXT.active
    if run is None or run.on_exit is None:
        _no_run("end_run")
        return
    hook, run.on_exit = run.on_exit, None
    exc: BaseException | None = None
    if status == "failed":
        exc = RuntimeError("ended with status failed")
    elif status == "interrupted":
        exc = KeyboardInterrupt()
    hook(exc)


def runs(
    filter: str | None = None,
    experiment: str | None = None,
    order_by: str | Sequence[str] | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """All runs of the store as a DataFrame, one row per run, newest first.

    Columns: id, number, name, experiment, status, started_at, duration_s, git.commit,
    git.dirty, then params.<k>, metrics.<k> (last value) and tags.<k>. `filter` uses the
    filter language, e.g. ``"metrics.acc > 0.9 and params.model = 'rf'"``.
    """
    wait_pending()
    table = CONTEXT.store().query_runs(filter, experiment=experiment, order_by=order_by, limit=limit)
    frame = table.to_frame()
    # The documented order first; the other run fields (kind, parent_id, ...) at the end.
    lead = [c for c in _RUNS_LEAD if c in frame.columns]
    dynamic = [c for c in frame.columns if c.startswith(("params.", "metrics.", "tags."))]
    rest = [c for c in frame.columns if c not in lead and c not in dynamic]
    return frame[lead + dynamic + rest]


def get_run(ref: str | int) -> Run:
    """One run by full id, unique id prefix, or number (12 or "#12")."""
    wait_pending()
    store = CONTEXT.store()
    return Run(store.get_run(ref), store)


def compare(*refs: str | int | Run) -> Comparison:
    """Params, metrics, environment, git, data and code differences between runs."""
    return compare_runs([r if isinstance(r, Run) else get_run(r) for r in refs])


def open_store(path_or_url: str | os.PathLike[str] | None = None) -> Store:
    """Use the store at `path_or_url` (a folder or `sqlite:///...`) from now on in this process.

    Without an argument: `$XTRACK_STORE`, else `.xtrack/` at the root of the git repository
    that holds the notebook (or the working directory).
    """
    wait_pending()
    return CONTEXT.use_store(path_or_url)


def flush(timeout: float | None = 60.0) -> None:
    """Block until everything recorded so far is in the store."""
    wait_pending(timeout)


# -- helpers ---------------------------------------------------------------------------
def _calling_code() -> CellInfo:
    """Where a `start_run()` was called from: a notebook cell or a script file."""
    shell = running_shell()
    if shell is not None:
        from .magics import cell_info

        return cell_info(shell, kind="script")
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    source = ""
    if path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                source = fh.read()
        except OSError:
            source = ""
    return CellInfo(source=source, kind="script", script_path=path)


def _detached_run(name: str | None, experiment: str | None) -> ActiveRun:
    """A stand-in when the store is unusable: `with start_run()` still works, records nothing."""

    class _Detached(ActiveRun):
        def __init__(self) -> None:  # noqa: D401 - no store, no writer
            self._record = {"id": "", "number": 0, "name": name, "experiment": experiment,
                            "status": "running", "params": {}, "metrics": {}, "tags": {}}
            self._last = {}
            self.on_exit = None

        def log(self, step: int | None = None, **metrics: Any) -> None:
            return None

        def log_params(self, **params: Any) -> None:
            return None

        def set_tags(self, **tags: Any) -> None:
            return None

        def log_artifact(self, path_or_object: Any, name: str | None = None) -> dict[str, Any]:
            return {}

    return _Detached()
