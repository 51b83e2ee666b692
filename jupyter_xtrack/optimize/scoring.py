"""What an AutoML search optimizes: the task (binary, multiclass, regression) detected from
the target, and the metric, with defaults that fit the task.

Predictions are compared in one form per task: class probabilities (n, classes) for
classification, values (n,) for regression; every metric reads that form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TASKS = ("binary", "multiclass", "regression")
DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "r2"}
MAX_CLASSES_FOR_INT_TARGET = 20


@dataclass(frozen=True)
class Metric:
    """A metric: `value(y, pred)` in its own units; `greater_is_better` orders candidates."""

    name: str
    greater_is_better: bool
    fn: Callable[[Any, Any, Any], float]

    def value(self, y: Any, pred: Any, classes: Any = None) -> float:
        return float(self.fn(y, pred, classes))

    def score(self, y: Any, pred: Any, classes: Any = None) -> float:
        """Higher is better, whatever the metric."""
        v = self.value(y, pred, classes)
        return v if self.greater_is_better else -v


def detect_task(y: Any) -> str:
    """binary, multiclass or regression, from the target's type and distinct values."""
    import numpy as np
    import pandas as pd

    s = pd.Series(y).dropna()
    n_unique = s.nunique()
    if n_unique <= 2:
        return "binary"
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return "multiclass"
    values = s.to_numpy(dtype="float64")
    if np.all(values == np.round(values)) and n_unique <= MAX_CLASSES_FOR_INT_TARGET:
        return "multiclass"
    return "regression"


def metric_names(task: str) -> list[str]:
    """The metrics `get_metric` accepts for `task`, sorted."""
    return sorted(_REGRESSION if task == "regression" else _CLASSIFICATION)


def get_metric(name: str | None, task: str) -> Metric:
    """The metric called `name` (None: the task's default). ValueError lists the choices."""
    key = (name or DEFAULT_METRIC[task]).lower()
    table = _CLASSIFICATION if task != "regression" else _REGRESSION
    if key not in table:
        raise ValueError(
            f"metric {name!r} does not fit a {task} task; use one of {', '.join(sorted(table))}"
        )
    greater, fn = table[key]
    if key == "roc_auc" and task == "multiclass":
        fn = _roc_auc_ovr
    return Metric(key, greater, fn)


# Metrics are computed with numpy directly: the ensemble selection evaluates hundreds of
# blends, and scikit-learn's input validation would dominate its time.
def _codes(y: Any, classes: Any) -> Any:
    import numpy as np

    return np.searchsorted(np.asarray(classes), np.asarray(y))


def _labels(pred: Any, classes: Any) -> Any:
    import numpy as np

    return np.asarray(classes)[np.asarray(pred).argmax(axis=1)]


def _accuracy(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np

    return float(np.mean(np.asarray(pred).argmax(axis=1) == _codes(y, classes)))


def _balanced(y: Any, pred: Any, classes: Any) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, _labels(pred, classes)))


def _f1(y: Any, pred: Any, classes: Any) -> float:
    from sklearn.metrics import f1_score

    average = "binary" if len(classes) == 2 else "macro"
    kwargs = {"pos_label": classes[1]} if average == "binary" else {}
    return float(f1_score(y, _labels(pred, classes), average=average, **kwargs))


