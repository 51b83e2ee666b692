"""The runs a search records (a sweep, an AutoML search): its parent run (kind sweep or
automl) and one child run per trial or candidate, through the one run lifecycle.

A parent started in the foreground is a full `Recording`, so it captures the code,
environment and git state like any tracked cell. Trials, and the parent of a background
job, are light runs: opened without captures, so a trial costs a few milliseconds and a
background job never touches the notebook's run stack or its stdout. A trial runs where
its parent ran: it opens in the parent's notebook cell and holds the parent's code,
environment and git state by reference (`tracking.inherit`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..facts import STATUSES, Fact, Status
from . import inherit, lifecycle
from .active_run import ActiveRun
from .scripts import start_run
from .session import CONTEXT

# Trial outcomes, recorded as tag `xtrack.trial.state`; the run's own status is "finished"
# for complete and pruned trials (pruning is a normal end), "failed"/"interrupted" otherwise.
TRIAL_STATES = ("running", "complete", "pruned", "failed", "interrupted")


class TrackedRun:
    """A parent or trial run owned by a search. `run` is the live handle (metrics, params,
    tags); `close()` ends it exactly once. A trial knows its `parent`, whose context it
    takes (see `tracking.inherit`)."""

    def __init__(self, run: ActiveRun, parent: ActiveRun | None = None) -> None:
        self.run = run
        self.parent = parent
        self._closed = False

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def recorded(self) -> bool:
        """False when the store could not be used: the search runs, nothing is stored."""
        return self.run.recorded

    def close(
        self,
        status: Status | str = "finished",
        error: BaseException | None = None,
        facts: Mapping[str, Any] | None = None,
    ) -> None:
        """End the run with `status` (an unknown one reads as failed); `error` (with its
        traceback) is kept as the run's error."""
        if self._closed:
            return
        self._closed = True
        run = self.run
        run.on_log = None
        final = as_status(status)
        if run.on_end is not None:  # a foreground parent: its Recording finishes it
            if facts:
                for key, value in facts.items():
                    run.set_fact(key, value)
                if run.recorded:
                    CONTEXT.writer().submit(lambda s: s.set_facts(run.id, **dict(facts)))
            run.end(final, error)
            return
        lifecycle.close_run(CONTEXT, run, final, ended_at=time.time(),
                            error=None if error is None else lifecycle.error_fact(error))
        all_facts: dict[str, Any] = dict(facts or {})
        if error is not None:
            all_facts[Fact.ERROR] = run.error
        if self.parent is not None and run.recorded:
            all_facts.update(inherit.context_for(self.parent.id, run.id, all_facts))
        lifecycle.store_run(CONTEXT, run, all_facts)
        inherit.pass_on(CONTEXT, run)  # a light parent: its trials wait for its own parent's


def open_parent(
    kind: str,
    *,
    name: str | None,
    experiment: str | None,
    tags: Mapping[str, str],
    params: Mapping[str, Any],
    background: bool,
    launched_from: ActiveRun | None = None,
) -> TrackedRun:
    """The parent run of a sweep or an AutoML search. In the foreground it is a full tracked
    run on the run stack (a child of the enclosing run, if any); in the background a light one,
    which, started from a tracked cell (`launched_from`: the run active where the job was
    started, since the job's own thread has none), is that cell's child and takes its context
    (notebook, cell, code, environment, git) as a trial takes its parent's, so its own trials
    have one to inherit."""
    if not background:
        return TrackedRun(start_run(name=name, experiment=experiment, tags=tags,
                                    params=params, kind=kind))
    active = launched_from or CONTEXT.active
    enclosing = active if active is not None and active.recorded else None
    if enclosing is not None:
        inherit.expect_children(enclosing.id)
    job = open_light(
        kind,
        name=name,
        experiment=experiment or (active.experiment if active is not None else None),
        tags=tags,
        params=params,
        parent_id=None if enclosing is None else enclosing.id,
        push=False,
        **({} if enclosing is None else inherit.placement(enclosing)),
    )
    job.parent = enclosing
    return job


def open_trial(
    parent: TrackedRun,
    *,
    name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
    push: bool,
    kind: str = "trial",
) -> TrackedRun:
    """A trial: a child run of `parent`, in its parent's notebook cell and context. With
    `push`, `xt.log` inside the trial's code goes to it (it is the innermost active run until
    closed)."""
    if parent.recorded:
        inherit.expect_children(parent.id)
    trial = open_light(
        kind,
        name=name,
        experiment=parent.run.experiment,
        tags=tags,
        params=params,
        parent_id=parent.id or None,
        push=push,
        **inherit.placement(parent.run),
    )
    trial.parent = parent.run
    return trial


def open_light(
    kind: str,
    *,
    name: str | None,
    experiment: str | None,
    tags: Mapping[str, str],
    params: Mapping[str, Any],
    parent_id: str | None,
    push: bool,
    notebook_path: str | None = None,
    cell_id: str | None = None,
    run_id: str | None = None,
) -> TrackedRun:
    """A run opened with no capture: the cheap path for trials (`notebook_path` and
    `cell_id`: the cell it ran in, when known). A `run_id` that the caller derived (a
    trial on a worker) is opened without waiting for its creation: the writer makes it
    before any other write of it, and such a caller needs no run number."""
    try:
        run: ActiveRun = lifecycle.open_run(
            CONTEXT, name=name, experiment=experiment, tags=tags, parent_id=parent_id,
            kind=kind, push=push, notebook_path=notebook_path, cell_id=cell_id,
            create_wait=None if run_id is None else 0, run_id=run_id,
        )
    except lifecycle.CannotOpen as exc:  # the search goes on untracked
        CONTEXT.warn_once(
            "optimize-store",
            f"the run store {CONTEXT.describe_store()} cannot be used ({exc.cause}); the search "
            "runs but its trials are not recorded",
        )
        run = lifecycle.null_run(CONTEXT, name=name, experiment=experiment, tags=tags,
                                 parent_id=parent_id, kind=kind, push=push)
    if params:
        run.log_params(**params)
    return TrackedRun(run)


def as_status(value: str) -> Status:
    """`value` when it is a run status, else "failed" (a search never stores an unknown one)."""
    for status in STATUSES:
        if status == value:
            return status
    return "failed"
