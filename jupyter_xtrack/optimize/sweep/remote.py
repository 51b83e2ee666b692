"""Trials run away from the kernel: on a Dask worker (`run_loop`, one task per worker
thread, sent by `dispatch`) or in `xtrack worker` (`join`). Both run the same loop
(`run_trials`): ask the shared study for a trial, run it, tell it, again, until the sweep
has its number, its time is up, it is stopped, or this loop failed too often; as plain
Optuna's distributed workers do, so that the kernel is on no trial's path. The process
writes its trial runs itself, into the run store the kernel uses (its folder or URL, from
the plan), in the background (its writer is flushed once, when the loop ends), and talks to
the sweep only through the shared study storage and the sweep run's tags: intermediate
values for the pruner, `xtrack.sweep.state` and the job's cancel tag to stop.

Per trial, the study gets what plain Optuna writes (the trial, its params, its end) and who
asked for it (`ASKED_ATTR`): in a journal within the trial's creation, in a database in a
write of its own, outside the study's lock that creations queue for. Its run's id is derived
from the study's run key and the trial's number (`result.trial_run_id`), never written.

A process that dies mid-trial leaves its trial running in the study; `mark_crashed` ends
it: the trial run reads `crashed`, the Optuna trial FAIL (user attr `xtrack_state`
"crashed"), and it does not count towards the sweep's trials. Whoever sees the death first
does it (`reap_crashed`): the kernel once its owner is no longer among the Dask
scheduler's workers, or anyone once the run store reads the run as crashed (its process
gone on this host, or its heartbeat stale elsewhere) or the `xtrack worker` that asked for
it is gone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...facts import CANCEL_TAG
from ...store.liveness import STALE_HEARTBEAT_S, process_alive, this_host
from ...store.location import ARTIFACTS_ENV_VAR
from ...tracking.search_runs import open_light
from ...tracking.session import CONTEXT
from ..devices import torch_device
from ..pruners import make_pruner
from ..samplers import make_sampler
from .attempt import attempt
from .result import ASKED_ATTR, RUN_ATTR, STATE_ATTR, SURPLUS, TrialRecord, run_of, trial_run_id
from .storage import open_storage, store_location

if TYPE_CHECKING:
    import optuna

    from ...store.contract import RunStore
    from .plan import SweepPlan

STOP_POLL_S = 0.5  # how often a worker reads whether its sweep was stopped
REAP_S = 2.0  # how often `xtrack worker` looks for trials of dead workers to end
WORKER_TAG = "xtrack.worker"  # the trial run's tag: the worker that ran it
# Trials that do not count towards the sweep's number: their work was lost or never done.
NOT_COUNTED = ("crashed", "interrupted", SURPLUS)

_lock = threading.Lock()
_attached: list[str] = []
_studies: dict[tuple[str, str, int | None], optuna.Study] = {}
_signals: dict[str, StopSignal] = {}


def attach_store(location: str, artifacts: str | None = None) -> None:
    """Make the run store at `location` this process's, once (a worker process serves one
    kernel's store; the kernel's own process already has it), its blobs at `artifacts`
    when the kernel keeps them apart (the kernel's XTRACK_ARTIFACTS, not this process's)."""
    with _lock:
        if artifacts:
            os.environ[ARTIFACTS_ENV_VAR] = artifacts
        if _attached and _attached[0] == location:
            return
        try:
            current = store_location()
        except Exception:  # noqa: BLE001 - no default store here: open the kernel's
            current = None
        if current != location:
            CONTEXT.use_store(location)
        _attached[:] = [location]


def load_study(plan: SweepPlan, seed: int | None = None) -> optuna.Study:
    """The plan's study in this process (kept for the process), with its sampler (seeded
    with `seed`: each loop its own, or one seed would make every loop draw the same params)
    and pruner."""
    import optuna

    key = (plan.study_location, plan.study_name, seed)
    with _lock:
        study = _studies.get(key)
        if study is None:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            study = optuna.load_study(
                study_name=plan.study_name,
                storage=open_storage(plan.study_location),
                sampler=make_sampler(plan.sampler, plan.space, seed),
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


@dataclass
class LoopReport:
    """What one loop of trials did: its trials by outcome, and why it stopped."""

    sweep: str
    worker: str
    counts: dict[str, int] = field(default_factory=dict)
    reason: str = "the sweep has its trials"

    def add(self, state: str) -> None:
        self.counts[state] = self.counts.get(state, 0) + 1


def run_trials(
    plan: SweepPlan,
    worker: str | None = None,
    on_trial: Callable[[TrialRecord], None] | None = None,
    reap: bool = False,
    seed: int | None = None,
) -> LoopReport:
    """Ask for trials of the plan's sweep and run them here, one after the other, until it
    has its number, its time is up, it is stopped, or `plan.max_failures` of this loop's
    trials failed. `on_trial` hears of each trial's end; `reap` ends the trials of dead
    `xtrack worker`s first (the kernel does it for its Dask workers). Returns only once
    every run it wrote is in the store: the kernel ends the sweep after its loops end.
    `seed` seeds this loop's sampler."""
    attach_store(plan.store_location, plan.artifacts)
    CONTEXT.bind_thread_stack([])  # xt.log in the objective reaches this thread's trial
    study = load_study(plan, seed)
    stop = stop_signal(plan.parent_id)
    report = LoopReport(plan.study_name, worker or worker_name())
    claim = Claimer(study, plan, report.worker)
    failed, next_reap = 0, 0.0
    try:
        while True:
            if stop():
                report.reason = "the sweep was stopped"
                break
            if reap and time.monotonic() >= next_reap:
                next_reap = time.monotonic() + REAP_S
                reap_crashed(study, plan)
            trial = claim()
            if trial is None:
                if plan.deadline is not None and time.time() >= plan.deadline:
                    report.reason = "the sweep's time is up"
                break
            record = run_claimed(plan, study, trial, report.worker, stop)
            report.add(record.state)
            if on_trial is not None:
                on_trial(record)
            failed += record.state == "failed"
            if failed >= plan.max_failures:
                report.reason = f"{failed} of this worker's trials failed"
                break
    finally:
        CONTEXT.flush()
    return report


