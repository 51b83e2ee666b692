"""scikit-learn families: linear/logistic, k-NN, random forest, extra trees, histogram
gradient boosting."""

from __future__ import annotations

from typing import Any

from . import Family


def _clf(task: str) -> bool:
    return task != "regression"


# -- linear ----------------------------------------------------------------------------------
def _linear_defaults(task: str, n: int) -> dict[str, Any]:
    return {"linear.C": 1.0} if _clf(task) else {"linear.alpha": 1.0}


def _linear_suggest(trial: Any, task: str, n: int) -> dict[str, Any]:
    if _clf(task):
        return {"linear.C": trial.suggest_float("linear.C", 1e-3, 1e2, log=True)}
    return {"linear.alpha": trial.suggest_float("linear.alpha", 1e-3, 1e3, log=True)}


def _linear_build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    if _clf(task):
        return LogisticRegression(C=p["linear.C"], max_iter=2000)
    return Ridge(alpha=p["linear.alpha"])


# -- k nearest neighbours ------------------------------------------------------------------------
def _knn_defaults(task: str, n: int) -> dict[str, Any]:
    return {"knn.n_neighbors": 15, "knn.weights": "distance"}


def _knn_suggest(trial: Any, task: str, n: int) -> dict[str, Any]:
    return {
        "knn.n_neighbors": trial.suggest_int("knn.n_neighbors", 1, 64, log=True),
        "knn.weights": trial.suggest_categorical("knn.weights", ["uniform", "distance"]),
    }


def _knn_build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsClassifier if _clf(task) else KNeighborsRegressor
    return cls(n_neighbors=p["knn.n_neighbors"], weights=p["knn.weights"])


# -- forests ----------------------------------------------------------------------------------
def _forest(prefix: str) -> tuple[Any, Any, Any]:
    def defaults(task: str, n: int) -> dict[str, Any]:
        return {f"{prefix}.n_estimators": 200, f"{prefix}.max_features": "sqrt" if _clf(task) else 0.5,
                f"{prefix}.min_samples_leaf": 1}

    def suggest(trial: Any, task: str, n: int) -> dict[str, Any]:
        return {
            f"{prefix}.n_estimators": trial.suggest_int(f"{prefix}.n_estimators", 50, 400, log=True),
            f"{prefix}.max_features": trial.suggest_categorical(
                f"{prefix}.max_features", ["sqrt", 0.3, 0.5, 0.8, 1.0]
            ),
            f"{prefix}.min_samples_leaf": trial.suggest_int(f"{prefix}.min_samples_leaf", 1, 20, log=True),
        }

    def build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
        from sklearn import ensemble

        name = {"rf": "RandomForest", "extra_trees": "ExtraTrees"}[prefix]
        cls = getattr(ensemble, name + ("Classifier" if _clf(task) else "Regressor"))
        return cls(
            n_estimators=p[f"{prefix}.n_estimators"],
            max_features=p[f"{prefix}.max_features"],
            min_samples_leaf=p[f"{prefix}.min_samples_leaf"],
            n_jobs=-1,
            random_state=seed,
        )

    return defaults, suggest, build


# -- histogram gradient boosting ---------------------------------------------------------------------
def _hgb_defaults(task: str, n: int) -> dict[str, Any]:
    return {"hgb.learning_rate": 0.1, "hgb.max_leaf_nodes": 31, "hgb.min_samples_leaf": 20,
            "hgb.l2_regularization": 1e-6}


def _hgb_suggest(trial: Any, task: str, n: int) -> dict[str, Any]:
    return {
        "hgb.learning_rate": trial.suggest_float("hgb.learning_rate", 0.01, 0.3, log=True),
        "hgb.max_leaf_nodes": trial.suggest_int("hgb.max_leaf_nodes", 8, 128, log=True),
        "hgb.min_samples_leaf": trial.suggest_int("hgb.min_samples_leaf", 2, 100, log=True),
        "hgb.l2_regularization": trial.suggest_float("hgb.l2_regularization", 1e-6, 10.0, log=True),
    }


def _hgb_build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    cls = HistGradientBoostingClassifier if _clf(task) else HistGradientBoostingRegressor
    return cls(
        learning_rate=p["hgb.learning_rate"],
        max_leaf_nodes=p["hgb.max_leaf_nodes"],
        min_samples_leaf=p["hgb.min_samples_leaf"],
        l2_regularization=p["hgb.l2_regularization"],
        max_iter=500,
        early_stopping=True,
        n_iter_no_change=15,
        random_state=seed,
    )


_rf = _forest("rf")
_et = _forest("extra_trees")

SKLEARN = [
    Family("linear", True, _linear_defaults, _linear_suggest, _linear_build),
    Family("hgb", False, _hgb_defaults, _hgb_suggest, _hgb_build),
    Family("rf", False, *_rf),
    Family("extra_trees", False, *_et),
    Family("knn", True, _knn_defaults, _knn_suggest, _knn_build, max_rows=50_000),
]
