"""Trials run away from the kernel: on a Dask worker (`run_trial`, sent by `dispatch`) or
in `xtrack worker` (`join`). The process writes its trial runs itself, into the run store
the kernel uses (its folder or URL, from the plan), and talks to the sweep only through the
shared study storage and the sweep run's tags: intermediate values for the pruner,
`xtrack.sweep.state` and the job's cancel tag to stop.

A process that dies mid-trial leaves its trial running in the study; `mark_crashed` ends
it: the trial run reads `crashed`, the Optuna trial FAIL (user attr `xtrack_state`
"crashed"), and it does not count towards the sweep's trials. Whoever sees the death first
does it: the kernel when Dask reports the task lost, the task's retry on another worker,
or anyone's `reap_crashed` once the run store reads the run as crashed (its process gone
on this host, or its heartbeat stale elsewhere).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any

from ...facts import CANCEL_TAG
from ...store.liveness import STALE_HEARTBEAT_S, process_alive, this_host
from ...tracking.search_runs import open_light
from ...tracking.session import CONTEXT
from ..devices import torch_device
from ..pruners import make_pruner
from ..samplers import make_sampler
from .attempt import attempt
from .result import RUN_ATTR, STATE_ATTR, SURPLUS, TrialRecord
from .storage import open_storage, store_location

if TYPE_CHECKING:
    import optuna

    from .plan import SweepPlan

STOP_POLL_S = 0.5  # how often a worker reads whether its sweep was stopped
WORKER_TAG = "xtrack.worker"  # the trial run's tag: the worker that ran it
ASKED_ATTR = "xtrack_asked_by"  # the `xtrack worker` that asked for the trial
# Trials that do not count towards the sweep's number: their work was lost or never done.
NOT_COUNTED = ("crashed", "interrupted", SURPLUS)

_lock = threading.Lock()
_attached: list[str] = []
_studies: dict[tuple[str, str, bool], optuna.Study] = {}
_signals: dict[str, StopSignal] = {}


def attach_store(location: str) -> None:
    """Make the run store at `location` this process's, once (a worker process serves one
    kernel's store; the kernel's own process already has it)."""
    with _lock:
        if _attached and _attached[0] == location:
            return
        try:
            current = store_location()
        except Exception:  # noqa: BLE001 - no default store here: open the kernel's
            current = None
        if current != location:
            CONTEXT.use_store(location)
        _attached[:] = [location]


def load_study(plan: SweepPlan, sampling: bool) -> optuna.Study:
    """The plan's study in this process (kept for the process): with its pruner, and its
    sampler when this process asks for trials (`sampling`), else a random one that never
    samples."""
    import optuna

    key = (plan.study_location, plan.study_name, sampling)
    with _lock:
        study = _studies.get(key)
        if study is None:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            # A joining process samples unseeded: a seed would repeat the kernel's draws.
            sampler = (
                make_sampler(plan.sampler, plan.space, None)
                if sampling
                else optuna.samplers.RandomSampler()
            )
            study = optuna.load_study(
                study_name=plan.study_name,
                storage=open_storage(plan.study_location),
                sampler=sampler,
                pruner=make_pruner(plan.pruner),
            )
            _studies[key] = study
        return study


class StopSignal:
    """Whether the sweep was stopped: its run's cancel tag (the sidebar's Stop), or its
    state no longer `running` (Ctrl-C in the kernel, too many failures, the end). Read from
    the run store at most every STOP_POLL_S; once stopped, stopped for good."""

    def __init__(self, parent_id: str) -> None:
        self.parent_id = parent_id
        self._next = 0.0
        self._stopped = False

    def __call__(self) -> bool:
        if self._stopped:
            return True
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + STOP_POLL_S
        try:
            store = CONTEXT.store()
            cancel = store.get_tag(self.parent_id, CANCEL_TAG)
            state = store.get_tag(self.parent_id, "xtrack.sweep.state")
        except Exception:  # noqa: BLE001 - a busy store: ask again later
            return False
        self._stopped = bool(cancel) or state not in (None, "running")
        return self._stopped


def stop_signal(parent_id: str) -> StopSignal:
    """The process's StopSignal for sweep run `parent_id` (one per sweep: its trials share
    the store reads)."""
    with _lock:
        signal = _signals.get(parent_id)
        if signal is None:
            signal = _signals[parent_id] = StopSignal(parent_id)
        return signal


def counts(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether `trial` counts towards the sweep's number of trials."""
    from optuna.trial import TrialState

    return trial.state != TrialState.WAITING and trial.user_attrs.get(STATE_ATTR) not in NOT_COUNTED


def claim(study: optuna.Study, plan: SweepPlan) -> optuna.Trial | None:
    """A new trial of the sweep, or None when it has its number. Optuna numbers trials in
    the order they are asked, so a trial asked while others were (another worker) is
    surplus when enough counted trials come before it: it is told FAIL and never run."""
    import optuna

    seen = study.get_trials(deepcopy=False)
    counted = sum(1 for t in seen if counts(t))
    if counted >= plan.trials:
        return None
    trial = study.ask(plan.distributions())
    # Trials asked meanwhile by other processes (numbered between) are taken to count.
    if counted + trial.number - len(seen) < plan.trials:
        return trial
    trial.set_user_attr(STATE_ATTR, SURPLUS)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return None