def run_loop(plan: SweepPlan, slot: int) -> dict[str, Any]:
    """The Dask task of one worker thread (`slot`, counted from 0 by the kernel, keeps the
    tasks apart and their samplers' seeds): `run_trials` with its report as a dict."""
    report = run_trials(plan, seed=None if plan.seed is None else plan.seed + slot)
    return {"slot": slot, "worker": report.worker, "counts": report.counts, "reason": report.reason}


class Claimer:
    """Asks the sweep's study for trials for one loop (`owner` asking). Optuna numbers
    trials in the order they are asked, so trial n has n trials before it, of which those
    that do not count (crashed, interrupted, surplus: `counts`) are known to this loop from
    its last read of the study. Trials only ever stop counting, so while n less those is
    under the sweep's number, n may run, with no read of the study; past it, the study is
    read to be sure. Near the end (the next number could be past it), the study is read
    before asking, so that a loop stops without a trial; one asked meanwhile by another
    loop with the sweep's number before it is surplus: told FAIL and never run."""

    def __init__(self, study: optuna.Study, plan: SweepPlan, owner: str) -> None:
        self.study = study
        self.plan = plan
        self.owner = owner
        self.uncounted = 0  # trials known not to count (a lower bound)
        self.last = -1  # the number of the last trial asked here

    def __call__(self) -> optuna.Trial | None:
        """A new trial of the sweep, or None when it has its number or its time is up."""
        plan = self.plan
        if plan.deadline is not None and time.time() >= plan.deadline:
            return None
        if self.last + 1 - self.uncounted >= plan.trials and not self._room_for(None):
            return None
        trial = self._create()
        self.last = trial.number
        if trial.number - self.uncounted >= plan.trials and not self._room_for(trial.number):
            _end_as(self.study, trial.number, SURPLUS)
            return None
        try:
            for name, distribution in plan.distributions().items():
                trial._suggest(name, distribution)  # noqa: SLF001 - as `Study.ask` does
        except BaseException:
            fail(self.study, trial.number)
            raise
        return trial

    def _create(self) -> optuna.Trial:
        """A new running trial with `owner` in its user attrs, as `Study.ask` creates one.

        In a journal the owner goes in the creation (Optuna's `create_new_trial` takes a
        template trial): one append. A database creates a trial holding its study's row
        lock, which every worker of the sweep waits for: a plain creation holds it for one
        pipelined transaction (`rdb.TeamRDBStorage`), a template would take Optuna's ORM
        path and its writes under the lock, so the owner is written just after, outside it. A trial whose loop died between the two has
        no owner and no run; `_died` ends it once it is older than a heartbeat."""
        import optuna

        study = self.study
        storage = _storage(study)
        # As `Study.ask` does: the samplers read the study's trials afresh for each trial.
        study._thread_local.cached_all_trials = None  # noqa: SLF001
        if _is_journal(storage):
            trial_id = storage.create_new_trial(study._study_id, template_trial=self._template())  # noqa: SLF001
        else:
            from optuna.trial import TrialState

            trial_id = storage.create_new_trial(study._study_id)  # noqa: SLF001
            try:
                storage.set_trial_user_attr(trial_id, ASKED_ATTR, self.owner)
            except BaseException:
                storage.set_trial_state_values(trial_id, TrialState.FAIL)
                raise
        return optuna.Trial(study, trial_id)

    def _template(self) -> optuna.trial.FrozenTrial:
        """A running trial asked by `owner`, for `create_new_trial`."""
        from datetime import datetime

        from optuna.trial import FrozenTrial, TrialState

        return FrozenTrial(
            number=-1,
            state=TrialState.RUNNING,
            value=None,
            datetime_start=datetime.now(),
            datetime_complete=None,
            params={},
            distributions={},
            user_attrs={ASKED_ATTR: self.owner},
            system_attrs={},
            intermediate_values={},
            trial_id=-1,
        )

    def _room_for(self, number: int | None) -> bool:
        """Whether fewer than the sweep's number of counted trials come before trial
        `number` (None: one asked now); trials running elsewhere are taken to count."""
        trials = self.study.get_trials(deepcopy=False)
        before = trials if number is None else [t for t in trials if t.number < number]
        self.uncounted = sum(1 for t in before if not counts(t))
        return len(before) - self.uncounted < self.plan.trials


