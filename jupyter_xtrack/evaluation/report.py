"""One evaluation from start to report: predictions made once, then the scores, per-class
metrics, confusion, curves, importance, slices and baseline as an `EvaluationFact`, and its
files (PNGs and the per-class CSV) under MLflow's names. Pure: records nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..facts import EvaluationFact
from . import metrics as m
from .curves import classifier_curves, regressor_curves
from .importance import Pause, permutation
from .model import Predictions, as_predictor, model_name, predict
from .plots import (
    CALIBRATION,
    CONFUSION,
    PER_CLASS,
    PR,
    PREDICTED_ACTUAL,
    RESIDUALS,
    ROC,
    images,
    per_class_csv,
)
from .slices import slice_reports

DEFAULT_IMPORTANCE_BUDGET_S = 10.0
_PLOTS = {
    "confusion": CONFUSION,
    "roc": ROC,
    "pr": PR,
    "calibration": CALIBRATION,
    "per_class": PER_CLASS,
    "residuals": RESIDUALS,
    "predicted_actual": PREDICTED_ACTUAL,
}


@dataclass
class Settings:
    """What the user asked `xt.evaluate` for, besides the model and the data."""

    slices: Sequence[Any] = ()
    baseline: Any = None
    pos_label: Any = None
    slice_margin: float = 0.05
    importance: bool = True
    importance_budget_s: float = DEFAULT_IMPORTANCE_BUDGET_S
    importance_pause: Pause | None = None  # see importance.permutation
    data_name: str = "X"


@dataclass
class Built:
    fact: EvaluationFact
    run_metrics: dict[str, float]  # the headline metrics and the per-class ones
    files: dict[str, bytes] = field(default_factory=dict)


def labels_of(y: Any, n: int) -> np.ndarray:
    """y as a 1-d array of n values; a clear error otherwise."""
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values.ravel()
    if values.ndim != 1 or len(values) != n:
        raise ValueError(f"xt.evaluate: y has shape {values.shape}, X has {n} rows")
    return values


def row_count(X: Any) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape else len(X)


def build(
    model: Any,
    X: Any,
    y: Any,
    settings: Settings,
    draw: Callable[[EvaluationFact], dict[str, bytes]] = images,
) -> Built:
    """The whole report of `model` on (X, y); `draw` makes its PNGs (`apart.images` draws
    them in the automatic evaluation's helper process)."""
    predictor = as_predictor(model)
    truth = labels_of(y, row_count(X))
    pred = predict(predictor, X, truth)
    fact = EvaluationFact(
        model_type=pred.model_type,
        model=model_name(model),
        data=settings.data_name,
        n=len(truth),
        notes=[],
    )
    pos = _task(fact, truth, pred, settings.pos_label)
    whole = m.headline(truth, pred, pos)
    fact["metrics"] = whole
    run_metrics = dict(whole)
    if "per_class" in fact:
        run_metrics.update(m.per_class_metrics(fact["per_class"]))
    if settings.importance:
        _importance(fact, predictor, X, truth, settings)
    if settings.slices:
        fact["slices"] = slice_reports(
            X, truth, pred, pos, whole, list(settings.slices), settings.slice_margin
        )
        fact["slice_margin"] = settings.slice_margin
    if settings.baseline is not None:
        other = as_predictor(settings.baseline)
        fact["baseline"] = {
            "model": model_name(settings.baseline),
            "metrics": m.headline(truth, predict(other, X, truth), pos),
        }
    files = draw(fact)
    csv = per_class_csv(fact)
    if csv is not None:
        files[PER_CLASS] = csv
    fact["artifacts"] = {plot: name for plot, name in _PLOTS.items() if name in files}
    return Built(fact, run_metrics, files)


def _task(fact: EvaluationFact, truth: np.ndarray, pred: Predictions, pos_label: Any) -> Any:
    """Fill what depends on the kind of task; returns the positive class (binary) or None."""
    if pred.model_type == "regressor":
        fact["curves"] = regressor_curves(truth, pred.predicted)
        return None
    pos = m.positive_label(pred.classes, pos_label)
    if pos_label is not None and pos is None:
        fact["notes"].append(f"pos_label={pos_label!r} ignored: the task is not binary")
    fact["pos_label"] = None if pos is None else str(pos)
    fact["labels"] = [str(c) for c in pred.classes]
    fact["per_class"] = m.per_class(truth, pred)
    fact["confusion"] = m.confusion(truth, pred)
    fact["curves"] = classifier_curves(truth, pred, pos)
    if pred.proba is None:
        left = "log_loss, brier_score_loss and calibration"
        if pred.decision is None:
            left = "roc_auc, precision_recall_auc, " + left
        fact["notes"].append(f"the model gives no probabilities: {left} left out")
    return pos


def _importance(
    fact: EvaluationFact, predictor: Any, X: Any, truth: np.ndarray, settings: Settings
) -> None:
    classifier = fact["model_type"] == "classifier"
    name = "accuracy_score" if classifier else "r2_score"

    def score(est: Any, data: Any, target: Any) -> float:
        from sklearn.metrics import accuracy_score, r2_score  # lazy: as every metric

        fn = accuracy_score if classifier else r2_score
        return float(fn(target, est.predict(data)))

    try:
        fact["importance"], fact["importance_note"] = permutation(
            predictor,
            X,
            truth,
            score,
            name,
            settings.importance_budget_s,
            pause=settings.importance_pause,
        )
    except Exception as exc:  # noqa: BLE001 - the rest of the report stands without it
        fact["importance"] = []
        fact["importance_note"] = f"failed: {type(exc).__name__}: {exc}"
