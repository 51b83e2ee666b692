"""The ask/tell loop: asks Optuna for params, runs the objective as a tracked trial, tells
Optuna the outcome, and keeps the parent run and the live view current."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...tracking.search_runs import TrackedRun, open_parent, open_trial
from ...tracking.session import CONTEXT
from ..devices import torch_device as visible_device
from ..jobs import JobCancelled, JobControl
from ..live import ProgressView, make_view
from ..pruners import make_pruner
from ..samplers import make_sampler, sampler_name
from .attempt import attempt
from .config import DEFAULT, SweepConfig, SweepError
from .follow import Follower
from .handover import HandOver
from .objective import Objective
from .result import RUN_ATTR, SweepResult, TrialRecord, best_value, records_from_study
from .storage import close_stale, open_storage, pick_study_name, storage_path, storage_tag

if TYPE_CHECKING:
    import optuna


class SweepLoop:
    """Runs one sweep to its end: asks Optuna for params, runs the objective as a tracked
    trial, tells Optuna the outcome, and keeps the parent run and the live view current."""

    def __init__(self, objective: Objective, cfg: SweepConfig, control: JobControl | None,
                 background: bool) -> None:
        self.objective = objective
        self.cfg = cfg
        self.control = control
        self.background = background
        self.records: list[TrialRecord] = []
        self.view: ProgressView | None = None
        # Trials go on the run stack so that `xt.log` inside the objective reaches them. A
        # background job may only do that on a run stack of its own thread's (when the
        # tracker offers one); else its objective's `xt.log` calls are not routed.
        self.push = not background or _own_thread_stack()
        self.follower: Follower  # the sweep's records, joiners' trials too (set by `_loop`)

    def run(self) -> SweepResult:
        import optuna

        cfg = self.cfg
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = open_storage(cfg.storage)
        study_name = pick_study_name(storage, cfg, self.objective)
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=make_sampler(cfg.sampler, cfg.space, cfg.seed),
            pruner=make_pruner(cfg.pruner),
            direction=cfg.direction,  # type: ignore[arg-type]
            load_if_exists=True,
        )
        if study.direction.name.lower() != cfg.direction:
            raise SweepError(
                f"sweep {study_name!r} was started to {study.direction.name.lower()}, and this "
                f"one would {cfg.direction_note()}; resume it with the same direction or give a "
                "new --name"
            )
        if cfg.metric is not None and "metric" not in study.user_attrs:
            study.set_user_attr("metric", cfg.metric)
        if "direction_source" not in study.user_attrs:
            study.set_user_attr("direction_source", cfg.direction_source)
        if cfg.direction_source == DEFAULT:
            CONTEXT.warn_once(f"sweep-direction:{cfg.metric}", f"sweep {study_name}: {cfg.direction_note()}")
        self.records = records_from_study(study)
        close_stale(study)
        parent = open_parent(
            "sweep",
            name=cfg.name or study_name,
            experiment=cfg.experiment,
            tags={**cfg.tags, "xtrack.sweep.study": study_name, "xtrack.sweep.state": "running",
                  "xtrack.sweep.direction": cfg.direction,
                  "xtrack.sweep.direction_source": cfg.direction_source,
                  **storage_tag(cfg.storage)},
            params={
                "sweep.space": cfg.space.describe(),
                "sweep.sampler": sampler_name(cfg.sampler, cfg.space),
                "sweep.pruner": cfg.pruner,
                "sweep.metric": cfg.metric,
                "sweep.direction": cfg.direction,
                "sweep.trials": cfg.trials,
            },
            background=self.background,
            launched_from=None if self.control is None else self.control.launched_from,
        )
        if self.control is not None:
            self.control.attach(parent, cfg.metric, cfg.direction)
        result = SweepResult(study_name, parent.id or None, cfg.metric, cfg.direction, "running",
                             self.records, storage_path(cfg.storage), cfg.sampler, study,
                             direction_source=cfg.direction_source)
        if cfg.show:
            self.view = make_view(f"sweep {study_name}: {cfg.direction_note()}", cfg.metric,
                                  cfg.direction)
            self.view.display()
            self.show()
        state = "finished"
        error: BaseException | None = None
        try:
            state = self._loop(study, parent) if cfg.workers is None else self._on_workers(study, parent)
        except KeyboardInterrupt as exc:
            state, error = "interrupted", exc
        except JobCancelled:
            state = "cancelled"
        result.state = state
        best = result.best
        tags = {"xtrack.sweep.state": state}
        if best is not None:
            tags["xtrack.sweep.best_trial"] = str(best.number)
            tags["xtrack.sweep.best_run"] = best.run_id or ""
        parent.run.set_tags(**tags)
        if self.view is not None:
            self.show()
            self.view.finish()
        status = {"finished": "finished", "failed": "failed"}.get(state, "interrupted")
        if state == "failed":
            error = SweepError(f"the sweep stopped after {cfg.max_failures} failed trials")
        parent.close(status, error)
        return result

    def _loop(self, study: optuna.Study, parent: TrackedRun) -> str:
        self.follower = Follower(self.records, parent.id)
        join = HandOver(self.cfg, self.objective, study, parent, self.follower)
        try:
            state = self._trials(study, parent, join)
        except _Stopped:
            state = "interrupted"
        except BaseException:
            if join.joined:  # the joiners stop once the sweep run says so: no wait for them
                self.follower.settle_runs(wait=False)
            raise
        if join.joined:
            self.follower.settle_runs(wait=state != "interrupted")
        return state

    def _trials(self, study: optuna.Study, parent: TrackedRun, join: HandOver) -> str:
        """Run trials in the kernel until the sweep has its number (with the trials of the
        `xtrack worker`s that joined it, once one did), its time is up, or too many failed."""
        cfg = self.cfg
        distributions = cfg.space.distributions()
        fixed = dict(cfg.space.fixed)
        limit = cfg.trial_limit()
        failures = 0
        deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
        device = visible_device()
        while failures + self.follower.failed < cfg.max_failures:
            self._check_stop()
            if deadline is not None and time.monotonic() >= deadline:
                return "finished"
            join.poll()
            if join.claim is not None:  # joined: the study counts every process's trials
                trial = join.claim()
                if trial is None:
                    if join.wait_for_joiners(self._check_stop, lambda: self._shown(parent, limit)):
                        break
                    continue
            elif sum(1 for r in self.records if r.state != "interrupted") >= limit:
                return "finished"
            else:
                trial = study.ask(distributions)
            failures += self._one_trial(study, parent, trial, fixed, device) == "failed"
            if join.follow():
                self.show()
            self.report_progress(parent, limit)
        return "failed" if failures + self.follower.failed >= cfg.max_failures else "finished"

    def _check_stop(self) -> None:
        """Raise when the sweep was stopped: its job cancelled (JobCancelled), or its live
        view's Stop pressed."""
        if self.control is not None:
            self.control.check()
        if self.view is not None and getattr(self.view, "stop_requested", False):
            raise _Stopped

    def _shown(self, parent: TrackedRun, total: int) -> None:
        self.show()
        self.report_progress(parent, total)

    def _on_workers(self, study: optuna.Study, parent: TrackedRun) -> str:
        from .dispatch import WorkerTrials  # lazy: distributed loads only for workers

        return WorkerTrials(self, study, parent).run()

    def _one_trial(self, study: optuna.Study, parent: TrackedRun, trial: optuna.Trial,
                   fixed: dict[str, Any], device: str) -> str:
        cfg = self.cfg
        params = {**trial.params, **fixed}
        tracked = open_trial(
            parent,
            name=f"trial {trial.number}",
            params=params,
            tags={
                "xtrack.trial.number": str(trial.number),
                "xtrack.trial.state": "running",
                "xtrack.device": device,
            },
            push=self.push,
        )
        if tracked.id:
            trial.set_user_attr(RUN_ATTR, tracked.id)
        record = TrialRecord(trial.number, "running", params, run_id=tracked.id or None)
        self.follower.own(record)
        self.show()
        started = time.perf_counter()
        control = self.control
        outcome = attempt(self.objective, params, tracked, study, trial, cfg.metric,
                          stop=lambda: control is not None and control.cancelled,
                          guard=self._in_trial)
        record.state, record.value = outcome.state, outcome.value
        if outcome.state == "failed":
            record.error = f"{type(outcome.error).__name__}: {outcome.error}"
        status = {"complete": "finished", "pruned": "finished"}.get(outcome.state, outcome.state)
        self._end(tracked, record, started, status, outcome.error)
        if outcome.state == "interrupted":
            assert outcome.error is not None
            raise outcome.error
        return outcome.state

    @contextmanager
    def _in_trial(self) -> Iterator[None]:
        """While user code runs, a job's cancel may interrupt it (`Job._interrupt`)."""
        control = self.control
        if control is not None:
            control.in_trial = True
        try:
            yield
        finally:
            if control is not None:
                control.in_trial = False

    def _end(self, tracked: TrackedRun, record: TrialRecord, started: float, status: str,
             error: BaseException | None = None) -> None:
        record.duration_s = time.perf_counter() - started
        tracked.run.set_tags(**{"xtrack.trial.state": record.state})
        tracked.close(status, error)
        self.show()

    def report_progress(self, parent: TrackedRun, total: int) -> None:
        done = [r for r in self.records if r.state != "running"]
        best = best_value(self.records, self.cfg.direction)
        if best is not None:
            parent.run.log(best_value=best, step=len(done))
        parent.run.set_tags(**{"xtrack.sweep.progress": f"{len(done)}/{total}"})
        if self.control is not None:
            self.control.report(len(done), total, best)

    def show(self) -> None:
        if self.view is not None:
            try:
                self.view.update([r.as_dict() for r in self.records])
            except Exception:  # noqa: BLE001 - the view must never stop the sweep
                self.view = None


class _Stopped(Exception):
    """The live view's Stop was pressed."""


def _own_thread_stack() -> bool:
    bind = getattr(CONTEXT, "bind_thread_stack", None)
    if bind is None:
        return False
    bind([])
    return True