def _roc_auc(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    y = np.asarray(y)
    if len(classes) > 2:
        return _roc_auc_ovr(y, pred, classes)
    from scipy.stats import rankdata

    positive = y == classes[1]
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float(roc_auc_score(positive, np.asarray(pred)[:, 1]))  # raises its own message
    ranks = rankdata(np.asarray(pred)[:, 1])
    # Mann-Whitney U: the probability that a positive ranks above a negative (ties half).
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _roc_auc_ovr(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    p = np.clip(np.asarray(pred, dtype="float64"), 1e-12, None)
    p = p / p.sum(axis=1, keepdims=True)
    return float(roc_auc_score(y, p, multi_class="ovr", labels=list(classes)))


def _log_loss(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np

    p = np.clip(np.asarray(pred, dtype="float64"), 1e-15, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    picked = p[np.arange(len(p)), _codes(y, classes)]
    return float(-np.mean(np.log(picked)))


def _r2(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np

    yv = np.asarray(y, dtype="float64")
    ss_res = float(np.sum((yv - np.asarray(pred, dtype="float64")) ** 2))
    ss_tot = float(np.sum((yv - yv.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0


def _rmse(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np

    return float(np.sqrt(np.mean((np.asarray(y, dtype="float64") - np.asarray(pred)) ** 2)))


def _mae(y: Any, pred: Any, classes: Any) -> float:
    import numpy as np

    return float(np.mean(np.abs(np.asarray(y, dtype="float64") - np.asarray(pred))))


_CLASSIFICATION: dict[str, tuple[bool, Callable[[Any, Any, Any], float]]] = {
    "roc_auc": (True, _roc_auc),
    "accuracy": (True, _accuracy),
    "balanced_accuracy": (True, _balanced),
    "f1": (True, _f1),
    "log_loss": (False, _log_loss),
}
_REGRESSION: dict[str, tuple[bool, Callable[[Any, Any, Any], float]]] = {
    "r2": (True, _r2),
    "rmse": (False, _rmse),
    "mae": (False, _mae),
}


# Which way a metric is better, read from the words of its name: the one table behind a
# sweep's direction when none is given and the Launch form's suggestion (the AutoML metrics
# above agree with it: tests/optimize/test_sweep_direction.py checks each).
_LOWER_IS_BETTER = frozenset(
    "loss losses error errors err rmse mse mae mape smape msle rmsle medae nll nlpd deviance "
    "brier logloss crossentropy xent entropy perplexity ppl cost regret wer cer hamming bouldin "
    "distance divergence kl hinge inertia fid fpr fnr eer time latency".split()
)
_HIGHER_IS_BETTER = frozenset(
    "acc accuracy auc roc auroc auprc ap map f1 f2 fbeta r2 d2 precision recall sensitivity "
    "specificity tpr tnr iou miou dice jaccard bleu rouge meteor ndcg mrr hit hits hitrate top1 "
    "top5 kappa mcc matthews silhouette ari ami nmi rand mutual homogeneity completeness "
    "calinski harabasz fowlkes mallows explained likelihood loglik elbo reward return returns "
    "sharpe psnr ssim gain lift throughput".split()
)
# A word that says "higher is better" only when nothing more specific is said (brier_score).
_WEAK_HIGHER = frozenset({"score", "scores"})
# Glued words (valloss, trainerror): these endings are unambiguous.
_LOWER_SUFFIXES = ("loss", "error")
# The direction of a metric whose name says nothing (a sweep says so when it uses it).
DEFAULT_DIRECTION = "maximize"
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z][a-z0-9]*|[0-9]+")


def metric_direction(name: str | None) -> str | None:
    """The direction ("minimize" or "maximize") the metric's name says (val_rmse, log_loss, brier_score,
    valLoss; val_acc, f1, r2_score, silhouette), or None when it says nothing or both. A
    `neg` word turns it round (neg_mean_squared_error is maximized)."""
    if not name:
        return None
    words = _WORD.findall(_CAMEL.sub(r"\1_\2", name).lower())
    lower = higher = weak = flip = False
    for word in words:
        bare = word.rstrip("0123456789") or word
        if word in _LOWER_IS_BETTER or bare in _LOWER_IS_BETTER or word.endswith(_LOWER_SUFFIXES):
            lower = True
        elif word in _HIGHER_IS_BETTER or bare in _HIGHER_IS_BETTER:
            higher = True
        elif word in _WEAK_HIGHER:
            weak = True
        elif word in ("neg", "negative"):
            flip = not flip
    if lower == higher:  # neither, or both (a contradiction): only a plain "score" decides
        if lower or not weak:
            return None
        higher = True
    maximize = higher != flip
    return "maximize" if maximize else "minimize"


# The time-budget grammar, shared with the sidebar (labextension/src/jobsModel.ts
# parseBudget); both are tested on the cases in labextension/test/fixtures/time_budgets.json.
# ASCII digits and explicit letters: Python's \d and re.I also match other scripts.
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_BUDGET_SECONDS = re.compile(_NUMBER)
_BUDGET_TERMS = re.compile(rf"(?:{_NUMBER}\s*[hHmMsS]\s*)+")
_BUDGET_TERM = re.compile(rf"({_NUMBER})\s*([hHmMsS])")
_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}


def parse_budget(budget: float | int | str) -> float:
    """Seconds from a number or a string: a plain number of seconds ("90", "2.5"), or terms
    NUMBER UNIT summed ("30s", "5m", "1.5h", "1h30m", "1h 30m"), UNIT being s, m or h in
    either case; whitespace around and between terms is allowed. Must be more than 0."""
    if isinstance(budget, bool):
        raise ValueError(f"time_budget must be seconds or a string like '5m', got {budget!r}")
    if isinstance(budget, (int, float)):
        seconds = float(budget)
    else:
        text = str(budget).strip()
        if _BUDGET_SECONDS.fullmatch(text):
            seconds = float(text)
        elif _BUDGET_TERMS.fullmatch(text):
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _BUDGET_TERM.findall(text))
        else:
            raise ValueError(
                f"time_budget {budget!r} is not a duration; write seconds (90) or a string like "
                "'30s', '5m', '1h', '1h30m'"
            )
    if not seconds > 0:
        raise ValueError(f"time_budget must be positive, got {budget!r}")
    return seconds
