"""The live model as the evaluation sees it: labels, predictions and scores from any object
with `predict` (and `predict_proba` / `decision_function` where it has them), scikit-learn
or not, and from torch modules through a small adapter (torch stays optional)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..facts import ModelType


@dataclass
class Predictions:
    """What one model says about one data set."""

    model_type: ModelType
    predicted: np.ndarray  # labels (classifiers) or values (regressors)
    classes: list[Any]  # the estimator's classes, in its order ([] for regressors)
    proba: np.ndarray | None  # (n, k) probabilities in `classes` order, when the model gives them
    decision: np.ndarray | None  # decision_function, when there are no probabilities


def model_name(model: Any) -> str:
    """The estimator's class name (a pipeline's last step, which says what it is)."""
    final = getattr(model, "_final_estimator", None)
    inner = f"({type(final).__name__})" if final is not None and final is not model else ""
    return f"{type(model).__name__}{inner}"


def as_predictor(model: Any) -> Any:
    """`model` itself when it predicts; a `TorchModel` for a torch module. A clear error
    for anything else, before any work is done."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        return TorchModel(model)
    if not callable(getattr(model, "predict", None)):
        raise TypeError(
            f"xt.evaluate: {type(model).__name__} has no predict(); pass a fitted estimator "
            "(scikit-learn, or any object with predict / predict_proba) or a torch module"
        )
    return model


def model_type_of(model: Any, y: np.ndarray) -> ModelType:
    """Classifier when the model says so (scikit-learn's estimator type, `classes_`,
    `predict_proba`), regressor otherwise."""
    kind = getattr(model, "_estimator_type", None)
    if kind in ("classifier", "regressor"):
        return "classifier" if kind == "classifier" else "regressor"
    tags = getattr(model, "__sklearn_tags__", None)
    if callable(tags):
        try:
            return "classifier" if tags().estimator_type == "classifier" else "regressor"
        except Exception:  # noqa: BLE001 - a duck-typed model: judged below
            pass
    if hasattr(model, "classes_") or callable(getattr(model, "predict_proba", None)):
        return "classifier"
    return "regressor"


def predict(model: Any, X: Any, y: np.ndarray) -> Predictions:
    """Predictions, probabilities (else decision scores) and classes of `model` on `X`."""
    kind = model_type_of(model, y)
    predicted = np.asarray(model.predict(X))
    if kind == "regressor":
        return Predictions(kind, predicted.astype(float).ravel(), [], None, None)
    known = getattr(model, "classes_", None)
    classes: list[Any] = [] if known is None else list(known)
    if not classes:
        classes = sorted(set(np.asarray(y).tolist()) | set(predicted.tolist()))
    proba = decision = None
    if callable(getattr(model, "predict_proba", None)):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        if proba.ndim == 1:
            proba = np.column_stack([1 - proba, proba])
    elif callable(getattr(model, "decision_function", None)):
        decision = np.asarray(model.decision_function(X), dtype=float)
    return Predictions(kind, predicted, classes, proba, decision)


class TorchModel:
    """A torch module as an estimator: rows in, one output per row. Outputs of one column
    are a regression; of k columns, k-class logits (softmax gives the probabilities, the
    classes are 0..k-1). Runs in eval mode without gradients, on the module's device."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def _forward(self, X: Any) -> np.ndarray:
        import torch  # optional: only here, for a torch module the user passed

        param = next(self.module.parameters(), None)
        device = param.device if param is not None else "cpu"
        values = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float32)
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                out = self.module(torch.from_numpy(values).to(device)).detach().cpu().numpy()
        finally:
            self.module.train(was_training)
        return np.asarray(out.reshape(len(values), -1))

    @property
    def _estimator_type(self) -> str:
        return "classifier" if self._width() > 1 else "regressor"

    def _width(self) -> int:
        out_features = [getattr(m, "out_features", None) for m in self.module.modules()]
        last = [w for w in out_features if isinstance(w, int)]
        return last[-1] if last else 1

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self._width())

    def predict(self, X: Any) -> np.ndarray:
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out.argmax(axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        # In float64: float32 probabilities miss summing to one by more than scikit-learn's
        # log_loss tolerates, and it warns on every evaluation.
        out = self._forward(X).astype(np.float64)
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))


def rows(data: Any, index: np.ndarray) -> Any:
    """The rows `index` (positions or a boolean mask) of a DataFrame, Series or array."""
    return data.iloc[index] if hasattr(data, "iloc") else np.asarray(data)[index]


def take(pred: Predictions, index: np.ndarray) -> Predictions:
    """The predictions of some rows only (a slice, a sample)."""
    return Predictions(
        pred.model_type,
        pred.predicted[index],
        pred.classes,
        None if pred.proba is None else pred.proba[index],
        None if pred.decision is None else pred.decision[index],
    )
