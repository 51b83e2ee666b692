"""One trial's objective run inside its tracked run, wherever it runs (the kernel, a Dask
worker, `xtrack worker`): the pruner fed from `xt.log`, the outcome told to the study."""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..jobs import JobCancelled
from .objective import Objective, objective_value
from .result import STATE_ATTR

if TYPE_CHECKING:
    import optuna

    from ...tracking.search_runs import TrackedRun


@dataclass
class Outcome:
    """How a trial ended: complete, pruned, failed or interrupted; its value and error."""

    state: str
    value: float | None = None
    error: BaseException | None = None


def attempt(
    objective: Objective,
    params: dict[str, Any],
    tracked: TrackedRun,
    study: optuna.Study,
    trial: optuna.Trial,
    metric: str | None,
    stop: Callable[[], bool],
    guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Outcome:
    """Run the objective as `tracked`, tell `study` how `trial` ended and return it (a trial
    that the sweep ended meanwhile keeps that end). `stop`
    is asked at every `xt.log`: True ends the trial there as interrupted. `guard` wraps the
    objective's call (a job marks the time in which it may be interrupted)."""
    import optuna

    run = tracked.run
    run.on_log = reporter(trial, metric, stop)
    try:
        with guard():
            returned = objective.call(params)
        run.on_log = None
        value = objective_value(returned, tracked, metric, objective)
    except optuna.TrialPruned:
        tell(study, trial, state=optuna.trial.TrialState.PRUNED)
        return Outcome("pruned", None if metric is None else run.metrics.get(metric))
    except (KeyboardInterrupt, JobCancelled) as exc:
        _fail(study, trial, "interrupted")
        return Outcome("interrupted", error=exc)
    except Exception as exc:  # noqa: BLE001 - a failing trial is recorded; the sweep goes on
        _fail(study, trial, "failed")
        return Outcome("failed", error=exc)
    finally:
        run.on_log = None
    tell(study, trial, value)
    if metric is None or metric not in run.metrics:
        run.log(None, **{metric or "objective": value})
    return Outcome("complete", value)


def _fail(study: optuna.Study, trial: optuna.Trial, state: str) -> None:
    import optuna

    try:
        trial.set_user_attr(STATE_ATTR, state)
    except Exception:  # noqa: BLE001 - already ended for it (a stopped sweep): keep that
        return
    tell(study, trial, state=optuna.trial.TrialState.FAIL)


def tell(
    study: optuna.Study,
    trial: optuna.Trial,
    value: float | None = None,
    state: optuna.trial.TrialState | None = None,
) -> None:
    """`study.tell(trial, value, state, skip_if_finished=True)` as `study.optimize` tells
    its own trials: without reading the finished trial back from the storage to return a
    copy of it (on a database, a query per table of the trial: an eighth of a trivial
    trial's time on PostgreSQL, in a profile of a Dask worker)."""
    try:
        from optuna.study._tell import _tell_with_warning
    except ImportError:  # another Optuna: its public call
        study.tell(trial, value, state=state, skip_if_finished=True)
        return
    _tell_with_warning(
        study=study, trial=trial, value_or_values=value, state=state, skip_if_finished=True
    )


def reporter(
    trial: optuna.Trial, metric: str | None, stop: Callable[[], bool]
) -> Callable[[Any, dict[str, Any], int | None], None]:
    """The trial run's on_log hook: feeds the pruner (intermediate values go to the study's
    storage, so pruners compare trials of every worker), stops a pruned trial right there,
    and a trial of a stopped sweep too."""
    import optuna

    steps = {"n": 0}  # the next step when xt.log gives none: one after the last

    def on_log(run: Any, metrics: dict[str, Any], step: int | None) -> None:
        if stop():
            raise JobCancelled()
        if metric is None or metric not in metrics:
            return
        try:
            value = float(metrics[metric])
        except (TypeError, ValueError):
            return
        if not math.isfinite(value):
            return
        at = steps["n"] if step is None else int(step)
        steps["n"] = at + 1
        trial.report(value, at)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {at} ({metric}={value:.6g})")

    return on_log
