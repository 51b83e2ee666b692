"""Pruner names (as written on the `%%track --sweep` line) -> Optuna pruners."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .space import SpaceError

if TYPE_CHECKING:
    from optuna.pruners import BasePruner

PRUNERS = ("asha", "hyperband", "median", "none")
_ALIASES = {
    "sha": "asha",
    "successive_halving": "asha",
    "successive-halving": "asha",
    "successivehalving": "asha",
    "": "none",
}


def pruner_name(name: str | None) -> str:
    """The canonical pruner name (None means no pruning)."""
    if name is None:
        return "none"
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in PRUNERS:
        raise SpaceError(f"unknown pruner {name!r}; use one of {', '.join(PRUNERS)}")
    return key


def make_pruner(name: str | None, *, min_resource: int = 1, reduction_factor: int = 3) -> BasePruner:
    """An Optuna pruner: asha (asynchronous successive halving), hyperband, median or none.

    Steps are the `step=` values given to `xt.log`; `min_resource` is the first step at which
    a trial may be stopped.
    """
    import optuna

    key = pruner_name(name)
    if key == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=min_resource, reduction_factor=reduction_factor
        )
    if key == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=min_resource, reduction_factor=reduction_factor)
    if key == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=min_resource)
    return optuna.pruners.NopPruner()
