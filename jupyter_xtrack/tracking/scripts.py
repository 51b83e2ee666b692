"""`start_run` / `end_run`: the run of a script or a block of code, recorded like a
`%%track` cell (the same `Recording`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..facts import Status
from . import lifecycle
from .active_run import ActiveRun
from .recorder import Recording
from .request import RunOptions
from .session import CONTEXT
from .shell import calling_code


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
    interrupted) and propagates unchanged. When the store cannot be used the handle records
    nothing (a NullRun) and the code runs the same.
    """
    info = calling_code(kind)
    tag_map = {str(k): str(v) for k, v in (tags or {}).items()}
    options = RunOptions(name=name, experiment=experiment, tags=tag_map,
                         data_paths=list(data), parent_id=parent)
    recording = Recording(info, options)
    run = recording.begin()
    if run is None:
        return lifecycle.null_run(CONTEXT, name=name, experiment=experiment, tags=tag_map,
                                  parent_id=parent, kind=kind)
    # `with`, end_run() and a search's close() end it; a %%track cell's run ends with its cell.
    run.on_end = recording.end_with
    if params:
        run.log_params(**params)
    return run


def end_run(status: Status = "finished") -> None:
    """End the active run started with `start_run()` when not used as a context manager."""
    run = CONTEXT.active
    if run is None or not run.end(status):
        CONTEXT.no_run("end_run")
