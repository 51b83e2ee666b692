"""Data sets and fitted models the evaluation tests share (small: the CI machine is busy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _auto_eval_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The automatic evaluation is on here (tests/conftest.py turns it off elsewhere); the
    kernels nbclient starts inherit it."""
    monkeypatch.setenv("XTRACK_AUTO_EVAL", "1")


@pytest.fixture(scope="module")
def binary_yes_no() -> tuple[Any, Any, Any]:
    """A logistic regression on labels "no"/"yes" (classes_ == ["no", "yes"]), and its data."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(n_samples=300, n_features=5, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    return LogisticRegression().fit(X, labels), X, labels
