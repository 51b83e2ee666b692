"""What runs on a Dask worker: one candidate's cross-validation at one rung of successive
halving, on the search's `FoldData` (shipped to each worker once), and where it ran.

The unit sent to a worker is a candidate's rung with all its folds, not a single fold: the
search's decisions (prune or promote, ask the next candidate) need the whole rung's score,
folds of one rung share the worker's copy of the data and the per-fold budget check of the
in-kernel loop, and one round trip per rung keeps the scheduler's overhead small next to a
fit. Workers run many candidates at once instead.

The worker records nothing: it returns its folds' results and the kernel writes the child
run (see `workers`). The kernel may reach a store (a local SQLite folder) that a worker on
another machine cannot, a worker that dies cannot leave a half-written run, and every run
of a search goes through the one lifecycle (its parent's context, its job's state).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

from ..devices import torch_device
from ..models import Family, families
from .budget import Budget, OutOfTime
from .evaluation import FoldData, FoldResults, cross_validate

STOP_POLL_S = 0.5  # how often a running candidate asks whether the kernel stopped the search


class SearchStopped(Exception):  # noqa: N818 - named for what happened, like OutOfTime
    """The kernel stopped the search (Stop, Ctrl-C, the budget's end): the folds left of
    this candidate are not fitted."""


@dataclass(frozen=True)
class CandidateTask:
    """One candidate's rung, as sent to a worker."""

    family: str
    params: dict[str, Any]
    task: str  # binary | multiclass | regression
    fraction: float  # of each fold's training rows (the rung)
    rung: int
    final: bool  # the last rung: fold models and out-of-fold predictions come back
    deadline: float  # the search's end on the wall clock (time.time()), shared across hosts
    budget_s: float
    reserve_s: float  # seconds the kernel keeps back for the final model, when sent
    stop: str  # the name of the distributed.Event the kernel sets to stop the search


@dataclass(frozen=True)
class Placement:
    """Which worker evaluated a rung, and when it began (wall clock)."""

    worker: str  # the worker's address, e.g. tcp://10.0.0.5:40331
    host: str
    pid: int
    started: float

    def tags(self) -> dict[str, str]:
        """The candidate run's tags that say where it ran."""
        return {
            "xtrack.worker": self.worker,
            "xtrack.worker.host": self.host,
            "xtrack.worker.pid": str(self.pid),
            "xtrack.worker.started_at": f"{self.started:.3f}",
        }


@dataclass
class WorkerOutcome:
    """A rung evaluated on a worker, where, and on which device. `results` is None when the
    budget ran out (or the search was stopped) before its folds were done: a normal end,
    returned rather than raised so workers do not log it as a failed task."""

    results: FoldResults | None
    device: str
    where: Placement


def evaluate_candidate(data: FoldData, task: CandidateTask) -> WorkerOutcome:
    """Cross-validate `task`'s candidate on `data` on this worker (the same fold loop as the
    kernel's), stopping when the budget would not hold or the kernel stops the search.
    Single-threaded: a worker runs as many candidates at once as it has threads, so each
    fit uses one. What the candidate raises is raised, with a note naming the worker and the
    `Placement` as its `xtrack_worker` attribute."""
    from distributed import get_worker

    where = Placement(get_worker().address, socket.gethostname(), os.getpid(), time.time())
    device = "cpu"
    try:
        if where.started < task.deadline:
            fam = _family(task.family, task.task, len(data.X))
            if fam.uses_device:
                device = torch_device(load_torch=fam.name == "mlp")
            return WorkerOutcome(_folds(data, task, fam, device, where.started), device, where)
    except (OutOfTime, SearchStopped):
        pass
    except Exception as exc:
        exc.add_note(f"on Dask worker {where.worker} (host {where.host}, pid {where.pid})")
        with contextlib.suppress(AttributeError):  # an exception with __slots__ goes without
            exc.xtrack_worker = where  # type: ignore[attr-defined]
        raise
    return WorkerOutcome(None, device, where)


def _folds(
    data: FoldData, task: CandidateTask, fam: Family, device: str, started: float
) -> FoldResults:
    from distributed import Event

    # The deadline comes as wall-clock time (the kernel's monotonic clock means nothing
    # here); the budget runs on this process's monotonic clock from now on.
    deadline = time.monotonic() + task.deadline - started
    budget = Budget(task.budget_s, deadline - task.budget_s)
    stop = Event(task.stop)
    asked = [time.monotonic()]

    def check() -> None:
        # Each look is a round trip to the scheduler: at most one per STOP_POLL_S, so fast
        # folds do not pay it every time (the kernel has cancelled the task already).
        now = time.monotonic()
        if now - asked[0] >= STOP_POLL_S:
            asked[0] = now
            if stop.is_set():
                raise SearchStopped()

    results = cross_validate(
        data,
        lambda: fam.build(task.params, task.task, data.seed, device),
        scale=fam.scale,
        fraction=task.fraction,
        rung=task.rung,
        device=device,
        threads=1,
        budget=budget,
        reserve=lambda: task.reserve_s,
        control=None,
        check=check,
        on_fold=lambda i, score, results: None,
    )
    if not task.final:  # lower rungs are judged by their scores only: ship no models back
        results.oof, results.models = None, []
    return results


def warm_up(data: FoldData, task: str) -> int:
    """Import what candidates need on this worker (scikit-learn and every family's library,
    seconds of CPU in a fresh process) and load the search's data, while the kernel runs
    the baselines; the first candidates' costs then measure their fits, not the imports."""
    from .evaluation import make_pipeline

    fams = families(task, len(data.X))
    make_pipeline(data.kinds, None, scale=True)
    return len(fams)


def _family(name: str, task: str, n_rows: int) -> Family:
    found = families(task, n_rows, [name])
    if not found:
        raise RuntimeError(
            f"model family {name!r} is not available on this worker "
            "(its library is not installed there)"
        )
    return found[0]
