"""Permutation importance within a time budget: the drop in a score when one feature's
values are shuffled. What it costs is measured first (one scoring of a sample), then the
rows and repeats are chosen to fit the budget; the note says what was done. Computed here
rather than by scikit-learn's `permutation_importance`, which accepts only estimators with
`fit`: a duck-typed model or a torch module has none."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .model import rows

MAX_ROWS = 2000
MAX_REPEATS = 5
MIN_ROWS = 50
MAX_FEATURES_KEPT = 50

Scorer = Callable[[Any, Any, Any], float]
Pause = Callable[[float], object]  # called between scorings with the budget's seconds left


def feature_names(X: Any) -> list[str]:
    if hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    width = np.asarray(X).shape[1] if np.asarray(X).ndim == 2 else 1
    return [f"x{i}" for i in range(width)]


def permutation(
    model: Any,
    X: Any,
    y: np.ndarray,
    scorer: Scorer,
    score_name: str,
    budget_s: float,
    seed: int = 0,
    pause: Pause | None = None,
) -> tuple[list[dict[str, Any]], str]:
    """([{"feature", "mean", "std"}], what was done), most important first. `pause`, if
    given, is called before each feature's scoring (the automatic evaluation, when it runs
    in the kernel, waits there while a cell runs: the time counts against the budget)."""
    names = feature_names(X)
    rng = np.random.default_rng(seed)
    n = len(y)
    index = np.sort(rng.choice(n, MAX_ROWS, replace=False)) if n > MAX_ROWS else np.arange(n)
    start = time.perf_counter()
    scorer(model, rows(X, index), y[index])
    one = max(time.perf_counter() - start, 1e-6)  # one scoring of the sample
    repeats = int(budget_s / (one * max(len(names), 1)))
    if repeats < 1:
        shrunk = int(len(index) * budget_s / (one * len(names)))
        if shrunk < MIN_ROWS:
            return [], (
                f"skipped: one pass over {len(names)} features would take about "
                f"{one * len(names):.1f} s, over the {budget_s:g} s budget"
            )
        index = np.sort(rng.choice(index, shrunk, replace=False))
        repeats = 1
    repeats = min(repeats, MAX_REPEATS)
    deadline = start + budget_s
    drops = _drops(model, rows(X, index), y[index], scorer, repeats, rng, deadline, pause)
    repeats = drops.shape[1]
    means, stds = drops.mean(axis=1), drops.std(axis=1)
    found = [
        {"feature": names[i], "mean": float(means[i]), "std": float(stds[i])}
        for i in np.argsort(-means)[:MAX_FEATURES_KEPT]
    ]
    kept = "" if len(names) <= MAX_FEATURES_KEPT else f"; the top {MAX_FEATURES_KEPT} kept"
    note = f"drop in {score_name} over {repeats} repeat(s) on {len(index)} of {n} rows{kept}"
    return found, note


def _drops(
    model: Any,
    X: Any,
    y: np.ndarray,
    scorer: Scorer,
    repeats: int,
    rng: np.random.Generator,
    deadline: float,
    pause: Pause | None = None,
) -> np.ndarray:
    """(features, repeats done) drops in the score, one column shuffled at a time in a copy.
    A repeat (every feature once) that would end past `deadline`, as the ones before took,
    is not started: a loaded machine gets fewer repeats, never a longer wait; the first is
    always done."""
    frame = hasattr(X, "iloc")
    data: Any = X.copy() if frame else np.array(X, copy=True)
    base = scorer(model, data, y)
    out = np.empty((data.shape[1], repeats))
    begun = time.perf_counter()
    for r in range(repeats):
        if r and time.perf_counter() + (time.perf_counter() - begun) / r > deadline:
            return out[:, :r]
        for j in range(data.shape[1]):
            if pause is not None:
                pause(max(0.0, deadline - time.perf_counter()))
            original = np.asarray(data.iloc[:, j] if frame else data[:, j]).copy()
            _set_column(data, j, original[rng.permutation(len(y))], frame)
            out[j, r] = base - scorer(model, data, y)
            _set_column(data, j, original, frame)
    return out


def _set_column(data: Any, j: int, values: np.ndarray, frame: bool) -> None:
    if frame:
        data.iloc[:, j] = values
    else:
        data[:, j] = values
