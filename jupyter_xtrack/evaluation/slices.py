"""Every metric per slice of the data (`slices=["country", "age_band"]`: columns of X, or
Series aligned with it), with counts, and the slices whose metric is worse than on the whole
data by more than a margin. A slice of fewer than `MIN_COUNT` rows says so instead of giving
numbers that would mostly be noise; a numeric column of many values is cut into quantiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..facts import SliceReport
from .metrics import NOT_COMPARED, headline, worse_by_margin
from .model import Predictions, take

MIN_COUNT = 30
MAX_VALUES = 20  # a numeric column with more distinct values is cut into QUANTILES bins
QUANTILES = 5


def slice_values(X: Any, spec: Any, n: int, position: int) -> tuple[str, list[str]]:
    """(name, the slice value of every row as text) of one slice spec."""
    import pandas as pd  # lazy: slices are a pandas affair

    if isinstance(spec, str):
        if not hasattr(X, "columns") or spec not in X.columns:
            raise ValueError(
                f"xt.evaluate: slice {spec!r} is not a column of X; pass a column name of a "
                "DataFrame X, or a Series aligned with X"
            )
        column, name = X[spec], spec
    else:
        column = pd.Series(np.asarray(spec))
        name = str(getattr(spec, "name", None) or f"slice_{position}")
    if len(column) != n:
        raise ValueError(f"xt.evaluate: slice {name!r} has {len(column)} values for {n} rows")
    column = pd.Series(np.asarray(column))
    if column.dtype.kind in "iuf" and column.nunique() > MAX_VALUES:
        column = pd.qcut(column, QUANTILES, duplicates="drop")
    return name, ["<missing>" if pd.isna(v) else str(v) for v in column]


def slice_reports(
    X: Any,
    y: np.ndarray,
    pred: Predictions,
    pos: Any,
    whole: dict[str, float],
    specs: Sequence[Any],
    margin: float,
) -> list[SliceReport]:
    """One report per (slice, value), most rows first within a slice."""
    out: list[SliceReport] = []
    for position, spec in enumerate(specs):
        name, values = slice_values(X, spec, len(y), position)
        labels = np.asarray(values, dtype=object)
        counts: dict[str, int] = {}
        for v in values:
            counts[v] = counts.get(v, 0) + 1
        for value, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(_one(name, value, count, labels == value, y, pred, pos, whole, margin))
    return out


def _one(
    name: str,
    value: str,
    count: int,
    mask: np.ndarray,
    y: np.ndarray,
    pred: Predictions,
    pos: Any,
    whole: dict[str, float],
    margin: float,
) -> SliceReport:
    report = SliceReport(column=name, value=value, count=count, metrics={}, worse=[])
    if count < MIN_COUNT:
        report["note"] = f"too few rows ({count} < {MIN_COUNT}) for metrics worth reading"
        return report
    metrics = headline(y[mask], take(pred, mask), pos)
    report["metrics"] = metrics
    report["worse"] = [
        k
        for k, v in metrics.items()
        if k in whole and k not in NOT_COMPARED and worse_by_margin(k, v, whole[k], margin)
    ]
    return report
