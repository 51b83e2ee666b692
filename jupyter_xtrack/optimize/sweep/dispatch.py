"""A sweep's trials on Dask workers (`workers=` / `--workers`): the kernel asks the study
for trials and sends each to a worker (`remote.run_trial`), which records it as a child run
of the sweep run and tells the study its outcome; the kernel follows the outcomes, keeps
the sweep run and the live view current, and stops every worker when the sweep stops.

The sweep's plan (its objective cloudpickled) is stored with the sweep run, so `xtrack
worker SWEEP_ID` can join from any machine: its trials count towards the same number, and
the kernel waits for them before the sweep ends.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ...tracking import inherit
from ...tracking.session import CONTEXT
from ..cluster import dask_client
from ..jobs import JobCancelled
from .plan import SweepPlan, store_plan
from .remote import (
    ASKED_ATTR,
    claim,
    fail,
    interrupt,
    mark_crashed,
    reap_crashed,
    run_trial,
    stop_signal,
)
from .result import RUN_ATTR, TrialRecord, record_of
from .storage import store_location, study_location

if TYPE_CHECKING:
    import optuna

    from ...tracking.search_runs import TrackedRun
    from .loop import SweepLoop

WAIT_S = 0.5  # how long the kernel waits for an outcome before it checks for a stop
STOP_GRACE_S = 30.0
REAP_S = 2.0  # how often the kernel looks for trials of `xtrack worker`s that died  # how long a stopped sweep waits for running trials to reach a report


class WorkerTrials:
    """Runs a sweep's trials on Dask workers until it has its number, fails too often, or
    is stopped (Ctrl-C, the job's cancel, the live view's Stop)."""

    def __init__(self, loop: SweepLoop, study: optuna.Study, parent: TrackedRun) -> None:
        self.loop = loop
        self.study = study
        self.parent = parent
        self.in_flight: dict[Any, int] = {}
        self.by_number: dict[int, TrialRecord] = {r.number: r for r in loop.records}
        self.failures = 0
        self.next_reap = 0.0

    def run(self) -> str:
        """The sweep's end state: finished, failed (too many failed trials); raises
        KeyboardInterrupt or JobCancelled once the workers have stopped."""
        plan = self._plan()
        CONTEXT.flush()  # the sweep run exists in the store before any worker writes a child
        store_plan(CONTEXT.store(), plan)
        inherit.expect_children(self.parent.id)
        client, close = dask_client(self.loop.cfg.workers)
        try:
            shipped = client.scatter(plan, broadcast=True, hash=False)
            try:
                return self._drive(client, shipped, plan)
            except (KeyboardInterrupt, JobCancelled):
                self._wind_down(client)
                raise
        finally:
            close()

    def _plan(self) -> SweepPlan:
        cfg, parent = self.loop.cfg, self.parent
        return SweepPlan(
            study_name=self.study.study_name,
            study_location=study_location(cfg.storage),
            store_location=store_location(),
            parent_id=parent.id,
            notebook_path=parent.run.notebook_path,
            cell_id=parent.run.cell_id,
            experiment=parent.run.experiment,
            metric=cfg.metric,
            sampler=cfg.sampler,
            pruner=cfg.pruner,
            trials=cfg.trial_limit(),
            max_failures=cfg.max_failures,
            space=cfg.space,
            objective=self.loop.objective.for_workers(),
        )

    def _drive(self, client: Any, shipped: Any, plan: SweepPlan) -> str:
        cfg = self.loop.cfg
        slots = 2 * max(1, sum(client.nthreads().values()))  # a trial waiting on each thread
        deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
        while True:
            self._check_stop()
            # Asked again after each outcome: a trial that crashed frees its place.
            asking = deadline is None or time.monotonic() < deadline
            while asking and len(self.in_flight) < slots:
                trial = claim(self.study, plan)
                if trial is None:
                    break
                self._track(trial.number, {**trial.params, **plan.fixed()})
                future = client.submit(
                    run_trial,
                    shipped,
                    trial.number,
                    pure=False,
                    key=f"xtrack-trial-{plan.study_name}-{trial.number}",
                )
                self.in_flight[future] = trial.number
            if time.monotonic() >= self.next_reap:  # a joined worker that died
                self.next_reap = time.monotonic() + REAP_S
                reap_crashed(self.study, skip=set(self.in_flight.values()))
            if not self.in_flight:
                if not self._others_running():
                    return "finished"
                time.sleep(WAIT_S)
                continue
            done = _wait(list(self.in_flight), WAIT_S, "FIRST_COMPLETED")
            for future in done:
                self._settle(future, self.in_flight.pop(future))
                if self.failures >= cfg.max_failures:
                    self._wind_down(client)
                    return "failed"
            if done:
                self.loop.report_progress(self.parent, plan.trials)

    def _check_stop(self) -> None:
        """Raise when the sweep was stopped: its job cancelled, its view's Stop pressed, or
        its run's cancel tag set (the sidebar's Stop: a job's watcher reads it for the job; for a
        sweep in the foreground it is read here, as the workers read it)."""
        control, view = self.loop.control, self.loop.view
        if control is not None:
            control.check()
        if view is not None and getattr(view, "stop_requested", False):
            raise KeyboardInterrupt
        if control is None and stop_signal(self.parent.id)():  # a job's watcher reads it
            raise KeyboardInterrupt

    def _track(self, number: int, params: dict[str, Any]) -> TrialRecord:
        record = TrialRecord(number, "running", params)
        self.loop.records.append(record)
        self.by_number[number] = record
        self.loop.show()
        return record

    def _settle(self, future: Any, number: int) -> None:
        """Record a trial's outcome. A task lost with its worker (Dask gave up retrying it)
        marks its trial crashed; a task that raised outside the objective (the worker could
        not reach the store or the study) marks it failed. Both count as failures, so a
        sweep whose every trial kills its worker stops at max_failures."""
        record = self.by_number[number]
        if future.status == "finished":
            out = future.result()
            record.state, record.value = out["state"], out["value"]
            record.duration_s, record.run_id, record.error = (
                out["duration_s"],
                out["run_id"],
                out["error"],
            )
        else:
            trial = self.study.get_trials(deepcopy=False)[number]
            error = None if future.status == "cancelled" else future.exception()
            if _lost_worker(error):
                mark_crashed(self.study, trial)
                record.state = "crashed"
            else:
                fail(self.study, number)
                record.state, record.error = "failed", f"{type(error).__name__}: {error}"
            record.run_id = trial.user_attrs.get(RUN_ATTR)
        if record.state in ("failed", "crashed"):
            self.failures += 1
        if record.run_id:
            self._adopt(record.run_id)
        self.loop.show()

    def _adopt(self, run_id: str) -> None:
        """A trial written by a worker takes its parent's context as a local trial does:
        now if it is known, else when the sweep run's facts are stored."""
        facts = inherit.context_for(self.parent.id, run_id, {})
        if facts:
            CONTEXT.writer().submit(lambda s: s.set_facts(run_id, **facts))

    def _others_running(self) -> bool:
        """Whether trials of other processes (`xtrack worker`) still run, or some just
        crashed (their places are to be filled); adopts those that ended."""
        from optuna.trial import TrialState

        if reap_crashed(self.study):
            return True  # their places are free again: ask for trials to take them
        running = False
        for t in self.study.get_trials(deepcopy=False):
            if t.state == TrialState.RUNNING:
                running = True
            elif t.number not in self.by_number and (record := record_of(t)) is not None:
                self.loop.records.append(record)
                self.by_number[t.number] = record
                if record.run_id:
                    self._adopt(record.run_id)
        return running

    def _wind_down(self, client: Any) -> None:
        """Stop every worker: the sweep's state says so (workers read it before each trial
        and at every report), trials not started yet are dropped, and running ones get
        STOP_GRACE_S to reach their next report and end as interrupted."""
        try:
            CONTEXT.store().set_tags(self.parent.id, {"xtrack.sweep.state": "stopping"})
        except Exception:  # noqa: BLE001 - the store is gone: the workers end their trials
            pass
        if self.in_flight:
            try:
                done = _wait(list(self.in_flight), STOP_GRACE_S, "ALL_COMPLETED")
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                done = set()
            for future in done:
                self._settle(future, self.in_flight.pop(future))
            for future in self.in_flight:
                future.cancel()
            self.in_flight.clear()
        self._mark_interrupted()

    def _mark_interrupted(self) -> None:
        """Trials asked but never started (their task dropped, or the stop came between
        the ask and the send) end as interrupted in the study; the records show how every
        trial ended."""
        from optuna.trial import TrialState

        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if RUN_ATTR not in t.user_attrs and ASKED_ATTR not in t.user_attrs:
                interrupt(self.study, t.number)
        trials = self.study.get_trials(deepcopy=False)
        for number, record in self.by_number.items():
            ended = record_of(trials[number]) if record.state == "running" else None
            if ended is not None:
                record.state, record.value = ended.state, ended.value


def _wait(futures: list[Any], timeout: float, until: str) -> set[Any]:
    """The futures done within `timeout` (Dask's wait raises TimeoutError instead)."""
    from distributed import wait

    try:
        return set(wait(futures, timeout=timeout, return_when=until).done)
    except TimeoutError:
        return {f for f in futures if f.done()}


def _lost_worker(error: BaseException | None) -> bool:
    """Whether a task's error says its worker died under it."""
    from distributed import KilledWorker
    from distributed.comm.core import CommClosedError

    return isinstance(error, (KilledWorker, CommClosedError))
