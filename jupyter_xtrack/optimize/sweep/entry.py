"""The public entry points: `sweep` (a function or a cell's source), `%%track --sweep`
(`sweep_cell`) and `best`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..cluster import WorkersError, check_workers
from ..jobs import Job, start_job
from ..space import SpaceError, parse_space
from .cell_objective import CellObjective
from .config import EXPLICIT, SweepConfig, SweepError, make_config
from .loop import SweepLoop
from .objective import FunctionObjective, Objective
from .result import BestTrial, SweepResult, records_from_study
from .storage import STORAGE_TAG, open_storage


def sweep(
    objective: Callable[..., Any] | str,
    space: str | Mapping[str, Any],
    *,
    trials: int = 20,
    metric: str | None = None,
    direction: str | None = None,
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
    workers: Any = None,
    storage: str | None = None,
) -> SweepResult | Job[SweepResult]:
    """Search `space` for the params that maximize (or minimize) `metric`, recording every
    trial as a child run of a sweep run. Without `direction`, the metric's name decides
    (val_rmse, log_loss: minimize; val_acc, f1, r2: maximize; a name that says nothing:
    maximize), and the sweep says which it chose.

    `objective` is a callable taking the params as keyword arguments (or one params dict),
    or a notebook cell's source (then it runs in the notebook's namespace). Its value is the
    last `xt.log(metric=...)` inside it, else what it returns. `xt.log(metric=v, step=s)`
    feeds the pruner (asha, hyperband, median): a pruned trial stops at that call. A failing
    trial is recorded with its traceback and the sweep goes on, up to `max_failures`;
    Ctrl-C stops it keeping everything so far. `sampler`: tpe (default), random, grid, gp,
    cmaes. `resume=True` continues the sweep of the same name (or the same space and
    objective). With `background=True` returns a Job at once.

    `workers` runs the trials on Dask workers: N (a local cluster of N processes), a
    scheduler address ("tcp://host:8786") or a `distributed.Client`. Each worker records its
    trials into this run store (its folder must be shared with them, or the store on
    PostgreSQL), and `xtrack worker SWEEP` joins from any other machine. `storage` puts the
    Optuna study elsewhere than beside the run store (a folder, a journal file or a
    PostgreSQL URL).
    """
    space_obj = parse_space(space)
    if workers is not None:
        workers = check_workers(workers)
    cfg = make_config(space_obj, trials, metric, direction, sampler, pruner, name, experiment, tags,
                  resume, max_failures, timeout, seed, show, workers=workers, storage=storage)
    if isinstance(objective, str):
        shell = _shell()
        obj: Objective = CellObjective(shell, objective, space_obj.names)
    elif callable(objective):
        obj = FunctionObjective(objective, space_obj.names)
    else:
        raise SweepError(f"the objective must be a function or a cell's source, got {type(objective).__name__}")
    if workers is not None:
        obj = obj.for_workers()  # a cell's variable that cannot be sent is named now
    return _launch(obj, cfg, background)


def sweep_cell(
    shell: Any,
    body: str,
    *,
    space: str,
    trials: int,
    metric: str | None,
    direction: str | None,
    sampler: str,
    pruner: str | None,
    resume: bool,
    max_failures: int,
    background: bool,
    name: str | None,
    experiment: str | None,
    tags: dict[str, str],
    workers: str | None = None,
) -> object:
    """`%%track --sweep SPACE ...`: sweep the cell body (see `sweep`). Returns the
    SweepResult (or a Job with --background) as the cell's value."""
    from IPython.core.error import UsageError

    try:
        space_obj = parse_space(space)
        cfg = make_config(space_obj, trials, metric, direction, sampler, pruner, name, experiment,
                      tags, resume, max_failures, None, None, True,
                      workers=None if workers is None else check_workers(workers))
        obj: Objective = CellObjective(shell, body, space_obj.names)
        if workers is not None:
            obj = obj.for_workers()  # a variable that cannot be sent is named now
    except (SpaceError, SweepError, WorkersError) as exc:
        raise UsageError(f"%%track --sweep: {exc}") from None
    return _launch(obj, cfg, background)


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


def best(sweep_ref: SweepResult | Job[Any] | str | int, storage: str | None = None) -> BestTrial:
    """The best complete trial of a sweep: a SweepResult, a sweep Job, a sweep run (id,
    number) or a sweep's name. A study placed elsewhere with `sweep(..., storage=)` is found
    through its sweep run (which records where), or in `storage` when given. SweepError when
    it has no complete trial."""
    ref: Any = sweep_ref.result() if isinstance(sweep_ref, Job) else sweep_ref
    if isinstance(ref, SweepResult):
        top = ref.best
        if top is None:
            raise SweepError(f"sweep {ref.name!r} has no complete trial yet")
        return top
    if not isinstance(ref, (str, int)):
        raise SweepError(f"best() wants a sweep result, job, run or sweep name, got {type(ref).__name__}")
    import optuna

    study_name, location = _study_for(ref, storage)
    study = optuna.load_study(study_name=study_name, storage=open_storage(location))
    records = records_from_study(study)
    direction = study.direction.name.lower()
    result = SweepResult(study_name, None, study.user_attrs.get("metric"), direction, "finished",
                         records, direction_source=study.user_attrs.get("direction_source", EXPLICIT))
    top = result.best
    if top is None:
        raise SweepError(f"sweep {study_name!r} has no complete trial yet")
    return top


def _study_for(ref: str | int, storage: str | None) -> tuple[str, str | None]:
    """(study name, study storage) of `ref`: a study of `storage` (default: the run store's)
    by name, else the study its sweep run names, where that run says it is."""
    names = [s.study_name for s in open_storage(storage).get_all_studies()]
    if isinstance(ref, str) and ref in names:
        return ref, storage
    run = _sweep_run(ref, names)
    study = run.tags.get("xtrack.sweep.study")
    if not study:
        raise SweepError(f"run #{run.number} is not a sweep (it has no xtrack.sweep.study tag)")
    return study, storage or run.tags.get(STORAGE_TAG)


def _sweep_run(ref: str | int, names: list[str]) -> Any:
    """The run `ref` names (id, number), else the newest sweep run of study `ref`."""
    from ... import api  # lazy: the facade (and its store) only when a run is looked up

    try:
        return api.get_run(ref)
    except Exception as exc:  # noqa: BLE001 - maybe a study kept elsewhere: its run says
        problem = exc
    if isinstance(ref, str):
        quoted = ref.replace("\\", "\\\\").replace("'", "\\'")
        found = api.runs(filter=f"tags.xtrack.sweep.study = '{quoted}' and kind = 'sweep'", limit=1)
        if len(found):
            return api.get_run(str(found["id"].iloc[0]))
    raise SweepError(
        f"no sweep {ref!r}: not a sweep name ({', '.join(names) or 'none yet'}) nor a run "
        f"({problem})"
    ) from None