def run_trial(
    plan: SweepPlan, number: int, worker: str | None = None, trial: optuna.Trial | None = None
) -> dict[str, Any]:
    """Run trial `number` of the plan's sweep here, recorded as a child run of the sweep
    run, and return its record (`TrialRecord.as_dict`, plus `error` and `worker`). A trial
    already started once (its process died, Dask runs it again) is marked crashed instead."""
    import optuna

    attach_store(plan.store_location)
    CONTEXT.bind_thread_stack([])  # xt.log in the objective reaches this thread's trial
    study = load_study(plan, sampling=trial is not None)
    trial_id = _trial_id(study, number)
    if trial is None:
        trial = optuna.trial.Trial(study, trial_id)
    frozen = _storage(study).get_trial(trial_id)
    record = TrialRecord(
        number, "running", {**frozen.params, **plan.fixed()}, run_id=frozen.user_attrs.get(RUN_ATTR)
    )
    worker = worker or worker_name()
    stop = stop_signal(plan.parent_id)
    if frozen.state.is_finished():  # ended for it meanwhile (the sweep stopped)
        record.state = frozen.user_attrs.get(STATE_ATTR, "failed")
        return _out(record, worker)
    if RUN_ATTR in frozen.user_attrs:  # its run was opened: the attempt before died
        mark_crashed(study, frozen)
        record.state = "crashed"
        return _out(record, worker)
    if stop():
        interrupt(study, number)
        record.state = "interrupted"
        return _out(record, worker)
    tracked = open_light(
        "trial",
        name=f"trial {number}",
        experiment=plan.experiment,
        tags={
            "xtrack.trial.number": str(number),
            "xtrack.trial.state": "running",
            "xtrack.device": torch_device(),
            WORKER_TAG: worker,
        },
        params=record.params,
        parent_id=plan.parent_id,
        push=True,
        notebook_path=plan.notebook_path,
        cell_id=plan.cell_id,
    )
    record.run_id = tracked.id or None
    if tracked.id:
        trial.set_user_attr(RUN_ATTR, tracked.id)
    started = time.perf_counter()
    outcome = attempt(plan.objective, record.params, tracked, study, trial, plan.metric, stop)
    record.state, record.value = outcome.state, outcome.value
    record.duration_s = time.perf_counter() - started
    if outcome.error is not None and outcome.state == "failed":
        record.error = f"{type(outcome.error).__name__}: {outcome.error}"
    tracked.run.set_tags(**{"xtrack.trial.state": outcome.state})
    status = {"complete": "finished", "pruned": "finished"}.get(outcome.state, outcome.state)
    tracked.close(status, outcome.error)
    CONTEXT.flush()  # the kernel reads the trial's run as soon as this returns
    return _out(record, worker)


def mark_crashed(study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
    """End a trial whose process died: its run `crashed` (unless it ended), its Optuna
    trial FAIL, marked so that it does not count."""

    run_id = frozen.user_attrs.get(RUN_ATTR)
    if run_id:
        try:
            store = CONTEXT.store()
            if store.get_run(run_id)["status"] == "running":
                store.finish_run(run_id, status="crashed")
            store.set_tags(run_id, {"xtrack.trial.state": "crashed"})
        except Exception:  # noqa: BLE001 - the study is still told, the sweep goes on
            pass
    _end_as(study, frozen.number, "crashed")


def interrupt(study: optuna.Study, number: int) -> None:
    """End trial `number`, never run, as interrupted (it does not count)."""
    _end_as(study, number, "interrupted")


def fail(study: optuna.Study, number: int) -> None:
    """End trial `number` as failed (its task raised outside the objective)."""
    _end_as(study, number, "failed")


def _end_as(study: optuna.Study, number: int, state: str) -> None:
    from optuna.trial import TrialState

    try:
        _storage(study).set_trial_user_attr(_trial_id(study, number), STATE_ATTR, state)
        study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
    except Exception:  # noqa: BLE001 - its worker ended it meanwhile
        pass


def reap_crashed(study: optuna.Study, skip: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """Mark crashed the running trials (less `skip`) whose run the run store reads as
    crashed, or, killed before their run was written, whose `xtrack worker` process is gone;
    returns their numbers."""
    from optuna.trial import TrialState

    store = CONTEXT.store()
    dead = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.number in skip:
            continue
        run_id = t.user_attrs.get(RUN_ATTR)
        try:
            gone = store.get_run(run_id)["status"] == "crashed" if run_id else _owner_gone(t)
        except Exception:  # noqa: BLE001 - not written yet, or deleted: not ours to judge
            continue
        if gone:
            mark_crashed(study, t)
            dead.append(t.number)
    return dead


def _owner_gone(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether the `xtrack worker` that asked for `trial` is gone: on this host its process
    no longer runs; elsewhere the trial is older than the run store's heartbeat limit with
    no run. Trials the kernel sent to Dask have no such owner: Dask reports their loss."""
    owner = str(trial.user_attrs.get(ASKED_ATTR) or "")
    host, _, pid = owner.rpartition(":")
    if "://" in owner or not pid.isdigit():
        return False
    if host == this_host():
        return not process_alive(int(pid), None)
    started = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
    return time.time() - started > STALE_HEARTBEAT_S


def _trial_id(study: optuna.Study, number: int) -> int:
    """The storage's id of trial `number` (how another process reaches a trial it did not
    ask for)."""
    storage = _storage(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    return int(storage.get_trial_id_from_study_id_trial_number(study_id, number))


def _storage(study: optuna.Study) -> Any:
    return study._storage  # noqa: SLF001 - Optuna reaches a trial by id only through it


def worker_name() -> str:
    """This process as a worker: its Dask address, else host:pid."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{this_host()}:{os.getpid()}"


def _out(record: TrialRecord, worker: str) -> dict[str, Any]:
    return {**record.as_dict(), "error": record.error, "worker": worker}
