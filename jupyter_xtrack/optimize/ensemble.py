"""Caruana-style greedy ensemble selection: add, with replacement, the candidate whose
out-of-fold predictions most improve the averaged prediction's score; the ensemble is kept
only when it beats the best single model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sklearn.base import BaseEstimator


def caruana_weights(
    predictions: Sequence[Any],
    score: Callable[[Any], float],
    *,
    rounds: int = 40,
) -> list[float]:
    """Weights (summing to 1) over `predictions` (each an out-of-fold prediction array of
    the same shape) chosen greedily with replacement; `score(pred)` is higher-is-better."""
    import numpy as np

    preds = [np.asarray(p, dtype="float64") for p in predictions]
    counts = [0] * len(preds)
    total = np.zeros_like(preds[0])
    best_score = -float("inf")
    best_counts = list(counts)
    for size in range(1, rounds + 1):
        trial_scores = [score((total + p) / size) for p in preds]
        pick = int(np.argmax(trial_scores))
        counts[pick] += 1
        total = total + preds[pick]
        if trial_scores[pick] > best_score + 1e-12:
            best_score = trial_scores[pick]
            best_counts = list(counts)
    n = sum(best_counts)
    return [c / n for c in best_counts]


class WeightedEnsemble(BaseEstimator):
    """A fitted weighted average of fitted pipelines (probabilities for classifiers)."""

    def __init__(self, members: list[Any], weights: list[float], task: str,
                 classes: Any = None) -> None:
        self.members = members
        self.weights = weights
        self.task = task
        self.classes = classes

    @property
    def classes_(self) -> Any:
        return self.classes

    @property
    def _estimator_type(self) -> str:
        return "regressor" if self.task == "regression" else "classifier"

    def fit(self, X: Any, y: Any) -> WeightedEnsemble:  # noqa: N803
        for member in self.members:
            member.fit(X, y)
        return self

    def predict_proba(self, X: Any) -> Any:  # noqa: N803
        import numpy as np

        total = None
        for member, w in zip(self.members, self.weights, strict=True):
            p = aligned_proba(member, X, self.classes) * w
            total = p if total is None else total + p
        return np.asarray(total)

    def predict(self, X: Any) -> Any:  # noqa: N803
        import numpy as np

        if self.task == "regression":
            return sum(np.asarray(m.predict(X), dtype="float64") * w
                       for m, w in zip(self.members, self.weights, strict=True))
        return np.asarray(self.classes)[self.predict_proba(X).argmax(axis=1)]


def aligned_proba(model: Any, X: Any, classes: Any) -> Any:  # noqa: N803
    """`model.predict_proba(X)` with one column per class of `classes` (zeros for a class
    the model never saw in training)."""
    import numpy as np

    p = np.asarray(model.predict_proba(X), dtype="float64")
    own = list(getattr(model, "classes_", classes))
    if len(own) == len(classes) and all(a == b for a, b in zip(own, classes, strict=True)):
        return p
    out = np.zeros((p.shape[0], len(classes)))
    index = {c: i for i, c in enumerate(classes)}
    for j, c in enumerate(own):
        out[:, index[c]] = p[:, j]
    return out
