"""The scores of one evaluation, named as MLflow's `evaluate` names them, computed with
scikit-learn's own metric functions from predictions made once (`model.Predictions`).

Binary tasks score the positive class everywhere (precision, recall, F1, ROC and PR AUC,
Brier): `pos_label` when given, else the estimator's `classes_[1]`, whatever the labels are
("yes"/"no", 0/2). Multiclass tasks average per class (macro), ROC and PR one-vs-rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..facts import ClassMetrics
from .model import Predictions

# Which way is better, for flagging slices and gating promotions: every other metric here is
# a loss or an error, where lower is better.
HIGHER_IS_BETTER = frozenset(
    {
        "accuracy_score",
        "balanced_accuracy",
        "precision_score",
        "recall_score",
        "f1_score",
        "roc_auc",
        "precision_recall_auc",
        "r2_score",
    }
)
# Metrics bounded in [0, 1] (a slice is flagged by an absolute margin on these, by a relative
# one on unbounded losses and errors).
BOUNDED = HIGHER_IS_BETTER - {"r2_score"} | {"brier_score_loss"}
NOT_COMPARED = frozenset({"example_count"})


def higher_is_better(metric: str) -> bool:
    """True for scores, False for losses and errors (per-class scores count as scores)."""
    base = (
        metric.split("_", 1)[0] if metric.startswith(("precision_", "recall_", "f1_")) else metric
    )
    return metric in HIGHER_IS_BETTER or base in ("precision", "recall", "f1")


def positive_label(classes: list[Any], pos_label: Any) -> Any:
    """The positive class of a binary task (None for other tasks): `pos_label` (matched as
    given, or by its text) when given, else the second class as scikit-learn orders them."""
    if pos_label is not None:
        for c in classes:
            if c == pos_label or str(c) == str(pos_label):
                return c
        raise ValueError(
            f"xt.evaluate: pos_label={pos_label!r} is not one of the model's classes "
            f"{[str(c) for c in classes]}"
        )
    return classes[1] if len(classes) == 2 else None


def score_matrix(pred: Predictions) -> np.ndarray | None:
    """(n, k) scores in class order: probabilities, else decision values (a binary decision
    function's one column says how much the row is `classes[1]`)."""
    if pred.proba is not None:
        return pred.proba
    if pred.decision is None:
        return None
    d = pred.decision
    return np.column_stack([-d, d]) if d.ndim == 1 else d


def classifier_metrics(y: np.ndarray, pred: Predictions, pos: Any) -> dict[str, float]:
    """The headline scores of a classifier on (y, pred); metrics that cannot be computed
    (one class only in y, no probabilities) are left out rather than guessed."""
    from sklearn import metrics as m  # lazy: scikit-learn loads with the first evaluation

    yp = pred.predicted
    out = {
        "example_count": float(len(y)),
        "accuracy_score": m.accuracy_score(y, yp),
        "balanced_accuracy": m.balanced_accuracy_score(y, yp),
    }
    binary = pos is not None
    avg: dict[str, Any] = (
        {"average": "binary", "pos_label": pos}
        if binary
        else {"average": "macro", "labels": pred.classes}
    )
    for name, fn in (
        ("precision_score", m.precision_score),
        ("recall_score", m.recall_score),
        ("f1_score", m.f1_score),
    ):
        out[name] = fn(y, yp, zero_division=0, **avg)
    scores = score_matrix(pred)
    if scores is not None:
        out.update(_areas(y, scores, pred.classes, pos))
    if pred.proba is not None and set(np.unique(y).tolist()) <= set(pred.classes):
        out["log_loss"] = m.log_loss(y, pred.proba, labels=pred.classes)
        if binary:
            column = pred.proba[:, pred.classes.index(pos)]
            out["brier_score_loss"] = m.brier_score_loss(y == pos, column)
    return {k: float(v) for k, v in out.items()}


def _areas(y: np.ndarray, scores: np.ndarray, classes: list[Any], pos: Any) -> dict[str, float]:
    """ROC AUC and PR AUC (MLflow's: the area under the precision-recall curve) of the
    positive class, or their one-vs-rest macro average over the classes present in y."""
    wanted = [pos] if pos is not None else classes
    found = [class_areas(y == c, scores[:, classes.index(c)]) for c in wanted]
    per = [a for a in found if a is not None]
    if not per:
        return {}
    return {
        "roc_auc": float(np.mean([a[0] for a in per])),
        "precision_recall_auc": float(np.mean([a[1] for a in per])),
    }


def class_areas(truth: np.ndarray, score: np.ndarray) -> tuple[float, float] | None:
    """(ROC AUC, PR AUC) of one class against the rest; None when y holds only one side."""
    from sklearn import metrics as m  # lazy: as above

    truth = np.asarray(truth, dtype=bool)
    if truth.all() or not truth.any():
        return None
    precision, recall, _ = m.precision_recall_curve(truth, score)
    return float(m.roc_auc_score(truth, score)), float(m.auc(recall, precision))


def per_class(y: np.ndarray, pred: Predictions) -> dict[str, ClassMetrics]:
    """Precision, recall, F1 and support of every class, keyed by the class as text."""
    from sklearn.metrics import precision_recall_fscore_support  # lazy: as above

    p, r, f, s = precision_recall_fscore_support(
        y, pred.predicted, labels=pred.classes, zero_division=0
    )
    return {
        str(c): ClassMetrics(
            precision=float(p[i]), recall=float(r[i]), f1=float(f[i]), support=int(s[i])
        )
        for i, c in enumerate(pred.classes)
    }


def per_class_metrics(classes: dict[str, ClassMetrics]) -> dict[str, float]:
    """The per-class scores as run metrics: `precision_<label>`, `recall_<label>`, `f1_<label>`."""
    return {
        f"{name}_{label}": float(values[name])
        for label, values in classes.items()
        for name in ("precision", "recall", "f1")
    }


def confusion(y: np.ndarray, pred: Predictions) -> dict[str, Any]:
    """The confusion matrix, rows the true class, columns the predicted one."""
    from sklearn.metrics import confusion_matrix  # lazy: as above

    matrix = confusion_matrix(y, pred.predicted, labels=pred.classes)
    return {"labels": [str(c) for c in pred.classes], "matrix": matrix.astype(int).tolist()}


def regressor_metrics(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE, MSE, RMSE, R², MAPE and max error, MLflow's names."""
    from sklearn import metrics as m  # lazy: as above

    y = np.asarray(y, dtype=float)
    mse = m.mean_squared_error(y, predicted)
    out = {
        "example_count": float(len(y)),
        "mean_absolute_error": m.mean_absolute_error(y, predicted),
        "mean_squared_error": mse,
        "root_mean_squared_error": np.sqrt(mse),
        "mean_absolute_percentage_error": m.mean_absolute_percentage_error(y, predicted),
        "max_error": m.max_error(y, predicted),
    }
    if len(y) > 1:
        out["r2_score"] = m.r2_score(y, predicted)
    return {k: float(v) for k, v in out.items()}


def headline(y: np.ndarray, pred: Predictions, pos: Any) -> dict[str, float]:
    """The scores of either kind of model (what slices and comparisons use)."""
    if pred.model_type == "regressor":
        return regressor_metrics(y, pred.predicted)
    return classifier_metrics(y, pred, pos)


def shortfall(metric: str, value: float, reference: float) -> float:
    """How much worse `value` is than `reference` (positive: worse; negative: better), in
    the metric's own units, whichever way the metric points."""
    return reference - value if higher_is_better(metric) else value - reference


def worse_by_margin(metric: str, value: float, reference: float, margin: float) -> bool:
    """A slice's metric worse than the whole's by more than `margin`: absolute for scores
    bounded in [0, 1] and R², relative to the whole's value for unbounded losses and errors
    (a margin of 0.05 means 5 % more error)."""
    gap = shortfall(metric, value, reference)
    if metric in BOUNDED or metric == "r2_score" or higher_is_better(metric):
        return gap > margin
    return gap > margin * max(abs(reference), 1e-12)
