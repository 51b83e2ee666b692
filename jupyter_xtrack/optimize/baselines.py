"""Baselines that every AutoML search runs first and keeps on its leaderboard, so a user
sees what the models add: the zero rule, a stratified random guess, and a one-feature rule."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, RegressorMixin

BASELINES = ("zero_rule", "random_guess", "one_feature_rule")


def baseline_estimator(name: str, task: str, seed: int) -> Any:
    """The estimator for baseline `name`: majority class / mean, a random guess drawn from
    the training distribution, or a depth-1 decision tree (one split on one feature)."""
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    clf = task != "regression"
    if name == "zero_rule":
        return DummyClassifier(strategy="prior") if clf else DummyRegressor(strategy="mean")
    if name == "random_guess":
        return DummyClassifier(strategy="stratified", random_state=seed) if clf else RandomGuessRegressor(seed)
    if name == "one_feature_rule":
        cls = DecisionTreeClassifier if clf else DecisionTreeRegressor
        return cls(max_depth=1, random_state=seed)
    raise ValueError(f"unknown baseline {name!r}; baselines are {', '.join(BASELINES)}")


class RandomGuessRegressor(RegressorMixin, BaseEstimator):
    """Predicts values drawn at random from the training targets."""

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> RandomGuessRegressor:  # noqa: N803
        import numpy as np

        self.values_ = np.asarray(y, dtype="float64")
        return self

    def predict(self, X: Any) -> Any:  # noqa: N803
        import numpy as np

        rng = np.random.default_rng(self.random_state)
        return rng.choice(self.values_, size=len(X))
