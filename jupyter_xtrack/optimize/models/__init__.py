"""The model families AutoML searches over, each with its hyperparameter space.

A family knows whether it needs scaled inputs, the params it starts from, how to suggest
params on an Optuna trial (names prefixed by the family, so one study holds a combined
algorithm-and-hyperparameter space) and how to build its estimator. Families whose
library is not installed (torch, LightGBM, XGBoost) are left out, not errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Suggest = Callable[[Any, str, int], dict[str, Any]]


@dataclass(frozen=True)
class Family:
    """One kind of model: how to sample its params and build it."""

    name: str
    scale: bool
    defaults: Callable[[str, int], dict[str, Any]]
    suggest: Suggest
    build: Callable[[dict[str, Any], str, int, str], Any]
    available: Callable[[], bool] = field(default=lambda: True)
    uses_device: bool = False
    max_rows: int | None = None  # beyond this many rows the family is too slow to try


def families(task: str, n_rows: int, include: list[str] | None = None) -> list[Family]:
    """The families to search for `task` on `n_rows` rows, cheapest first."""
    # lazy: each family imports this package (Family) and its library
    from .boosting import BOOSTING
    from .sklearn_models import SKLEARN
    from .torch_family import TORCH

    table = [*SKLEARN, *BOOSTING, *TORCH]
    names = [f.name for f in table]
    if include is not None:
        unknown = sorted(set(include) - set(names))
        if unknown:
            raise ValueError(f"unknown model families {unknown}; known: {', '.join(names)}")
    out = []
    for fam in table:
        if include is not None and fam.name not in include:
            continue
        if fam.max_rows is not None and n_rows > fam.max_rows and include is None:
            continue
        if fam.available():
            out.append(fam)
    return out