def run_claimed(
    plan: SweepPlan, study: optuna.Study, trial: optuna.Trial, worker: str, stop: StopSignal
) -> TrialRecord:
    """Run `trial`, asked here, recorded as a child run of the sweep run (its id derived,
    its creation not waited for: the writer creates it before any other write of it), and
    return its record. Whatever goes wrong outside the objective ends the trial in the
    study as failed before it propagates, so no trial is left running for a live owner."""
    number = trial.number
    record = TrialRecord(number, "running", {**trial.params, **plan.fixed()})
    try:
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
            run_id=trial_run_id(plan.run_key, number),
        )
        record.run_id = tracked.id or None
        started = time.perf_counter()
        outcome = attempt(plan.objective, record.params, tracked, study, trial, plan.metric, stop)
        record.state, record.value = outcome.state, outcome.value
        record.duration_s = time.perf_counter() - started
        if outcome.error is not None and outcome.state == "failed":
            record.error = f"{type(outcome.error).__name__}: {outcome.error}"
        tracked.run.set_tags(**{"xtrack.trial.state": outcome.state})
        status = {"complete": "finished", "pruned": "finished"}.get(outcome.state, outcome.state)
        tracked.close(status, outcome.error)
    except BaseException:
        fail(study, number)
        raise
    return record


def mark_crashed(study: optuna.Study, frozen: optuna.trial.FrozenTrial, plan: SweepPlan) -> None:
    """End a trial whose process died: its run `crashed` (unless it ended; made so when its
    process died before its writer created it), its Optuna trial FAIL, marked so that it
    does not count."""
    run_id = run_of(frozen, plan.run_key)
    if run_id:
        try:
            _crash_run(CONTEXT.store(), run_id, frozen, plan)
        except Exception:  # noqa: BLE001 - the study is still told, the sweep goes on
            pass
    _end_as(study, frozen.number, "crashed")


