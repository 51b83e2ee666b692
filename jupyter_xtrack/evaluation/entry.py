"""`xt.evaluate`: the live model, evaluated and recorded (see report.py for what is in the
report, record.py for where it goes)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from .record import target, write
from .report import DEFAULT_IMPORTANCE_BUDGET_S, Settings, build
from .result import Evaluation


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    *,
    slices: Sequence[Any] | None = None,
    baseline: Any = None,
    pos_label: Any = None,
    slice_margin: float = 0.05,
    importance: bool = True,
    importance_budget_s: float = DEFAULT_IMPORTANCE_BUDGET_S,
    run: Any = None,
    name: str | None = None,
) -> Evaluation:
    """Evaluate a fitted model on (X, y) and record the report.

    Classifiers: accuracy, balanced accuracy, precision/recall/F1 (of the positive class for
    binary tasks, macro otherwise, and per class), ROC AUC and PR AUC, log loss and Brier
    score, the confusion matrix, ROC/PR/calibration curves. Regressors: MAE, RMSE, R², MAPE,
    max error, residual and predicted-vs-actual plots. Both: permutation importance within
    `importance_budget_s` seconds. `pos_label` is the positive class of a binary task
    (default: the model's `classes_[1]`). `slices` (columns of X or Series aligned with it)
    gives every metric per slice value, flagging those worse than the whole by more than
    `slice_margin`. `baseline`, another fitted model, is scored on the same data.

    Recorded on `run` (a run, its id or number), else the active run, else a new child run
    of the cell's last run, else a new run (`name`): the metrics under MLflow's names, the
    `evaluation` fact, and PNGs under MLflow's file names.
    """
    settings = Settings(
        slices=slice_list(slices),
        baseline=baseline,
        pos_label=pos_label,
        slice_margin=slice_margin,
        importance=importance,
        importance_budget_s=importance_budget_s,
        data_name=caller_name(X) or "X",
    )
    built = build(model, X, y, settings)  # bad input raises here, before any run is opened
    where = target(run, name)
    write(where, built)
    return Evaluation(built.fact, where.run_id, where.number)


def slice_list(slices: Sequence[Any] | None) -> list[Any]:
    if slices is None:
        return []
    if isinstance(slices, str) or not isinstance(slices, Sequence):
        return [slices]  # one column name, or one Series
    return list(slices)


def caller_name(obj: Any) -> str | None:
    """The variable that holds `obj` (by identity) where the user called in from (the first
    frame outside this package), for the report's `data`."""
    frame = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(__package__):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return None
    for scope in (frame.f_locals, frame.f_globals):
        if isinstance(scope, Mapping):
            for key, value in scope.items():
                if value is obj and isinstance(key, str) and not key.startswith("_"):
                    return key
    return None
