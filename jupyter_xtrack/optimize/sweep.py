"""Sweeps: an ask/tell loop over Optuna in which the tracker owns every trial.

The sweep is a run of kind "sweep"; each trial a child run of kind "trial" holding its
params, its metrics (every `xt.log` inside the objective), its outcome (tag
`xtrack.trial.state`: complete, pruned, failed, interrupted), its device and, when it failed,
its traceback. Optuna's study lives beside the run store (`<store>/optuna.journal`) under
the sweep's name, so `resume=True` continues it after a kernel restart.

The objective is a Python callable (called with the trial's params as keyword arguments)
or the body of a notebook cell (run in the user's namespace with the cell's own top-level
assignments to the swept names replaced by the trial's values).
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..tracking.search_runs import TrackedRun, open_parent, open_trial
from ..tracking.session import CONTEXT
from .devices import torch_device as visible_device
from .jobs import Job, JobCancelled, JobControl, start_job
from .live import ProgressView, make_view
from .pruners import pruner_name
from .samplers import make_sampler, sampler_name
from .space import Space, SpaceError, parse_space

if TYPE_CHECKING:
    import optuna
    import pandas as pd

STORAGE_FILE = "optuna.journal"
DIRECTIONS = {"maximize": "maximize", "max": "maximize", "minimize": "minimize", "min": "minimize"}


class SweepError(ValueError):
    """A sweep that cannot start; the message says what to change."""


# -- results -----------------------------------------------------------------------------------
@dataclass
class TrialRecord:
    """One trial as the sweep saw it."""

    number: int
    state: str
    params: dict[str, Any]
    value: float | None = None
    duration_s: float | None = None
    run_id: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "params": self.params,
            "duration_s": self.duration_s,
            "run_id": self.run_id,
        }


@dataclass
class BestTrial:
    """The best complete trial of a sweep: its params, value, trial number and run id."""

    params: dict[str, Any]
    value: float
    number: int
    run_id: str | None
    metric: str | None = None

    def __repr__(self) -> str:
        metric = self.metric or "value"
        return f"<BestTrial #{self.number} {metric}={self.value:.6g} params={self.params}>"


@dataclass
class SweepResult:
    """What a sweep returns: its trials, leaderboard and best trial. `state` is finished,
    interrupted (Ctrl-C), cancelled (a background job), or failed (too many failed trials)."""

    name: str
    run_id: str | None
    metric: str | None
    direction: str
    state: str
    trials: list[TrialRecord] = field(default_factory=list)
    storage_path: str | None = None
    sampler: str | None = None
    _study: Any = field(default=None, repr=False, compare=False)

    @property
    def leaderboard(self) -> pd.DataFrame:
        """Every trial, best first: number, state, value, duration_s, run_id, then params."""
        return leaderboard_frame(self.trials, self.direction, self.metric)

    @property
    def best(self) -> BestTrial | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        top = pick(done, key=lambda t: float(t.value))  # type: ignore[arg-type]
        return BestTrial(dict(top.params), float(top.value), top.number, top.run_id, self.metric)  # type: ignore[arg-type]

    @property
    def best_params(self) -> dict[str, Any]:
        best = self.best
        if best is None:
            raise SweepError(f"sweep {self.name!r} has no complete trial yet")
        return dict(best.params)

    def study(self) -> optuna.Study:
        """The Optuna study behind the sweep (for Optuna's own plots and analyses)."""
        if self._study is not None:
            return self._study
        import optuna

        return optuna.load_study(study_name=self.name, storage=_storage(self.storage_path))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            out[t.state] = out.get(t.state, 0) + 1
        return out

    def __repr__(self) -> str:
        best = self.best
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        return f"<Sweep {self.name} {self.state}: {len(self.trials)} trials ({counts}); best {best!r}>"

    def _repr_html_(self) -> str:
        import html

        best = self.best
        head = (
            f"<b>sweep {html.escape(self.name)}</b> {html.escape(self.state)}: "
            f"{len(self.trials)} trials ({html.escape(', '.join(f'{n} {s}' for s, n in self.counts().items()))})"
        )
        if best is not None:
            head += (
                f"<br>best {html.escape(self.metric or 'value')} = <b>{best.value:.6g}</b> "
                f"(trial {best.number}) <code>{html.escape(str(best.params))}</code>"
            )
        return f"<div>{head}</div>{self.leaderboard.head(10).to_html(index=False)}"


def leaderboard_frame(trials: list[TrialRecord], direction: str, metric: str | None) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for t in trials:
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state,
            metric or "value": t.value,
            "duration_s": t.duration_s,
            "run_id": t.run_id,
        }
        row.update({f"params.{k}": v for k, v in t.params.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    key = metric or "value"
    order = {"complete": 0, "pruned": 1, "interrupted": 2, "failed": 3, "running": 4}
    frame["_state_rank"] = frame["state"].map(order).fillna(5)
    frame = frame.sort_values(
        ["_state_rank", key], ascending=[True, direction != "maximize"], na_position="last"
    )
    return frame.drop(columns="_state_rank").reset_index(drop=True)


# -- objectives -------------------------------------------------------------------------------
class Objective:
    """What a trial runs. `identity` names it stably (for the default sweep name)."""

    identity: str = ""

    def call(self, params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def fallback_value(self, metric: str | None) -> Any:
        """Where else the objective's value may be found (a cell's variable named `metric`)."""
        return None


class FunctionObjective(Objective):
    """A Python callable: `fn(**params)`, or `fn(params)` when it takes one other argument."""

    def __init__(self, fn: Callable[..., Any], names: list[str]) -> None:
        self.fn = fn
        self.identity = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
        self.as_dict = _wants_dict(fn, names)

    def call(self, params: dict[str, Any]) -> Any:
        return self.fn(params) if self.as_dict else self.fn(**params)


def _wants_dict(fn: Callable[..., Any], names: list[str]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    ps = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in ps):
        return False
    named = {p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if set(names) <= named:
        return False
    if len(ps) == 1 and ps[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        return True
    missing = sorted(set(names) - named)
    raise SweepError(
        f"the objective {getattr(fn, '__name__', fn)}() does not take the swept names "
        f"{missing}; give it those keyword arguments, **params, or one argument (the params dict)"
    )


class CellObjective(Objective):
    """The body of a notebook cell, run in the shell's namespace once per trial with the
    cell's own top-level assignments to swept names removed (the trial binds them)."""

    def __init__(self, shell: Any, body: str, names: list[str]) -> None:
        self.shell = shell
        self.body = body
        self.identity = body
        try:
            py = shell.transform_cell(body)
        except Exception:  # noqa: BLE001 - IPython reports the syntax problem on compile
            py = body
        try:
            tree = ast.parse(py)
        except SyntaxError as exc:
            raise SweepError(f"the cell does not parse: {exc.msg} (line {exc.lineno})") from None
        # The swept names the cell binds at top level (a name it never binds would be swept
        # for nothing: the launch form reports those).
        self.assigned = {n for n in names if any(_assigns_only(s, {n}) for s in tree.body)}
        tree.body = [s for s in tree.body if not _assigns_only(s, set(names))]
        last: ast.Expression | None = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        filename = shell.compile.cache(py) if hasattr(shell, "compile") else "<sweep cell>"
        self._code = compile(ast.fix_missing_locations(tree), filename, "exec")
        self._last = None if last is None else compile(
            ast.fix_missing_locations(last), filename, "eval"
        )

    def call(self, params: dict[str, Any]) -> Any:
        ns = self.shell.user_ns
        ns.update(params)
        exec(self._code, ns)
        return None if self._last is None else eval(self._last, ns)

    def fallback_value(self, metric: str | None) -> Any:
        return None if metric is None else self.shell.user_ns.get(metric)


def _assigns_only(stmt: ast.stmt, names: set[str]) -> bool:
    """True for `name = ...` / `name: T = ...` statements that bind only swept names."""
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
        return all(isinstance(t, ast.Name) and t.id in names for t in targets)
    if isinstance(stmt, ast.AnnAssign):
        return isinstance(stmt.target, ast.Name) and stmt.target.id in names
    return False


# -- the loop ---------------------------------------------------------------------------------
class _StopSweep(Exception):
    pass


@dataclass
class SweepConfig:
    space: Space
    trials: int
    metric: str | None
    direction: str
    sampler: str
    pruner: str
    name: str | None
    experiment: str | None
    tags: dict[str, str]
    resume: bool
    max_failures: int
    timeout: float | None
    seed: int | None
    show: bool


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

    def run(self) -> SweepResult:
        import optuna

        cfg = self.cfg
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        storage = _storage()
        study_name = _study_name(storage, cfg, self.objective)
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=make_sampler(cfg.sampler, cfg.space, cfg.seed),
            pruner=_make_pruner(cfg.pruner),
            direction=cfg.direction,  # type: ignore[arg-type]
            load_if_exists=True,
        )
        if study.direction.name.lower() != cfg.direction:
            raise SweepError(
                f"sweep {study_name!r} was started to {study.direction.name.lower()}; resume it "
                f"with the same direction or give a new --name"
            )
        if cfg.metric is not None and "metric" not in study.user_attrs:
            study.set_user_attr("metric", cfg.metric)
        self.records = _records_from_study(study)
        _close_stale(study)
        parent = open_parent(
            "sweep",
            name=cfg.name or study_name,
            experiment=cfg.experiment,
            tags={**cfg.tags, "xtrack.sweep.study": study_name, "xtrack.sweep.state": "running"},
            params={
                "sweep.space": cfg.space.describe(),
                "sweep.sampler": sampler_name(cfg.sampler, cfg.space),
                "sweep.pruner": cfg.pruner,
                "sweep.metric": cfg.metric,
                "sweep.direction": cfg.direction,
                "sweep.trials": cfg.trials,
            },
            background=self.background,
        )
        if self.control is not None:
            self.control.attach(parent, cfg.metric, cfg.direction)
        result = SweepResult(study_name, parent.id or None, cfg.metric, cfg.direction, "running",
                             self.records, _storage_path(), cfg.sampler, study)
        if cfg.show:
            self.view = make_view(f"sweep {study_name}", cfg.metric, cfg.direction)
            self.view.display()
            self._show()
        state = "finished"
        error: BaseException | None = None
        try:
            state = self._loop(study, parent)
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
            self._show()
            self.view.finish()
        status = {"finished": "finished", "failed": "failed"}.get(state, "interrupted")
        if state == "failed":
            error = SweepError(f"the sweep stopped after {cfg.max_failures} failed trials")
        parent.close(status, error)
        return result

    def _loop(self, study: optuna.Study, parent: TrackedRun) -> str:
        cfg = self.cfg
        distributions = cfg.space.distributions()
        fixed = dict(cfg.space.fixed)
        limit = cfg.trials
        if sampler_name(cfg.sampler, cfg.space) == "grid":
            limit = min(limit, cfg.space.grid_size())
        failures = 0
        deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
        device = visible_device()
        while sum(1 for r in self.records if r.state != "interrupted") < limit:
            if self.control is not None:
                self.control.check()
            if self.view is not None and getattr(self.view, "stop_requested", False):
                return "interrupted"
            if deadline is not None and time.monotonic() >= deadline:
                break
            state = self._one_trial(study, parent, distributions, fixed, device)
            if state == "failed":
                failures += 1
                if failures >= cfg.max_failures:
                    return "failed"
            self._report(parent, limit)
        return "finished"

    def _one_trial(self, study: optuna.Study, parent: TrackedRun, distributions: dict[str, Any],
                   fixed: dict[str, Any], device: str) -> str:
        import optuna

        cfg = self.cfg
        trial = study.ask(distributions)
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
            trial.set_user_attr("xtrack_run_id", tracked.id)
        record = TrialRecord(trial.number, "running", params, run_id=tracked.id or None)
        self.records.append(record)
        self._show()
        tracked.run.on_log = self._reporter(trial)
        started = time.perf_counter()
        control = self.control
        try:
            if control is not None:
                control.in_trial = True
            try:
                returned = self.objective.call(params)
            finally:
                if control is not None:
                    control.in_trial = False
            tracked.run.on_log = None
            value = _objective_value(returned, tracked, cfg.metric, self.objective)
        except optuna.TrialPruned:
            record.state = "pruned"
            record.value = _last_value(tracked, cfg.metric)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            self._end(tracked, record, started, "finished")
            return "pruned"
        except (KeyboardInterrupt, JobCancelled) as exc:
            record.state = "interrupted"
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self._end(tracked, record, started, "interrupted", exc)
            raise
        except Exception as exc:  # noqa: BLE001 - a failing trial is recorded; the sweep goes on
            record.state = "failed"
            record.error = f"{type(exc).__name__}: {exc}"
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self._end(tracked, record, started, "failed", exc)
            return "failed"
        record.state, record.value = "complete", value
        study.tell(trial, value)
        if cfg.metric is None or cfg.metric not in tracked.run.metrics:
            tracked.run.log(None, **{cfg.metric or "objective": value})
        self._end(tracked, record, started, "finished")
        return "complete"

    def _end(self, tracked: TrackedRun, record: TrialRecord, started: float, status: str,
             error: BaseException | None = None) -> None:
        record.duration_s = time.perf_counter() - started
        tracked.run.set_tags(**{"xtrack.trial.state": record.state})
        tracked.close(status, error)
        self._show()

    def _reporter(self, trial: optuna.Trial) -> Callable[[Any, dict[str, Any], int | None], None]:
        """The trial run's on_log hook: feeds the pruner and stops a pruned trial right there."""
        import optuna

        metric = self.cfg.metric
        steps = {"n": 0}
        control = self.control

        def on_log(run: Any, metrics: dict[str, Any], step: int | None) -> None:
            if control is not None and control.cancelled:
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

    def _report(self, parent: TrackedRun, total: int) -> None:
        done = [r for r in self.records if r.state != "running"]
        best = _best_value(self.records, self.cfg.direction)
        if best is not None:
            parent.run.log(best_value=best, step=len(done))
        parent.run.set_tags(**{"xtrack.sweep.progress": f"{len(done)}/{total}"})
        if self.control is not None:
            self.control.report(len(done), total, best)

    def _show(self) -> None:
        if self.view is not None:
            try:
                self.view.update([r.as_dict() for r in self.records])
            except Exception:  # noqa: BLE001 - the view must never stop the sweep
                self.view = None


def _own_thread_stack() -> bool:
    bind = getattr(CONTEXT, "bind_thread_stack", None)
    if bind is None:
        return False
    bind([])
    return True


def _objective_value(returned: Any, tracked: TrackedRun, metric: str | None,
                     objective: Objective) -> float:
    """The trial's value: the metric's last logged value, else the returned number (or the
    returned dict's entry), else the cell's variable of that name."""
    candidates: list[Any] = []
    if metric is not None:
        logged = tracked.run.metrics.get(metric)
        if logged is not None:
            candidates.append(logged)
        if isinstance(returned, Mapping) and metric in returned:
            candidates.append(returned[metric])
    if returned is not None and not isinstance(returned, Mapping):
        candidates.append(returned)
    if metric is not None:
        candidates.append(objective.fallback_value(metric))
    for value in candidates:
        if value is None or isinstance(value, bool):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isnan(number):
            raise ValueError(f"the objective {metric or 'value'} is NaN")
        return number
    if metric is None:
        raise ValueError(
            "the trial gave no objective value: return a number, or name the metric "
            "(metric=NAME / --metric NAME) and log it with xt.log(NAME=...)"
        )
    raise ValueError(
        f"the trial never logged {metric!r}: call xt.log({metric}=...) in the objective, return "
        f"it, or assign it to a variable named {metric}"
    )


def _last_value(tracked: TrackedRun, metric: str | None) -> float | None:
    return None if metric is None else tracked.run.metrics.get(metric)


def _best_value(records: list[TrialRecord], direction: str) -> float | None:
    values = [r.value for r in records if r.state == "complete" and r.value is not None]
    if not values:
        return None
    return max(values) if direction == "maximize" else min(values)


def _make_pruner(name: str) -> Any:
    from .pruners import make_pruner

    return make_pruner(name)


# -- storage --------------------------------------------------------------------------------------
def _storage_path() -> str:
    return str(CONTEXT.store().root / STORAGE_FILE)


def _storage(path: str | None = None) -> Any:
    """Optuna's study storage beside the run store: one journal file shared by all sweeps.

    A journal file rather than SQLite: it survives a kernel restart just the same, is safe
    across processes (file lock), and costs about 1.5 ms per trial instead of about 30.
    """
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(path or _storage_path()))


def _study_name(storage: Any, cfg: SweepConfig, objective: Objective) -> str:
    """The sweep's study: `name` (or a stable name from the space and objective); a rerun
    without resume gets the next free `name-N`, a resume continues the latest one."""
    base = cfg.name or "sweep-" + hashlib.sha1(
        "\0".join([cfg.space.describe(), objective.identity, str(cfg.metric), cfg.direction]).encode()
    ).hexdigest()[:8]
    existing = {s.study_name for s in storage.get_all_studies()}
    taken = [base] if base in existing else []
    n = 2
    while f"{base}-{n}" in existing:
        taken.append(f"{base}-{n}")
        n += 1
    if cfg.resume:
        if not taken:
            raise SweepError(
                f"no sweep {base!r} to resume in {CONTEXT.store().root / STORAGE_FILE}; run it "
                "once without resume (or give the --name it was started with)"
            )
        return taken[-1]
    return base if not taken else f"{base}-{n}"


def _records_from_study(study: optuna.Study) -> list[TrialRecord]:
    """Trials a resumed sweep already has (finished ones only)."""
    from optuna.trial import TrialState

    names = {
        TrialState.COMPLETE: "complete",
        TrialState.PRUNED: "pruned",
        TrialState.FAIL: "failed",
    }
    out = []
    for t in study.get_trials(deepcopy=False):
        state = names.get(t.state)
        if state is None:
            continue
        duration = t.duration.total_seconds() if t.duration is not None else None
        out.append(TrialRecord(t.number, state, dict(t.params), t.value, duration,
                               t.user_attrs.get("xtrack_run_id")))
    return out


def _close_stale(study: optuna.Study) -> None:
    """Trials left running by a process that died (a kernel restart) are failed, so that
    Optuna does not wait for them."""
    from optuna.trial import TrialState

    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        try:
            study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)
        except Exception:  # noqa: BLE001 - another process may own it
            pass


# -- the public entry points ------------------------------------------------------------------------
def sweep(
    objective: Callable[..., Any] | str,
    space: str | Mapping[str, Any],
    *,
    trials: int = 20,
    metric: str | None = None,
    direction: str = "maximize",
    sampler: str | None = None,
    pruner: str | None = None,
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, str] | None = None,
    resume: bool = False,
    max_failures: int = 5,
    timeout: float | None = None,
    seed: int | None = None,
    background: bool = False,
    show: bool = True,
) -> SweepResult | Job[SweepResult]:
    """Search `space` for the params that maximize (or minimize) `metric`, recording every
    trial as a child run of a sweep run.

    `objective` is a callable taking the params as keyword arguments (or one params dict),
    or a notebook cell's source (then it runs in the notebook's namespace). Its value is the
    last `xt.log(metric=...)` inside it, else what it returns. `xt.log(metric=v, step=s)`
    feeds the pruner (asha, hyperband, median): a pruned trial stops at that call. A failing
    trial is recorded with its traceback and the sweep goes on, up to `max_failures`;
    Ctrl-C stops it keeping everything so far. `sampler`: tpe (default), random, grid, gp,
    cmaes. `resume=True` continues the sweep of the same name (or the same space and
    objective). With `background=True` returns a Job at once.
    """
    space_obj = parse_space(space)
    cfg = _config(space_obj, trials, metric, direction, sampler, pruner, name, experiment, tags,
                  resume, max_failures, timeout, seed, show)
    if isinstance(objective, str):
        shell = _shell()
        obj: Objective = CellObjective(shell, objective, space_obj.names)
    elif callable(objective):
        obj = FunctionObjective(objective, space_obj.names)
    else:
        raise SweepError(f"the objective must be a function or a cell's source, got {type(objective).__name__}")
    return _launch(obj, cfg, background)


def sweep_cell(
    shell: Any,
    body: str,
    *,
    space: str,
    trials: int,
    metric: str | None,
    direction: str,
    sampler: str,
    pruner: str | None,
    resume: bool,
    max_failures: int,
    background: bool,
    name: str | None,
    experiment: str | None,
    tags: dict[str, str],
) -> object:
    """`%%track --sweep SPACE ...`: sweep the cell body (see `sweep`). Returns the
    SweepResult (or a Job with --background) as the cell's value."""
    from IPython.core.error import UsageError

    try:
        space_obj = parse_space(space)
        cfg = _config(space_obj, trials, metric, direction, sampler, pruner, name, experiment,
                      tags, resume, max_failures, None, None, True)
        obj = CellObjective(shell, body, space_obj.names)
    except (SpaceError, SweepError) as exc:
        raise UsageError(f"%%track --sweep: {exc}") from None
    return _launch(obj, cfg, background)


def _config(space: Space, trials: int, metric: str | None, direction: str, sampler: str | None,
            pruner: str | None, name: str | None, experiment: str | None,
            tags: Mapping[str, str] | None, resume: bool, max_failures: int,
            timeout: float | None, seed: int | None, show: bool) -> SweepConfig:
    key = DIRECTIONS.get(str(direction).lower())
    if key is None:
        raise SweepError(f"direction must be maximize or minimize, got {direction!r}")
    if trials < 1:
        raise SweepError(f"trials must be at least 1, got {trials}")
    if max_failures < 1:
        raise SweepError(f"max_failures must be at least 1, got {max_failures}")
    # A space written only with grid(...) is searched exhaustively unless a sampler is named.
    chosen = None if (sampler in (None, "tpe") and space.only_grid) else sampler
    canonical = sampler_name(chosen, space)
    if canonical == "grid":
        space.grid()  # raises SpaceError naming a continuous param
    return SweepConfig(
        space, trials, metric, key, canonical, pruner_name(pruner), name, experiment,
        {str(k): str(v) for k, v in (tags or {}).items()}, resume, max_failures, timeout, seed,
        show,
    )


def _launch(obj: Objective, cfg: SweepConfig, background: bool) -> SweepResult | Job[SweepResult]:
    if not background:
        return SweepLoop(obj, cfg, None, background=False).run()
    return start_job("sweep", cfg.name, lambda control: SweepLoop(obj, cfg, control, True).run())


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        get_ipython = None
    shell = get_ipython() if get_ipython is not None else None
    if shell is None:
        raise SweepError("sweeping a cell's source needs IPython; pass a function instead")
    return shell


def best(sweep_ref: SweepResult | Job[Any] | str | int) -> BestTrial:
    """The best complete trial of a sweep: a SweepResult, a sweep Job, a sweep run (id,
    number) or a sweep's name. SweepError when it has no complete trial."""
    ref: Any = sweep_ref.result() if isinstance(sweep_ref, Job) else sweep_ref
    if isinstance(ref, SweepResult):
        top = ref.best
        if top is None:
            raise SweepError(f"sweep {ref.name!r} has no complete trial yet")
        return top
    if not isinstance(ref, (str, int)):
        raise SweepError(f"best() wants a sweep result, job, run or sweep name, got {type(ref).__name__}")
    import optuna

    study_name = _study_for(ref)
    study = optuna.load_study(study_name=study_name, storage=_storage())
    records = _records_from_study(study)
    direction = study.direction.name.lower()
    result = SweepResult(study_name, None, study.user_attrs.get("metric"), direction, "finished", records)
    top = result.best
    if top is None:
        raise SweepError(f"sweep {study_name!r} has no complete trial yet")
    return top


def _study_for(ref: str | int) -> str:
    storage = _storage()
    names = [s.study_name for s in storage.get_all_studies()]
    if isinstance(ref, str) and ref in names:
        return ref
    from .. import api

    try:
        run = api.get_run(ref)
    except Exception as exc:  # noqa: BLE001 - reported with what exists
        raise SweepError(
            f"no sweep {ref!r}: not a sweep name ({', '.join(names) or 'none yet'}) nor a run "
            f"({exc})"
        ) from None
    study = run.tags.get("xtrack.sweep.study")
    if not study:
        raise SweepError(f"run #{run.number} is not a sweep (it has no xtrack.sweep.study tag)")
    return study
