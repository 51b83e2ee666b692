"""The public entry point `automl(...)`: checks its arguments and starts the search, in the
kernel or as a background job."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..jobs import Job, JobControl, start_job
from ..models import families
from ..scoring import detect_task, get_metric, parse_budget
from .result import AutoMLResult
from .search import AutoMLConfig, AutoMLSearch

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def automl(
    data: Any,
    y: Any = None,
    *,
    target: str | None = None,
    time_budget: float | str = "1m",
    metric: str | None = None,
    task: str | None = None,
    cv: int = 5,
    holdout: float = 0.15,
    models: list[str] | None = None,
    ensemble: bool = True,
    seed: int = 0,
    name: str | None = None,
    experiment: str | None = None,
    tags: dict[str, str] | None = None,
    background: bool = False,
    show: bool = True,
    workers: Any = None,
) -> AutoMLResult | Job[AutoMLResult]:
    """Find a good model for a table within `time_budget` (seconds, or "30s", "5m", "1h",
    "1h30m"; the grammar is `scoring.parse_budget`'s).

    `automl(df, target="churned")` or `automl(X, y)`. Detects the task (binary, multiclass,
    regression) and picks a metric that fits it (roc_auc, log_loss, r2; `metric=` overrides).
    Runs baselines first (zero rule, random guess, one-feature rule), then a search over
    model families and their hyperparameters with successive halving on data size, then a
    greedy ensemble kept only when it beats the best single model on CV. The whole call
    ends within the budget plus 5 %. Every candidate is a child run; the final model is an
    artifact of the parent run. `background=True` returns a Job at once.

    `workers=` evaluates the candidates on Dask workers, several at once: a number N (a
    local cluster of N processes, started and stopped by this call, within the budget), a
    scheduler address ("tcp://scheduler:8786") or a `distributed.Client`. Each child run
    is tagged with the worker it ran on (`xtrack.worker`).
    """
    started = time.monotonic()
    X, yv, target_name = _split_target(data, y, target)
    kind = task or detect_task(yv)
    if kind not in ("binary", "multiclass", "regression"):
        raise ValueError(f"task must be binary, multiclass or regression, got {task!r}")
    if cv < 2:
        raise ValueError(f"cv must be at least 2 folds, got {cv}")
    if not 0 <= holdout < 0.9:
        raise ValueError(f"holdout must be a fraction in [0, 0.9), got {holdout}")
    cfg = AutoMLConfig(parse_budget(time_budget), get_metric(metric, kind), kind, cv, holdout,
                       models, ensemble, seed, name, experiment,
                       {str(k): str(v) for k, v in (tags or {}).items()}, target_name,
                       show and not background)
    if models is not None:
        families(kind, len(X), models)  # unknown names fail now, not in the background
    search = _searcher(X, yv, cfg, background, started, workers)
    if not background:
        return search(None)
    return start_job("automl", name or f"automl {target_name}", search)


def _searcher(X: pd.DataFrame, y: np.ndarray, cfg: AutoMLConfig, background: bool,  # noqa: N803
              started: float, workers: Any) -> Callable[[JobControl | None], AutoMLResult]:
    """The search to run, in the kernel or on Dask workers. The cluster is reached (or
    started) now, so a wrong `workers=` fails in the foreground even for a background job;
    what was started here is released when the search ends."""
    if workers is None:
        return lambda control: AutoMLSearch(X, y, cfg, control, background, started).run()
    from ..cluster import dask_client
    from .workers import WorkerSearch

    client, close = dask_client(workers)

    def search(control: JobControl | None) -> AutoMLResult:
        try:
            return WorkerSearch(X, y, cfg, control, background, started, client).run()
        finally:
            # Stopping a local cluster takes seconds that are not the budget's: the call
            # returns at once and the cluster goes in the background.
            threading.Thread(target=_quietly, args=(close,), name="xtrack-dask-close",
                             daemon=True).start()

    return search

def _quietly(close: Callable[[], None]) -> None:
    """Release a Dask cluster; one that is already gone has nothing left to release."""
    try:
        close()
    except Exception:  # noqa: BLE001 - nobody waits for this thread to report
        pass


def _split_target(data: Any, y: Any, target: str | None) -> tuple[pd.DataFrame, np.ndarray, str]:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        X = data
    else:
        arr = np.asarray(data)
        if arr.ndim != 2:
            raise ValueError(f"automl wants a DataFrame or a 2-d array, got shape {arr.shape}")
        X = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    if y is None:
        if target is None:
            raise ValueError("name the target column (automl(df, target='col')) or pass y")
        if target not in X.columns:
            cols = ", ".join(map(str, list(X.columns)[:20]))
            raise ValueError(f"no column {target!r} in the DataFrame (columns: {cols})")
        yv = X[target]
        X = X.drop(columns=[target])
        name = target
    else:
        yv = pd.Series(np.asarray(y)) if not isinstance(y, pd.Series) else y
        name = str(getattr(y, "name", None) or target or "y")
        if len(yv) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(yv)}")
    yv = pd.Series(yv).reset_index(drop=True)
    X = X.reset_index(drop=True)
    keep = yv.notna().to_numpy()
    if not keep.all():
        X, yv = X[keep].reset_index(drop=True), yv[keep].reset_index(drop=True)
    if len(X) < 10:
        raise ValueError(f"automl needs at least 10 rows with a target, got {len(X)}")
    X.columns = [str(c) for c in X.columns]
    return X, yv.to_numpy(), name
