"""LightGBM and XGBoost families, present only when those libraries are installed."""

from __future__ import annotations

import importlib.util
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin

from . import Family


def _installed(module: str) -> Any:
    return lambda: importlib.util.find_spec(module) is not None


def _defaults(prefix: str) -> Any:
    def defaults(task: str, n: int) -> dict[str, Any]:
        return {f"{prefix}.n_estimators": 300, f"{prefix}.learning_rate": 0.05,
                f"{prefix}.num_leaves": 31, f"{prefix}.min_child": 20, f"{prefix}.subsample": 0.9,
                f"{prefix}.colsample": 0.9, f"{prefix}.reg_lambda": 1.0}

    return defaults


def _suggest(prefix: str) -> Any:
    def suggest(trial: Any, task: str, n: int) -> dict[str, Any]:
        return {
            f"{prefix}.n_estimators": trial.suggest_int(f"{prefix}.n_estimators", 50, 1000, log=True),
            f"{prefix}.learning_rate": trial.suggest_float(f"{prefix}.learning_rate", 0.01, 0.3, log=True),
            f"{prefix}.num_leaves": trial.suggest_int(f"{prefix}.num_leaves", 4, 256, log=True),
            f"{prefix}.min_child": trial.suggest_int(f"{prefix}.min_child", 2, 100, log=True),
            f"{prefix}.subsample": trial.suggest_float(f"{prefix}.subsample", 0.5, 1.0),
            f"{prefix}.colsample": trial.suggest_float(f"{prefix}.colsample", 0.4, 1.0),
            f"{prefix}.reg_lambda": trial.suggest_float(f"{prefix}.reg_lambda", 1e-3, 10.0, log=True),
        }

    return suggest


def _lgbm_build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    return cls(
        n_estimators=p["lgbm.n_estimators"],
        learning_rate=p["lgbm.learning_rate"],
        num_leaves=p["lgbm.num_leaves"],
        min_child_samples=p["lgbm.min_child"],
        subsample=p["lgbm.subsample"],
        subsample_freq=1,
        colsample_bytree=p["lgbm.colsample"],
        reg_lambda=p["lgbm.reg_lambda"],
        random_state=seed,
        n_jobs=-1,
        verbose=-1,
    )


def _xgb_build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
    import xgboost as xgb

    kwargs = dict(
        n_estimators=p["xgb.n_estimators"],
        learning_rate=p["xgb.learning_rate"],
        max_leaves=p["xgb.num_leaves"],
        max_depth=0,
        grow_policy="lossguide",
        min_child_weight=p["xgb.min_child"] / 10,
        subsample=p["xgb.subsample"],
        colsample_bytree=p["xgb.colsample"],
        reg_lambda=p["xgb.reg_lambda"],
        tree_method="hist",
        device="cuda" if device.startswith("cuda") else "cpu",
        random_state=seed,
        n_jobs=-1,
        verbosity=0,
    )
    if task == "regression":
        return xgb.XGBRegressor(**kwargs)
    return EncodedLabelClassifier(xgb.XGBClassifier(**kwargs))


class EncodedLabelClassifier(ClassifierMixin, BaseEstimator):
    """Fits a classifier that wants labels 0..k-1 on any labels, and decodes its output."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, X: Any, y: Any) -> EncodedLabelClassifier:  # noqa: N803
        import numpy as np
        from sklearn.base import clone

        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes)
        return self

    def predict_proba(self, X: Any) -> Any:  # noqa: N803
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> Any:  # noqa: N803
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


BOOSTING = [
    Family("lgbm", False, _defaults("lgbm"), _suggest("lgbm"), _lgbm_build, _installed("lightgbm")),
    Family("xgb", False, _defaults("xgb"), _suggest("xgb"), _xgb_build, _installed("xgboost"),
           uses_device=True),
]
