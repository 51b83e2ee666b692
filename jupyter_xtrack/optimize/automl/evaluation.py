"""Evaluating one candidate: the small steps of its cross-validation, each free of the
search's state (the search runs the fold loop and keeps the budget)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..devices import device_slot
from ..jobs import JobControl
from ..preprocess import ColumnKinds, build_preprocessor
from ..scoring import Metric
from .budget import Budget, OutOfTime
from .result import Candidate


@dataclass
class FoldData:
    """What every candidate of one search is evaluated on, unchanged while it runs: the
    training rows, their folds, how each column is prepared, the classes and the metric.
    On Dask workers it is shipped once per worker, not once per candidate."""

    X: Any  # the training rows (a DataFrame)
    y: Any
    folds: list[tuple[Any, Any]]
    kinds: ColumnKinds
    classes: Any  # None for a regression
    metric: Metric
    seed: int


@dataclass
class FoldResults:
    """What a candidate's folds gave so far."""

    oof: Any  # out-of-fold predictions, one row per training row
    scores: list[float] = field(default_factory=list)
    models: list[Any] = field(default_factory=list)
    fit_s: float = 0.0
    predict_s: float = 0.0
    fit_rows: int = 0  # rows the last fold was fitted on
    rows_fitted: int = 0  # rows fitted over every fold so far (a family's cost is per row)

    @property
    def used_s(self) -> float:
        return self.fit_s + self.predict_s


def fold_rows(rows: Any, fraction: float, rng: Any) -> Any:
    """A fold's training rows at `fraction` of them (successive halving's lower rungs)."""
    if fraction < 1.0:
        return rng.choice(rows, size=max(50, int(len(rows) * fraction)), replace=False)
    return rows


def limit_threads(est: Any, threads: int | None) -> None:
    """Families ask for all cores with n_jobs=-1; on small data use `threads`."""
    if threads is not None:
        est.set_params(**{k: threads for k, v in est.get_params().items()
                          if k.endswith("n_jobs") and v == -1})


def limit_time(est: Any, seconds: float) -> None:
    """Estimators that stop themselves (the MLP) get the seconds one fold may take."""
    if hasattr(est, "max_time_s"):
        est.set_params(max_time_s=max(1.0, seconds))


def make_pipeline(kinds: ColumnKinds, est: Any, scale: bool) -> Any:
    from sklearn.pipeline import Pipeline

    return Pipeline([("preprocess", build_preprocessor(kinds, scale=scale)), ("model", est)])


def fit_fold(pipe: Any, X_fit: Any, y_fit: Any, X_val: Any, *, classify: bool,  # noqa: N803
             classes: Any, device: str, threads: int | None, budget: Budget,
             control: JobControl | None) -> tuple[Any, float, float]:
    """Fit `pipe` on one fold and predict its validation rows (probabilities for a
    classifier): (predictions, fit seconds, predict seconds)."""
    from threadpoolctl import threadpool_limits

    from ..ensemble import aligned_proba  # lazy: imports scikit-learn

    t0 = time.perf_counter()
    if control is not None:
        control.in_trial = True
    try:
        with device_slot(device), threadpool_limits(threads):
            budget.fit(pipe, X_fit, y_fit, threads)
            t1 = time.perf_counter()
            pred = aligned_proba(pipe, X_val, classes) if classify else pipe.predict(X_val)
    finally:
        if control is not None:
            control.in_trial = False
    t2 = time.perf_counter()
    return pred, t1 - t0, t2 - t1


def add_fold(results: FoldResults, pred: Any, val_rows: Any, fit_rows: int, fit_s: float,
             predict_s: float, score: float, model: Any) -> None:
    results.fit_s += fit_s
    results.predict_s += predict_s
    results.fit_rows = fit_rows
    results.rows_fitted += fit_rows
    results.oof[val_rows] = pred
    results.scores.append(score)
    results.models.append(model)


def cross_validate(data: FoldData, make: Callable[[], Any], *, scale: bool, fraction: float,
                   rung: int, device: str, threads: int | None, budget: Budget,
                   reserve: Callable[[], float], control: JobControl | None,
                   check: Callable[[], None],
                   on_fold: Callable[[int, float, FoldResults], None]) -> FoldResults:
    """A candidate's folds, one by one while the next one still fits the budget (OutOfTime
    when it would not). The same loop runs in the kernel and on a Dask worker: `check` raises
    when the search was stopped, `on_fold(i, score, results)` follows each fold."""
    import numpy as np

    clf = data.classes is not None
    rng = np.random.default_rng(data.seed + rung)
    oof = np.zeros((len(data.X), len(data.classes))) if clf else np.zeros(len(data.X))
    results = FoldResults(oof)
    n = len(data.folds)
    for i, (tr, va) in enumerate(data.folds):
        check()
        tr = fold_rows(tr, fraction, rng)
        if i > 0 and results.used_s > 0 and not budget.next_fold_fits(results.used_s / i,
                                                                       reserve()):
            raise OutOfTime()
        est = make()
        limit_threads(est, threads)
        limit_time(est, (budget.left() - reserve()) / (n - i + 1))
        pipe = make_pipeline(data.kinds, est, scale)
        pred, fit_s, predict_s = fit_fold(
            pipe, data.X.iloc[tr], data.y[tr], data.X.iloc[va], classify=clf,
            classes=data.classes, device=device, threads=threads, budget=budget,
            control=control)
        score = data.metric.value(data.y[va], pred, data.classes)
        add_fold(results, pred, va, len(tr), fit_s, predict_s, score, pipe)
        on_fold(i, score, results)
    return results


def record_scores(cand: Candidate, results: FoldResults, metric: Metric,
                  n_folds: int) -> tuple[float, float]:
    """Put the cross-validation's outcome on `cand`: (mean, std) of its fold scores."""
    import numpy as np

    mean = float(np.mean(results.scores))
    std = float(np.std(results.scores))
    cand.cv_score, cand.cv_std = mean, std
    cand.score = mean if metric.greater_is_better else -mean
    cand.fit_time_s = results.fit_s / n_folds
    cand.predict_time_s = results.predict_s / n_folds
    cand.n_rows = results.fit_rows
    cand.fit_rows = results.fit_rows
    return mean, std
