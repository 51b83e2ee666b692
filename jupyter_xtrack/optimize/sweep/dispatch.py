"""A sweep's trials on Dask workers (`workers=` / `--workers`): the kernel sends one long
task per worker thread (`remote.run_loop`), each of which asks the study for trials, runs
them as child runs of the sweep run and tells the study their outcomes, as plain Optuna's
distributed workers do. The kernel is on no trial's path: it only follows the study (every
FOLLOW_S) to keep the sweep's records, the sweep run and the live view current, ends the
trials of workers that died, and stops every worker when the sweep stops.

The sweep's plan (its objective cloudpickled) is stored with the sweep run, so `xtrack
worker SWEEP_ID` can join from any machine: it runs the same loop, its trials count
towards the same number, and the kernel waits for them before the sweep ends.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ...tracking import inherit
from ...tracking.session import CONTEXT
from ..cluster import dask_client
from ..jobs import JobCancelled
from .follow import FOLLOW_S, Follower
from .plan import SweepPlan, make_plan, store_plan
from .remote import counts, interrupt, reap_crashed, run_loop, stop_signal
from .result import ASKED_ATTR

if TYPE_CHECKING:
    import optuna

    from ...tracking.search_runs import TrackedRun
    from .loop import SweepLoop

REAP_S = 1.0  # how often the kernel looks for trials whose worker died
STOP_GRACE_S = 30.0  # how long a stopped sweep waits for running trials to reach a report


class WorkerTrials:
    """Runs a sweep's trials on Dask workers until it has its number, fails too often, or
    is stopped (Ctrl-C, the job's cancel, the live view's Stop)."""

    def __init__(self, loop: SweepLoop, study: optuna.Study, parent: TrackedRun) -> None:
        self.loop = loop
        self.study = study
        self.parent = parent
        self.loops: dict[Any, int] = {}  # the loop tasks in flight, by their slot
        self.follower = Follower(loop.records, parent.id)
        self.failures = 0  # loop tasks that raised
        self.started = 0  # loop tasks sent: the next one's slot (its key and its seed)
        self.next_reap = 0.0

    def run(self) -> str:
        """The sweep's end state: finished, failed (too many failed trials); raises
        KeyboardInterrupt or JobCancelled once the workers have stopped."""
        plan = make_plan(self.loop.cfg, self.study, self.parent, self.loop.objective.for_workers())
        CONTEXT.flush()  # the sweep run exists in the store before any worker writes a child
        store_plan(CONTEXT.store(), plan)
        inherit.expect_children(self.parent.id)
        client, close = dask_client(self.loop.cfg.workers)
        try:
            shipped = client.scatter(plan, broadcast=True, hash=False)
            try:
                return self._drive(client, shipped, plan)
            except (KeyboardInterrupt, JobCancelled):
                self._wind_down(client, plan)
                raise
        finally:
            close()

    def _drive(self, client: Any, shipped: Any, plan: SweepPlan) -> str:
        counted = sum(1 for t in self.study.get_trials(deepcopy=False) if counts(t))
        self._start_loops(client, shipped, plan, plan.trials - counted)
        while True:
            self._check_stop()
            trials = self.study.get_trials(deepcopy=False)
            if time.monotonic() >= self.next_reap:
                self.next_reap = time.monotonic() + REAP_S
                if self._reap(client, plan, trials):
                    trials = self.study.get_trials(deepcopy=False)
            self._report(self.follower.update(plan, trials), plan)
            if self.failures + self.follower.failed >= plan.max_failures:
                self._wind_down(client, plan)
                return "failed"
            for future in _wait(list(self.loops), FOLLOW_S, "FIRST_COMPLETED"):
                self._loop_ended(future)
            if not self.loops and self._ended(client, shipped, plan):
                self.follower.settle_runs()
                return "finished"

    def _start_loops(self, client: Any, shipped: Any, plan: SweepPlan, places: int) -> None:
        """One loop task per worker thread of the cluster, no more than the sweep's open
        `places` (each further loop would only ask for a surplus trial)."""
        for _ in range(max(1, min(places, sum(client.nthreads().values())))):
            slot = self.started
            self.started += 1
            key = f"xtrack-sweep-{plan.parent_id}-{slot}"
            future = client.submit(run_loop, shipped, slot, pure=False, key=key)
            self.loops[future] = slot

    def _loop_ended(self, future: Any) -> None:
        """A loop task ended. One that raised (its worker could not reach the store or the
        study, or Dask gave up on it) counts as a failure: a sweep whose every loop fails
        stops at max_failures instead of starting loops for ever."""
        self.loops.pop(future)
        if future.status != "finished":
            self.failures += 1

    def _ended(self, client: Any, shipped: Any, plan: SweepPlan) -> bool:
        """With no loop running: True when the sweep is over (its number reached, its time
        up, and no joined worker's trial still running); else loops start again, when
        trials that crashed freed places."""
        from optuna.trial import TrialState

        self._reap(client, plan, self.study.get_trials(deepcopy=False), orphans=True)
        trials = self.study.get_trials(deepcopy=False)
        self._report(self.follower.update(plan, trials), plan)
        if self.failures + self.follower.failed >= plan.max_failures:
            return False  # the sweep failed: the next round says so
        running = sum(1 for t in trials if t.state == TrialState.RUNNING)
        counted = sum(1 for t in trials if counts(t))
        if counted < plan.trials and (plan.deadline is None or time.time() < plan.deadline):
            self._start_loops(client, shipped, plan, plan.trials - counted)
            return False
        if running:  # a joined worker's trials (counted): wait for them
            time.sleep(FOLLOW_S)
            return False
        return True

    def _report(self, changed: bool, plan: SweepPlan) -> None:
        """The live view and the sweep run's progress, when the trials changed."""
        if changed:
            self.loop.show()
            self.loop.report_progress(self.parent, plan.trials)

    def _reap(self, client: Any, plan: SweepPlan, trials: list[Any], orphans: bool = False) -> bool:
        """End the trials (as just read) whose worker died (`remote.reap_crashed`); with
        `orphans` (no loop running), also those a Dask worker asked for: no loop will end
        them now. Whether any was."""
        live: set[str] | None = set()
        if not orphans:
            try:
                live = set(client.scheduler_info()["workers"])
            except Exception:  # noqa: BLE001 - the scheduler is busy: the run store tells
                live = None
        return bool(reap_crashed(self.study, plan, live, trials))

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

    def _wind_down(self, client: Any, plan: SweepPlan) -> None:
        """Stop every worker: the sweep's state says so (workers read it before each trial
        and at every report), and running trials get STOP_GRACE_S to reach their next
        report and end as interrupted. A trial still running then ends as interrupted."""
        try:
            CONTEXT.store().set_tags(self.parent.id, {"xtrack.sweep.state": "stopping"})
        except Exception:  # noqa: BLE001 - the store is gone: the workers end their trials
            pass
        if self.loops:
            try:
                _wait(list(self.loops), STOP_GRACE_S, "ALL_COMPLETED")
            except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
                pass
            for future in self.loops:
                future.cancel()
            self.loops.clear()
        self._mark_interrupted(plan)

    def _mark_interrupted(self, plan: SweepPlan) -> None:
        """Trials of Dask workers left running (their loop did not end in time) end as
        interrupted in the study; the records show how every trial ended."""
        from optuna.trial import TrialState

        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if "://" in str(t.user_attrs.get(ASKED_ATTR) or ""):
                interrupt(self.study, t.number)
        self.follower.update(plan, self.study.get_trials(deepcopy=False))
        self.follower.settle_runs()


def _wait(futures: list[Any], timeout: float, until: str) -> set[Any]:
    """The futures done within `timeout` (Dask's wait raises TimeoutError instead)."""
    from distributed import wait

    if not futures:
        time.sleep(timeout)
        return set()
    try:
        return set(wait(futures, timeout=timeout, return_when=until).done)
    except TimeoutError:
        return {f for f in futures if f.done()}
