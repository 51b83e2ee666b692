"""Curves as data: ROC, precision-recall and calibration (classifiers), residuals and
predicted vs actual (regressors), each thinned to at most `MAX_POINTS` points so that the
fact stays small and the sidebar's chart module draws them as they are."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..facts import Curve
from .metrics import score_matrix
from .model import Predictions

MAX_POINTS = 200
_GRID = np.linspace(0.0, 1.0, 101)  # where the macro curves average their classes


def thin(x: np.ndarray, y: np.ndarray, limit: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most `limit` points, evenly spread along the curve, first and last kept."""
    if len(x) > limit:
        keep = np.unique(np.linspace(0, len(x) - 1, limit).round().astype(int))
        x, y = x[keep], y[keep]
    return [float(v) for v in x], [float(v) for v in y]


def curve(label: str, x: np.ndarray, y: np.ndarray, area: float | None) -> Curve:
    xs, ys = thin(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return Curve(label=label, x=xs, y=ys, area=area)


def classifier_curves(y: np.ndarray, pred: Predictions, pos: Any) -> dict[str, list[Curve]]:
    """ROC and PR curves of the positive class (binary) or of every class against the rest
    plus their macro average (multiclass); calibration curves where there are probabilities."""
    scores = score_matrix(pred)
    if scores is None:
        return {}
    wanted = [pos] if pos is not None else pred.classes
    roc: list[Curve] = []
    pr: list[Curve] = []
    calibration: list[Curve] = []
    for c in wanted:
        truth = np.asarray(y == c, dtype=bool)
        if truth.all() or not truth.any():
            continue  # one side only: no curve
        column = scores[:, pred.classes.index(c)]
        roc.append(_roc(str(c), truth, column))
        pr.append(_pr(str(c), truth, column))
        if pred.proba is not None:
            calibration.append(_calibration(str(c), truth, column))
    if pos is None and len(roc) > 1:
        roc.append(_macro(roc, "macro"))
        pr.append(_macro(pr, "macro", descending=True))
    out = {"roc": roc, "pr": pr}
    if calibration:
        out["calibration"] = calibration
    return out


def _roc(label: str, truth: np.ndarray, score: np.ndarray) -> Curve:
    from sklearn.metrics import auc, roc_curve  # lazy: with the first evaluation

    fpr, tpr, _ = roc_curve(truth, score)
    return curve(label, fpr, tpr, float(auc(fpr, tpr)))


def _pr(label: str, truth: np.ndarray, score: np.ndarray) -> Curve:
    from sklearn.metrics import auc, precision_recall_curve  # lazy: as above

    precision, recall, _ = precision_recall_curve(truth, score)
    return curve(label, recall, precision, float(auc(recall, precision)))


def _calibration(label: str, truth: np.ndarray, proba: np.ndarray) -> Curve:
    from sklearn.calibration import calibration_curve  # lazy: as above

    frac, mean = calibration_curve(truth, proba, n_bins=10)
    return curve(label, mean, frac, None)


def _macro(curves: list[Curve], label: str, *, descending: bool = False) -> Curve:
    """The classes' curves averaged on one grid of x (PR curves run from recall 1 to 0)."""
    ys = []
    for c in curves:
        x, y = np.asarray(c["x"]), np.asarray(c["y"])
        if descending:
            x, y = x[::-1], y[::-1]
        ys.append(np.interp(_GRID, x, y))
    areas = [c["area"] for c in curves if c.get("area") is not None]
    area = float(np.mean(areas)) if areas else None  # type: ignore[arg-type]
    return curve(label, _GRID, np.mean(ys, axis=0), area)


def regressor_curves(y: np.ndarray, predicted: np.ndarray, seed: int = 0) -> dict[str, list[Curve]]:
    """Residuals against predictions, and predictions against the truth, on a sample of rows."""
    y = np.asarray(y, dtype=float)
    rows = np.arange(len(y))
    if len(rows) > MAX_POINTS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, MAX_POINTS, replace=False))
    p, t = predicted[rows], y[rows]
    return {
        "residuals": [Curve(label="", x=p.tolist(), y=(t - p).tolist(), area=None)],
        "predicted_actual": [Curve(label="", x=t.tolist(), y=p.tolist(), area=None)],
    }
