"""The torch MLP family (present only when torch is installed)."""

from __future__ import annotations

from typing import Any

from . import Family
from .torch_mlp import available


def _defaults(task: str, n: int) -> dict[str, Any]:
    return {"mlp.hidden": 128, "mlp.layers": 2, "mlp.dropout": 0.1, "mlp.lr": 1e-3,
            "mlp.weight_decay": 1e-5, "mlp.batch_size": 128}


def _suggest(trial: Any, task: str, n: int) -> dict[str, Any]:
    return {
        "mlp.hidden": trial.suggest_categorical("mlp.hidden", [32, 64, 128, 256]),
        "mlp.layers": trial.suggest_int("mlp.layers", 1, 3),
        "mlp.dropout": trial.suggest_float("mlp.dropout", 0.0, 0.4),
        "mlp.lr": trial.suggest_float("mlp.lr", 1e-4, 1e-2, log=True),
        "mlp.weight_decay": trial.suggest_float("mlp.weight_decay", 1e-7, 1e-2, log=True),
        "mlp.batch_size": trial.suggest_categorical("mlp.batch_size", [64, 128, 256, 512]),
    }


def _build(p: dict[str, Any], task: str, seed: int, device: str) -> Any:
    # lazy: torch
    from .torch_mlp import TorchMLPClassifier, TorchMLPRegressor

    cls = TorchMLPRegressor if task == "regression" else TorchMLPClassifier
    return cls(hidden=p["mlp.hidden"], layers=p["mlp.layers"], dropout=p["mlp.dropout"],
               lr=p["mlp.lr"], weight_decay=p["mlp.weight_decay"], batch_size=p["mlp.batch_size"],
               device=device, random_state=seed)


TORCH = [Family("mlp", True, _defaults, _suggest, _build, available, uses_device=True)]
