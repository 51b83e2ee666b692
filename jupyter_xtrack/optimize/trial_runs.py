"""The runs a search records: its parent run (kind sweep or automl) and one child run per
trial, each with its own lifecycle owned here rather than by Optuna.

A parent started in the foreground goes through `xt.start_run`, so it captures the code,
environment and git state like any tracked cell. Trials, and the parent of a background
job, are light runs: created in the store directly and written through the background
writer, so a trial costs a few milliseconds and a background job never touches the
notebook's run stack or its stdout.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Mapping
from typing import Any

from ..context import CONTEXT
from ..run import ActiveRun

# Trial outcomes, recorded as tag `xtrack.trial.state`; the run's own status is "finished"
# for complete and pruned trials (pruning is a normal end), "failed"/"interrupted" otherwise.
TRIAL_STATES = ("running", "complete", "pruned", "failed", "interrupted")


class TrackedRun:
    """A parent or trial run owned by a search. `run` is the live handle (metrics, params,
    tags); `close()` ends it exactly once."""

    def __init__(self, run: ActiveRun, *, pushed: bool, exit_hook: Any = None) -> None:
        self.run = run
        self._pushed = pushed
        self._exit_hook = exit_hook
        self._closed = False

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def recorded(self) -> bool:
        """False when the store could not be used: the search runs, nothing is stored."""
        return bool(self.run.id)

    def close(
        self,
        status: str = "finished",
        error: BaseException | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        """End the run with `status`; `error` (with its traceback) is kept as the run's error."""
        if self._closed:
            return
        self._closed = True
        run = self.run
        run.on_log = None
        if self._exit_hook is not None:
            hook, self._exit_hook = self._exit_hook, None
            if facts:
                for key, value in facts.items():
                    run.set_fact(key, value)
                _submit(run, lambda s: s.set_facts(run.id, **dict(facts)))
            hook(_exit_exception(status, error))
            return
        ended = time.time()
        try:
            run.mark(status, ended)
        except ValueError:
            run.mark("failed", ended)
        all_facts: dict[str, Any] = dict(facts or {})
        if error is not None:
            all_facts["error"] = error_fact(error)
        for key, value in all_facts.items():
            run.set_fact(key, value)
        final = run.status
        if self._pushed and CONTEXT.stack and CONTEXT.stack[-1] is run:
            CONTEXT.stack.pop()
        if not run.id:
            return

        def write(store: Any) -> None:
            if all_facts:
                store.set_facts(run.id, **all_facts)
            store.finish_run(run.id, status=final, ended_at=ended)

        writer = CONTEXT.writer()
        writer.submit(write)
        writer.unwatch(run.id)


def open_parent(
    kind: str,
    *,
    name: str | None,
    experiment: str | None,
    tags: Mapping[str, str],
    params: Mapping[str, Any],
    background: bool,
) -> TrackedRun:
    """The parent run of a sweep or an AutoML search. In the foreground it is a full tracked
    run on the run stack (a child of the enclosing run, if any); in the background a light one."""
    if not background:
        from .. import api

        run = api.start_run(name=name, experiment=experiment, tags=tags, params=params, kind=kind)
        return TrackedRun(run, pushed=True, exit_hook=run.on_exit)
    parent = CONTEXT.active
    return open_light(
        kind,
        name=name,
        experiment=experiment or (parent.experiment if parent is not None else None),
        tags=tags,
        params=params,
        parent_id=None,
        push=False,
    )


def open_trial(
    parent: TrackedRun,
    *,
    name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
    push: bool,
    kind: str = "trial",
) -> TrackedRun:
    """A trial: a child run of `parent`. With `push`, `xt.log` inside the trial's code goes
    to it (it is the innermost active run until closed)."""
    return open_light(
        kind,
        name=name,
        experiment=parent.run.experiment,
        tags=tags,
        params=params,
        parent_id=parent.id or None,
        push=push,
    )


def open_light(
    kind: str,
    *,
    name: str | None,
    experiment: str | None,
    tags: Mapping[str, str],
    params: Mapping[str, Any],
    parent_id: str | None,
    push: bool,
) -> TrackedRun:
    """A run created straight in the store, with no capture: the cheap path for trials."""
    started = time.time()
    tag_map = {str(k): str(v) for k, v in tags.items()}
    try:
        store = CONTEXT.store()
        writer = CONTEXT.writer()
        run_id, number = store.create_run(
            name=name,
            experiment=experiment,
            tags=tag_map,
            parent_id=parent_id,
            kind=kind,
            started_at=started,
        )
    except Exception as exc:  # noqa: BLE001 - the search goes on untracked
        CONTEXT.warn_once(
            "optimize-store",
            f"the run store {CONTEXT.describe_store()} cannot be used ({exc}); the search runs "
            "but its trials are not recorded",
        )
        run = _untracked_run(name, experiment, kind, parent_id, started, tag_map)
    else:
        run = ActiveRun(
            CONTEXT,
            store,
            run_id=run_id,
            number=number,
            name=name,
            experiment=experiment,
            tags=tag_map,
            parent_id=parent_id,
            kind=kind,
            started_at=started,
            notebook_path=None,
            cell_id=None,
        )
        writer.watch(run_id)
    if params:
        run.log_params(**params)
    if push:
        CONTEXT.stack.append(run)
    return TrackedRun(run, pushed=push)


def error_fact(error: BaseException) -> dict[str, Any]:
    """The error of a failed trial as stored: type, message and full traceback (redacted)."""
    from ..capture.redact import redact

    tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return {"type": type(error).__name__, "message": redact(str(error)), "traceback": redact(tb)}


def visible_device() -> str:
    """Where torch work of a trial goes (see devices.torch_device)."""
    from .devices import torch_device

    return torch_device()


def _exit_exception(status: str, error: BaseException | None) -> BaseException | None:
    if status == "finished":
        return None
    if status == "interrupted":
        return error if isinstance(error, KeyboardInterrupt) else KeyboardInterrupt()
    return error or RuntimeError(f"ended with status {status}")


def _submit(run: ActiveRun, fn: Any) -> None:
    if run.id:
        CONTEXT.writer().submit(fn)


class _Untracked(ActiveRun):
    """A run handle that records nothing (no usable store)."""

    def log_params(self, **params: Any) -> None:
        self._record["params"].update(params)

    def set_tags(self, **tags: Any) -> None:
        self._record["tags"].update({str(k): str(v) for k, v in tags.items()})

    def log_artifact(self, path_or_object: Any, name: str | None = None) -> dict[str, Any]:
        return {}


def _untracked_run(
    name: str | None,
    experiment: str | None,
    kind: str,
    parent_id: str | None,
    started: float,
    tags: dict[str, str],
) -> ActiveRun:
    run = _Untracked.__new__(_Untracked)
    run._record = {
        "id": "", "number": 0, "name": name, "experiment": experiment or "default",
        "status": "running", "kind": kind, "parent_id": parent_id, "started_at": started,
        "params": {}, "metrics": {}, "tags": dict(tags),
    }
    run._last = run._record["metrics"]
    run._append = lambda point: None
    run.flagged_params = []
    run.bad_metrics = []
    run.on_exit = None
    run.on_log = None
    run._ctx = CONTEXT
    return run