def _crash_run(
    store: RunStore, run_id: str, frozen: optuna.trial.FrozenTrial, plan: SweepPlan
) -> None:
    from ...store.errors import UnknownRunError

    try:
        status = store.get_run(run_id)["status"]
    except UnknownRunError:
        owner = str(frozen.user_attrs.get(ASKED_ATTR) or "")
        store.create_run(
            run_id=run_id,
            name=f"trial {frozen.number}",
            experiment=plan.experiment,
            tags={"xtrack.trial.number": str(frozen.number), WORKER_TAG: owner},
            parent_id=plan.parent_id,
            kind="trial",
            notebook_path=plan.notebook_path,
            cell_id=plan.cell_id,
            started_at=_started(frozen),
        )
        store.set_params(run_id, {**frozen.params, **plan.fixed()})
        status = "running"
    if status == "running":
        store.finish_run(run_id, status="crashed")
    store.set_tags(run_id, {"xtrack.trial.state": "crashed"})


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


def reap_crashed(
    study: optuna.Study,
    plan: SweepPlan,
    live: Collection[str] | None = None,
    trials: Sequence[optuna.trial.FrozenTrial] | None = None,
) -> list[int]:
    """Mark crashed the running trials whose process died, and return their numbers: asked
    by a Dask worker no longer among `live` (the scheduler's workers, when known), or whose
    run the run store reads as crashed, or, not written yet, whose `xtrack worker` is gone.
    `trials`: the study's trials as just read (default: read now), read before `live`: a
    worker that asked for one was among the scheduler's workers by then."""
    from optuna.trial import TrialState

    if trials is None:
        trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    store = CONTEXT.store()
    dead = []
    for t in trials:
        if t.state == TrialState.RUNNING and _died(store, t, plan.run_key, live):
            mark_crashed(study, t, plan)
            dead.append(t.number)
    return dead


def _died(
    store: RunStore, trial: optuna.trial.FrozenTrial, run_key: str, live: Collection[str] | None
) -> bool:
    from ...store.errors import UnknownRunError

    owner = str(trial.user_attrs.get(ASKED_ATTR) or "")
    if not owner and RUN_ATTR not in trial.user_attrs:
        # Its loop died between creating it and saying whose it is (`Claimer._create`):
        # never run, no run written. A heartbeat's time leaves a live loop to finish.
        return time.time() - _started(trial) > STALE_HEARTBEAT_S
    if "://" in owner and live is not None and owner not in live:
        return True
    run_id = run_of(trial, run_key)
    if run_id:
        try:
            return bool(store.get_run(run_id)["status"] == "crashed")
        except UnknownRunError:
            pass  # not written yet: its owner tells
        except Exception:  # noqa: BLE001 - a busy store: not ours to judge now
            return False
    return _joiner_gone(owner, trial)


def _joiner_gone(owner: str, trial: optuna.trial.FrozenTrial) -> bool:
    """Whether the `xtrack worker` `owner` (host:pid) that asked for `trial` is gone: on
    this host its process no longer runs; elsewhere the trial is older than the run store's
    heartbeat limit with no run. Dask workers' trials are judged by the scheduler."""
    host, _, pid = owner.rpartition(":")
    if "://" in owner or not pid.isdigit():
        return False
    if host == this_host():
        return not process_alive(int(pid), None)
    return time.time() - _started(trial) > STALE_HEARTBEAT_S


def _started(trial: optuna.trial.FrozenTrial) -> float:
    return trial.datetime_start.timestamp() if trial.datetime_start else time.time()


def _trial_id(study: optuna.Study, number: int) -> int:
    """The storage's id of trial `number` (how another process reaches a trial it did not
    ask for)."""
    storage = _storage(study)
    return int(storage.get_trial_id_from_study_id_trial_number(study._study_id, number))  # noqa: SLF001


def _storage(study: optuna.Study) -> Any:
    return study._storage  # noqa: SLF001 - Optuna reaches a trial by id only through it


def _is_journal(storage: Any) -> bool:
    from optuna.storages import JournalStorage

    return isinstance(storage, JournalStorage)


def worker_name() -> str:
    """This process as a worker: its Dask address, else host:pid."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{this_host()}:{os.getpid()}"
